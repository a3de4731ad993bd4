// A normal client's latency while the server is attacked, against the same client on an idle
// server, in one run, and the server's memory before and after. The attacks: 100,000-deep
// nesting, 200,000-key objects, deep tool-call arguments, schemas asking for 10^9 items or
// characters or 100,000 enum values, wrong types, 8 one-byte-a-second clients and 64 idle
// keep-alive connections, and bad API keys. Reports p50 / p99 (ms) of the normal client and RSS.
// Usage (from tests/): node ../bench/hostile_suite.mjs ONPREM WORK_DIR [REQUESTS] [serve|route]
// With "route", everything goes through `onprem route` in front of the server, and the router's
// memory is measured.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, rmSync, existsSync } from "node:fs";
import path from "node:path";
import { holdConnections } from "../tests/e2e/slow_clients.mjs";

// The attacker runs in a process of its own (this file with --attack PORT SECONDS), so that the time
// it spends building multi-MB bodies is not counted in the measured client's latency.
if (process.argv[2] === "--attack") {
  (await import("node:os")).setPriority(19);
  const [port, seconds] = [Number(process.argv[3]), Number(process.argv[4])];
  await attack(port, seconds);
  process.exit(0);
}

const [onprem, work, nArg = "60", target = "serve"] = process.argv.slice(2);
const N = Number(nArg);
mkdirSync(work, { recursive: true });
const model = path.join(work, "hostile.gguf");
if (!existsSync(model)) execFileSync(onprem, ["gen-model", "--preset", "tiny-moe", "--type", "Q8_0", "-o", model], { stdio: "ignore" });
const servePort = 20000 + Math.floor(Math.random() * 20000);
const server = spawn(onprem, ["serve", "-m", model, "--port", String(servePort), "--parallel", "2",
                              ...(target === "route" ? [] : ["--api-key", "secret"])], { stdio: "ignore" });
let srv = server, port = servePort;
if (target === "route") {
  port = servePort + 1;
  const ledger = path.join(work, "hostile-ledger.sqlite");
  for (const f of [ledger, ledger + "-wal", ledger + "-shm"]) if (existsSync(f)) rmSync(f);
  writeFileSync(path.join(work, "hostile-route.json"), JSON.stringify({
    listen: { host: "127.0.0.1", port }, ledger, keys: [{ key: "secret", name: "normal" }],
    backends: [{ name: "local", kind: "onprem", urls: [`http://127.0.0.1:${servePort}`], model: "onprem", usd_per_hour: 1 }],
    rules: [{ name: "all", target: "local" }] }));
  srv = spawn(onprem, ["route", "-c", path.join(work, "hostile-route.json")], { stdio: "ignore" });
}
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 200; i++) { try { if ((await fetch(`${base}/health`)).ok) break; } catch {} await new Promise((r) => setTimeout(r, 100)); }
for (let i = 0; i < 200 && target === "route"; i++) {  // the router's own health checks have seen the server up
  const st = await fetch(`${base}/v1/route/status`, { headers: { authorization: "Bearer secret" } }).then((r) => r.json());
  if (st.replicas?.every((r) => r.healthy)) break;
  await new Promise((r) => setTimeout(r, 50));
}
// VmRSS, and its anonymous part (heap and stacks; the rest is the binary's and the model's pages).
const status = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${srv.pid}/status`, "utf8"))[1]) / 1024;
const rss = () => ({ all: status("VmRSS"), anon: status("RssAnon") });
const post = (body, key = "secret") => fetch(`${base}/v1/chat/completions`, { method: "POST",
  headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body }).then((r) => r.arrayBuffer().then(() => r.status));
const normal = JSON.stringify({ messages: [{ role: "user", content: "hello" }], max_tokens: 4 });

async function latencies(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    if ((await post(normal)) !== 200) throw new Error("the normal client failed");
    out.push(performance.now() - t0);
  }
  out.sort((a, b) => a - b);
  return { p50: out[Math.floor(n * 0.5)], p99: out[Math.min(n - 1, Math.floor(n * 0.99))] };
}

async function attack(port, seconds) {
  const base = `http://127.0.0.1:${port}`;
  const post = (body, key = "secret") => fetch(`${base}/v1/chat/completions`, { method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body }).then((r) => r.arrayBuffer().then(() => r.status));
  const deep = "[".repeat(100000) + "]".repeat(100000);
  const keys = "{" + Array.from({ length: 200000 }, (_, i) => `"k${i}":1`).join(",") + "}";
  const rf = (schema) => JSON.stringify({ messages: [{ role: "user", content: "x" }], max_tokens: 2,
    response_format: { type: "json_schema", json_schema: { name: "r", schema } } });
  const attacks = [
    `{"messages":${deep}}`, `{"messages":[{"role":"user","content":"x"}],"metadata":${keys}}`,
    JSON.stringify({ messages: [{ role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: deep } }] }] }),
    rf({ type: "string", minLength: 1e9 }), rf({ type: "array", items: { type: "string" }, minItems: 1e9 }),
    rf({ type: "string", enum: Array.from({ length: 100000 }, (_, i) => `v${i}`) }),
    JSON.stringify({ model: 1, stream: "yes", n: 8589934593, messages: [] }),
  ];
  const release = await holdConnections(port);
  let sent = 0;
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    for (const a of attacks) { await post(a); sent++; }
    await post(JSON.stringify({ messages: [{ role: "user", content: "x" }] }), "wrong-key"); sent++;
  }
  release();
  console.log(sent);
}

await latencies(5);  // warm up
const idle = await latencies(N);
const rssBefore = rss();  // after the idle run: the engine's caches hold normal traffic's state
let sent = 0;
// Two rounds: memory that the first round leaves (allocator arenas of the worker threads) should
// not grow again in the second. Each round attacks for as long as the client takes at idle x 20.
const { fileURLToPath } = await import("node:url");
async function round(seconds) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--attack", String(port), String(seconds)],
                      { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  await new Promise((r) => setTimeout(r, 2500));  // the slow and idle connections are in place
  const lat = await latencies(N);
  await new Promise((r) => child.on("exit", r));
  sent += Number(out.trim() || 0);
  await new Promise((r) => setTimeout(r, 500));
  return lat;
}
const roundSeconds = Math.max(10, Math.ceil((idle.p50 * N) / 1000) * 20);
const attacked = await round(roundSeconds);
const rssAfter = rss();
await round(roundSeconds);
const rssAfter2 = rss();
await new Promise((r) => setTimeout(r, 6500));  // the spare HTTP workers end after 5 s idle
const rssSettled = rss();
srv.kill("SIGTERM");
server.kill("SIGTERM");
console.log(`${target}: normal client, ${N} requests: idle p50 ${idle.p50.toFixed(1)} ms p99 ${idle.p99.toFixed(1)} ms; ` +
            `under attack (${sent} hostile requests, 8 slow + 64 idle connections) p50 ${attacked.p50.toFixed(1)} ms p99 ${attacked.p99.toFixed(1)} ms; ` +
            `p99 ratio ${(attacked.p99 / idle.p99).toFixed(2)}x`);
const mib = (r) => `${r.all.toFixed(1)} MiB (anonymous ${r.anon.toFixed(1)})`;
console.log(`server RSS: ${mib(rssBefore)} before, ${mib(rssAfter)} after one round, ${mib(rssAfter2)} after two, ` +
            `${mib(rssSettled)} once the spare workers ended; growth ${((rssSettled.all / rssBefore.all - 1) * 100).toFixed(1)} %`);
