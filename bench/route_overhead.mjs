// The router's own overhead: the same requests sent straight to an onprem server and through
// `onprem route` in front of it, in one run. Reports added latency (p50, p99) for buffered
// requests and for the first byte of streamed ones, and requests per second at a concurrency.
// Usage (from tests/, where the npm packages are): node ../bench/route_overhead.mjs ONPREM WORK_DIR [N] [CONCURRENCY] [SECONDS]
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync, rmSync, existsSync } from "node:fs";
import path from "node:path";

const [onprem, work, nArg = "300", concArg = "16", secArg = "5"] = process.argv.slice(2);
const N = Number(nArg), C = Number(concArg), S = Number(secArg);
mkdirSync(work, { recursive: true });
const model = path.join(work, "bench.gguf");
if (!existsSync(model)) execFileSync(onprem, ["gen-model", "--preset", "tiny", "--type", "Q8_0", "-o", model], { stdio: "ignore" });
const base = 20000 + Math.floor(Math.random() * 20000);
const procs = [];
const start = (args) => { const p = spawn(onprem, args, { stdio: "ignore" }); procs.push(p); return p; };
start(["serve", "-m", model, "--port", String(base), "--parallel", String(C), "--http-threads", String(2 * C + 8), "--max-queue", "1024"]);
const ledger = path.join(work, "bench-ledger.sqlite");
for (const f of [ledger, ledger + "-wal", ledger + "-shm"]) if (existsSync(f)) rmSync(f);
writeFileSync(path.join(work, "bench-route.json"), JSON.stringify({
  listen: { host: "127.0.0.1", port: base + 1 }, ledger,
  backends: [{ name: "local", kind: "onprem", urls: [`http://127.0.0.1:${base}`], model: "onprem", max_concurrency: 4 * C, usd_per_hour: 1 }],
  rules: [{ name: "all", target: "local" }],
}));
start(["route", "-c", path.join(work, "bench-route.json")]);
for (const port of [base, base + 1])
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break; } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }

for (let i = 0; i < 200; i++) {  // the router's own health checks have seen the server up
  const st = await fetch(`http://127.0.0.1:${base + 1}/v1/route/status`).then((r) => r.json());
  if (st.replicas.every((r) => r.healthy)) break;
  await new Promise((r) => setTimeout(r, 50));
}
const body = (stream) => JSON.stringify({ model: "onprem", max_tokens: 1, stream, messages: [{ role: "user", content: "hi" }] });
async function once(port, stream, dry = false) {
  const t0 = performance.now();
  const headers = { "content-type": "application/json", ...(dry ? { "x-onprem-dry-run": "1" } : {}) };
  const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: "POST", headers, body: body(stream) });
  if (!r.ok) throw new Error(`HTTP ${r.status}`);
  if (!stream) { await r.text(); return performance.now() - t0; }
  const reader = r.body.getReader();
  await reader.read();
  const first = performance.now() - t0;
  while (!(await reader.read()).done) {}
  return first;
}
const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
async function latencies(port, stream) {
  for (let i = 0; i < 20; i++) await once(port, stream);  // warm up
  const xs = [];
  for (let i = 0; i < N; i++) xs.push(await once(port, stream));
  return xs;
}
async function rps(port, dry = false) {
  let done = 0;
  const end = performance.now() + S * 1000;
  await Promise.all(Array.from({ length: C }, async () => { while (performance.now() < end) { await once(port, false, dry); done++; } }));
  return done / S;
}
const out = {};
for (const stream of [false, true]) {
  // Interleave direct and routed runs so machine noise hits both alike.
  const d1 = await latencies(base, stream), r1 = await latencies(base + 1, stream);
  const d2 = await latencies(base, stream), r2 = await latencies(base + 1, stream);
  const d = [...d1, ...d2], r = [...r1, ...r2];
  out[stream ? "stream_first_byte_ms" : "buffered_ms"] = {
    direct_p50: q(d, 0.5), routed_p50: q(r, 0.5), added_p50: q(r, 0.5) - q(d, 0.5),
    direct_p99: q(d, 0.99), routed_p99: q(r, 0.99), added_p99: q(r, 0.99) - q(d, 0.99),
  };
}
const directRps = await rps(base), routedRps = await rps(base + 1);
// The router alone (classify, decide, answer; nothing forwarded): its own ceiling on this machine.
const policyRps = await rps(base + 1, true);
out.requests_per_second = { concurrency: C, direct: directRps, routed: routedRps, ratio: routedRps / directRps, router_policy_only: policyRps };
for (const p of procs) p.kill("SIGTERM");
console.log(JSON.stringify(out, (k, v) => (typeof v === "number" ? Math.round(v * 1000) / 1000 : v), 1));
