// onprem route end to end: the shipped default policy (config/route.default.json) in front of
// real onprem servers — two replicas of a generated qwen35moe model standing in for 35B-A3B, a
// generated qwen35 model for 27B, and a third server's /v1/messages standing in for the frontier
// API (with --request-log as its own audit trail) — driven by the official openai and
// @anthropic-ai/sdk clients. Checks every rule, the sovereignty guard against the upstream's log,
// API translation both ways (buffered and streamed), saturation fallback, a replica killed
// mid-run, key limits and budgets, and the ledger across a restart.
// Usage: node router.mjs ONPREM_BINARY WORK_DIR
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import https from "node:https";
import http from "node:http";
import OpenAI from "openai";
import { corpus, labelCases } from "./pii_corpus.mjs";
import { holdConnections } from "./slow_clients.mjs";
import Anthropic from "@anthropic-ai/sdk";

const [onprem, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const here = path.dirname(fileURLToPath(import.meta.url));
const dense = path.join(work, "dense.gguf"), moe = path.join(work, "moe.gguf");
execFileSync(onprem, ["gen-model", "--preset", "tiny", "--type", "Q8_0", "-o", dense], { stdio: "ignore" });
execFileSync(onprem, ["gen-model", "--preset", "tiny-moe", "--type", "Q8_0", "-o", moe], { stdio: "ignore" });

const base = 20000 + Math.floor(Math.random() * 20000);
const port = { m35a: base, m35b: base + 1, m27: base + 2, up: base + 3, router: base + 4, tls: base + 5 };
const upLog = path.join(work, "upstream-requests.jsonl");
const ledgerPath = path.join(work, "ledger.sqlite");
for (const f of [upLog, ledgerPath, ledgerPath + "-wal", ledgerPath + "-shm"]) if (existsSync(f)) rmSync(f);
writeFileSync(path.join(work, "upstream.key"), "frontier-secret\n");

const procs = {};
const logs = {};
function start(name, args) {
  const p = spawn(onprem, args, { stdio: ["ignore", "ignore", "pipe"] });
  logs[name] = "";
  p.stderr.on("data", (d) => (logs[name] += d));
  procs[name] = p;
  return p;
}
async function healthy(p) {
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(`http://127.0.0.1:${p}/health`)).ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${p} never became healthy`);
}
const serve = (name, model, id, extra = []) =>
  start(name, ["serve", "-m", model, "--port", String(port[name]), "--parallel", "2", "--ctx-size", "4096", "--http-threads", "48", "--model-id", id, ...extra]);
serve("m35a", moe, "qwen3.6-35b-a3b");
serve("m35b", moe, "qwen3.6-35b-a3b");
serve("m27", dense, "qwen3.6-27b");
serve("up", dense, "frontier-stand-in", ["--api-key", "frontier-secret", "--request-log", upLog]);

// The frontier API is reached over HTTPS, as the real one is: a TLS front (self-signed CA, given to
// the router as ca_file) relaying to the stand-in server, streams included.
const key = path.join(work, "tls.key"), crt = path.join(work, "tls.crt");
execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt, "-days", "2",
  "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
let tlsRequests = 0;
const tlsFront = https.createServer({ key: readFileSync(key), cert: readFileSync(crt) }, (req, res) => {
  tlsRequests++;
  const up = http.request({ host: "127.0.0.1", port: port.up, path: req.url, method: req.method, headers: req.headers }, (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  up.on("error", () => res.destroy());
  req.pipe(up);
}).listen(port.tls, "127.0.0.1");

// The shipped policy, pointed at these servers. Rules, order and guards are as shipped.
const cfg = JSON.parse(readFileSync(path.join(here, "..", "..", "config", "route.default.json"), "utf8"));
const be = Object.fromEntries(cfg.backends.map((b) => [b.name, b]));
be["local-35b-a3b"].urls = [`http://127.0.0.1:${port.m35a}`, `http://127.0.0.1:${port.m35b}`];
be["local-35b-a3b"].max_concurrency = 2;
be["local-27b"].urls = [`http://127.0.0.1:${port.m27}`];
be["local-27b"].max_concurrency = 16;
Object.assign(be.frontier, { urls: [`https://127.0.0.1:${port.tls}`], ca_file: crt, model: "frontier-stand-in", api_key_file: "upstream.key" });
delete be.frontier.api_key_env;
// An OpenAI-compatible cluster (vLLM-like) for Anthropic-shaped clients: only reachable by name.
cfg.backends.push({ name: "openai-cluster", kind: "openai", urls: [`http://127.0.0.1:${port.m27}`], model: "qwen3.6-27b", max_concurrency: 8 });
cfg.rules.unshift({ name: "pin-openai-cluster", when: { model: ["cluster"] }, target: "openai-cluster" });
Object.assign(cfg, { ledger: "ledger.sqlite", health_interval_s: 0.3, header_timeout_s: 3, retries: 2, backoff_ms: 50, listen: { host: "127.0.0.1", port: port.router } });
cfg.keys = [
  { key: "k-dev", name: "dev", team: "platform" },
  { key: "k-admin", name: "ops", team: "platform", admin: true },
  { key: "k-pay", name: "payments-bot", team: "payments", data_class: "regulated" },
  { key: "k-rpm", name: "limited", team: "platform", requests_per_minute: 2 },
  { key: "k-budget", name: "budgeted", team: "research", budget_usd: 1e-12 },
];
const cfgPath = path.join(work, "route.json");
writeFileSync(cfgPath, JSON.stringify(cfg, null, 1));
const startRouter = () => start("router", ["route", "-c", cfgPath]);
startRouter();
for (const p of Object.values(port)) if (p !== port.tls) await healthy(p);
// The router's own health checks have seen every replica up.
async function routerSeesAllUp() {
  for (let i = 0; i < 100; i++) {
    const st = await fetch(`http://127.0.0.1:${port.router}/v1/route/status`, { headers: { authorization: "Bearer k-admin" } }).then((r) => r.json());
    if (st.replicas.every((r) => r.healthy)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the router never saw every replica healthy");
}
await routerSeesAllUp();

const R = `http://127.0.0.1:${port.router}`;
const oa = (key = "k-dev") => new OpenAI({ baseURL: `${R}/v1`, apiKey: key, maxRetries: 0 });
const an = (key = "k-dev") => new Anthropic({ baseURL: R, apiKey: key, maxRetries: 0 });
const hget = (h, n) => (h?.get ? h.get(n) : h?.[n]) ?? null;
const routed = {};  // backend -> requests the clients saw routed there (checked against the ledger)
const saw = (b) => { if (b) routed[b] = (routed[b] || 0) + 1; };

const results = [];
async function test(name, fn) {
  const t0 = performance.now();
  try { await fn(); results.push(["ok  ", `${name} (${Math.round(performance.now() - t0)} ms)`]); } catch (e) { results.push(["FAIL", `${name}: ${e.stack || e}`]); }
}
async function explain(body, headers = {}, key = "k-dev") {
  const r = await fetch(`${R}/v1/route/explain`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  assert.equal(r.status, 200);
  return r.json();
}
// One chat request through the OpenAI client; returns {backend, rule, data | error}.
async function chat(body, headers = {}, key = "k-dev") {
  try {
    const { data, response } = await oa(key).chat.completions.create(body, { headers }).withResponse();
    const backend = hget(response.headers, "x-onprem-backend");
    saw(backend);
    return { backend, rule: hget(response.headers, "x-onprem-rule"), data };
  } catch (e) {
    const backend = hget(e.headers, "x-onprem-backend");
    saw(backend);
    return { backend, rule: hget(e.headers, "x-onprem-rule"), error: e };
  }
}
const msg = (text) => [{ role: "user", content: text }];
const weather = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];

await test("every rule of the default policy sends its request where the table says", async () => {
  const rows = [
    ["pin-frontier", "frontier", { model: "claude-sonnet", max_tokens: 6, messages: msg("hi") }, {}],
    ["pin-27b", "local-27b", { model: "qwen3.6-27b", max_tokens: 6, messages: msg("hi") }, {}],
    ["pin-35b-a3b", "local-35b-a3b", { model: "qwen3.6-35b-a3b", max_tokens: 6, messages: msg("hi") }, {}],
    ["sovereign-data", "local-27b", { model: "any", max_tokens: 6, messages: msg("hi") }, { "x-onprem-data-class": "confidential" }],
    ["beyond-local-context", "frontier", { model: "any", max_tokens: 300000, messages: msg("hi") }, {}],
    ["sre-incident", "frontier", { model: "any", max_tokens: 6, messages: msg("disk full on db-3") }, { "x-onprem-workload": "sre-incident" }],
    ["customer-facing", "frontier", { model: "any", max_tokens: 6, messages: msg("refund?"), metadata: { workload: "customer-facing" } }, {}],
    ["long-context", "local-27b", { model: "any", max_tokens: 90000, messages: msg("hi") }, {}],
    ["tool-agents", "local-27b", { model: "any", max_tokens: 40, tools: weather, messages: msg("weather?") }, {}],
    ["batch-precise", "local-27b", { model: "any", max_tokens: 6, messages: msg("summarise") }, { "x-onprem-latency": "batch" }],
    ["thinking", "local-27b", { model: "any", max_tokens: 6, messages: msg("why?"), chat_template_kwargs: { enable_thinking: true } }, {}],
    ["interactive-short", "local-35b-a3b", { model: "any", max_tokens: 6, messages: msg("hi") }, {}],
    ["default", "local-27b", { model: "any", max_tokens: 40000, messages: msg("hi") }, {}],
  ];
  const shipped = JSON.parse(readFileSync(path.join(here, "..", "..", "config", "route.default.json"), "utf8")).rules.map((r) => r.name);
  assert.deepEqual(rows.map((r) => r[0]).sort(), [...shipped].sort(), "one row per shipped rule");
  for (const [rule, backend, body, headers] of rows) {
    const e = await explain(body, headers);
    assert.equal(e.rule, rule, `explain: ${rule}`);
    assert.equal(e.backend, backend, `explain: ${rule}`);
    const r = await chat(body, headers);
    assert.equal(r.rule, rule, `routed: ${rule} (${r.error?.message ?? ""})`);
    assert.equal(r.backend, backend, `routed: ${rule}`);
    // Contexts the stand-in servers cannot hold come back as the backend's own 400, routed as the table says.
    if (body.max_tokens < 4000) assert.ok(r.data?.choices?.length === 1, `${rule}: ${r.error}`);
  }
  // The dry-run header on the real route answers like explain and forwards nothing.
  const dry = await fetch(`${R}/v1/chat/completions`, { method: "POST", headers: { authorization: "Bearer k-dev", "x-onprem-dry-run": "1" },
    body: JSON.stringify({ model: "claude-sonnet", messages: msg("dry") }) }).then((r) => r.json());
  assert.equal(dry.backend, "frontier");
  // Context past 80K on a 35B-A3B route goes to the 27B.
  const big = await explain({ model: "qwen3.6-35b-a3b", max_tokens: 85000, messages: msg("hi") });
  assert.equal(big.rule, "pin-35b-a3b");
  assert.equal(big.backend, "local-27b");
});

await test("confidential data never reaches the off-premises upstream", async () => {
  const marker = () => `mk-${Math.random().toString(36).slice(2)}`;
  // Control: a public request to the frontier rule does reach it (so the log can prove a negative).
  const pub = marker();
  const c = await chat({ model: "claude-sonnet", max_tokens: 4, messages: msg(`ping ${pub}`) });
  assert.equal(c.backend, "frontier");
  const secret = [marker(), marker(), marker(), marker()];
  const a = await chat({ model: "claude-sonnet", max_tokens: 4, messages: msg(`plan ${secret[0]}`) }, { "x-onprem-data-class": "confidential" });
  const b = await chat({ model: "claude-sonnet", max_tokens: 4, messages: msg(`card 4111 1111 1111 1111 ${secret[1]}`) });
  const k = await chat({ model: "claude-sonnet", max_tokens: 4, messages: msg(`ledger ${secret[2]}`) }, { "x-onprem-workload": "sre-incident" }, "k-pay");
  const m = await an().messages.create({ model: "claude-sonnet", max_tokens: 4, messages: msg(`call 010-1234-5678 ${secret[3]}`) }).withResponse();
  saw(hget(m.response.headers, "x-onprem-backend"));
  for (const r of [a, b, k]) assert.equal(r.backend, "local-27b");
  assert.equal(hget(m.response.headers, "x-onprem-backend"), "local-27b");
  const log = readFileSync(upLog, "utf8");
  assert.ok(log.includes(pub), "the control request is in the upstream's log");
  assert.ok(tlsRequests > 0, "the frontier was reached over HTTPS");
  for (const s of secret) assert.ok(!log.includes(s), `confidential request ${s} reached the upstream`);
  assert.ok(!log.includes("4111 1111"), "a card number reached the upstream");
});

await test("translation: OpenAI client to the Anthropic upstream, buffered and streamed, with tools", async () => {
  const r = await chat({ model: "claude-sonnet", max_tokens: 200, tools: weather, tool_choice: "required", messages: msg("weather in Seoul?") });
  assert.equal(r.backend, "frontier");
  const call = r.data.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, "get_weather");
  assert.equal(typeof JSON.parse(call.function.arguments).city, "string");
  assert.equal(r.data.choices[0].finish_reason, "tool_calls");
  const { data: stream, response } = await oa().chat.completions.create({ model: "claude-sonnet", max_tokens: 24, stream: true,
    stream_options: { include_usage: true }, messages: msg("tell me a story") }).withResponse();
  saw(hget(response.headers, "x-onprem-backend"));
  let text = "", chunks = 0, usage = null, finish = null;
  for await (const c of stream) {
    chunks++;
    if (c.usage) usage = c.usage;
    if (c.choices[0]?.delta?.content) text += c.choices[0].delta.content;
    if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
  }
  assert.ok(chunks > 3 && text.length > 0);
  assert.equal(finish, "length");
  assert.equal(usage.completion_tokens, 24);
});

await test("translation: a Responses client to the Anthropic upstream (buffered, streamed, a function call), and its personal data stays", async () => {
  const pub = `mk-${Math.random().toString(36).slice(2)}`, secret = `mk-${Math.random().toString(36).slice(2)}`;
  const { data: r, response } = await oa().responses.create({ model: "claude-sonnet", max_output_tokens: 6, input: `ping ${pub}` }).withResponse();
  saw(hget(response.headers, "x-onprem-backend"));
  assert.equal(hget(response.headers, "x-onprem-backend"), "frontier");
  assert.equal(r.object, "response");
  assert.ok(r.usage.output_tokens > 0 && r.usage.output_tokens <= 6);
  const tools = [{ type: "function", name: "get_weather", description: "Weather", parameters: weather[0].function.parameters }];
  const { data: c, response: cr } = await oa().responses.create({ model: "claude-sonnet", max_output_tokens: 200, tools, tool_choice: "required",
    input: "weather in Seoul?" }).withResponse();
  saw(hget(cr.headers, "x-onprem-backend"));
  const fc = c.output.find((i) => i.type === "function_call");
  assert.equal(fc.name, "get_weather");
  assert.equal(typeof JSON.parse(fc.arguments).city, "string");
  const { data: stream, response: sr } = await oa().responses.create({ model: "claude-sonnet", max_output_tokens: 12, stream: true,
    input: [{ role: "developer", content: "Be brief." }, { role: "user", content: [{ type: "input_text", text: "tell me a story" }] }] }).withResponse();
  saw(hget(sr.headers, "x-onprem-backend"));
  const types = [];
  for await (const e of stream) types.push(e.type);
  assert.equal(types[0], "response.created");
  assert.ok(types.includes("response.output_text.delta") || types.includes("response.reasoning_summary_text.delta"), types.join(" "));
  assert.ok(["response.completed", "response.incomplete"].includes(types.at(-1)));
  // Personal data in a Responses input item is classified like any other: kept on premises.
  const { response: kept } = await oa().responses.create({ model: "claude-sonnet", max_output_tokens: 4,
    input: [{ role: "user", content: [{ type: "input_text", text: `mail jisoo.kim@example.com about ${secret}` }] }] }).withResponse();
  saw(hget(kept.headers, "x-onprem-backend"));
  assert.equal(hget(kept.headers, "x-onprem-backend"), "local-27b");
  const log = readFileSync(upLog, "utf8");
  assert.ok(log.includes(pub), "the control reached the upstream");
  assert.ok(!log.includes(secret) && !log.includes("jisoo.kim@example.com"), "personal data reached the upstream");
});

await test("translation: Anthropic client to an OpenAI-compatible backend, buffered and streamed", async () => {
  const { data: m, response } = await an().messages.create({ model: "cluster", max_tokens: 200, tools: [{ name: "get_weather",
    input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }], tool_choice: { type: "any" },
    messages: msg("weather?") }).withResponse();
  saw(hget(response.headers, "x-onprem-backend"));
  assert.equal(hget(response.headers, "x-onprem-backend"), "openai-cluster");
  assert.equal(m.stop_reason, "tool_use");
  assert.equal(typeof m.content.find((b) => b.type === "tool_use").input.city, "string");
  const s = an().messages.stream({ model: "cluster", max_tokens: 12, messages: msg("hello") });
  const kinds = [];
  s.on("streamEvent", (e) => kinds.push(e.type));
  const final = await s.finalMessage();
  routed["openai-cluster"]++;
  assert.equal(kinds[0], "message_start");
  assert.equal(kinds.at(-1), "message_stop");
  assert.equal(final.usage.output_tokens, 12);
  assert.equal(final.stop_reason, "max_tokens");
});

await test("streams pass through as they are produced", async () => {
  const t0 = performance.now();
  const { data: stream, response } = await oa().chat.completions.create({ model: "qwen3.6-27b", max_tokens: 1500, stream: true,
    ignore_eos: true, messages: msg("count") }).withResponse();
  saw(hget(response.headers, "x-onprem-backend"));
  const times = [];
  for await (const c of stream) if (c.choices[0]?.delta) times.push(performance.now() - t0);
  // The first pieces reach the client while the backend is still generating, not after it.
  assert.ok(times.length >= 500, `${times.length} chunks`);
  console.log(`  stream: first chunk ${times[0].toFixed(1)} ms, last ${times.at(-1).toFixed(1)} ms, ${times.length} chunks`);
  assert.ok(times[0] < 0.25 * times.at(-1), `first chunk at ${times[0].toFixed(1)} ms of ${times.at(-1).toFixed(1)} ms`);
  const mid = times[Math.floor(times.length / 2)];
  assert.ok(mid < 0.9 * times.at(-1), `half the chunks only at ${mid.toFixed(1)} of ${times.at(-1).toFixed(1)} ms`);
  // Anthropic client, pass-through to an onprem server.
  const s = an().messages.stream({ model: "qwen3.6-35b-a3b", max_tokens: 8, messages: msg("hi") });
  const f = await s.finalMessage();
  routed["local-35b-a3b"]++;
  assert.equal(f.usage.output_tokens, 8);
});

await test("a saturated 35B-A3B falls back to the 27B", async () => {
  const reqs = Array.from({ length: 8 }, (_, i) => chat({ model: "any", max_tokens: 40, ignore_eos: true, messages: msg(`q${i}`) }));
  const out = await Promise.all(reqs);
  for (const r of out) assert.ok(r.data, String(r.error));
  const where = out.map((r) => r.backend);
  assert.ok(where.includes("local-35b-a3b") && where.includes("local-27b"), where.join(","));
  for (const r of out) assert.equal(r.rule, "interactive-short");
});

await test("stopping a replica mid-run loses no request that had not started streaming", async () => {
  const n = 24;
  const jobs = Array.from({ length: n }, async (_, i) => {
    const body = { model: "qwen3.6-35b-a3b", max_tokens: 200, ignore_eos: true, messages: msg(`job ${i}`) };
    if (i % 2) {
      const r = await chat(body);
      return { stream: false, ok: !!r.data, started: false, err: r.error };
    }
    let started = false;
    try {
      const { data: stream, response } = await oa().chat.completions.create({ ...body, stream: true }).withResponse();
      saw(hget(response.headers, "x-onprem-backend"));
      let got = 0;
      for await (const c of stream) { started = true; if (c.choices[0]?.delta) got++; }
      return { stream: true, ok: got > 0, started };
    } catch (e) {
      return { stream: true, ok: false, started, err: e };
    }
  });
  await new Promise((r) => setTimeout(r, 100));
  procs.m35a.kill("SIGKILL");
  const out = await Promise.all(jobs);
  const lost = out.filter((r) => !r.ok && !r.started);
  assert.equal(lost.length, 0, `lost before streaming: ${lost.map((r) => r.err).join(" | ")}`);
  const cut = out.filter((r) => !r.ok && r.started).length;
  console.log(`  replica killed: ${out.filter((r) => r.ok).length}/${n} completed, ${cut} cut mid-stream`);
  // The router stops sending to the dead replica (health checks and the breaker).
  const st = await fetch(`${R}/v1/route/status`, { headers: { authorization: "Bearer k-admin" } }).then((r) => r.json());
  const dead = st.replicas.find((r) => r.url.endsWith(String(port.m35a)));
  assert.ok(!dead.healthy || dead.breaker !== "closed", JSON.stringify(dead));
  // The kill hit work in flight (the router saw it fail and moved it), so the check above means something.
  console.log(`  dead replica: ${JSON.stringify(dead)}`);
  assert.ok(dead.failures >= 1 || cut >= 1, "the replica was killed while idle; the test proved nothing");
});

await test("keys: authentication, requests per minute (429 + retry-after), budgets", async () => {
  const bad = await chat({ model: "any", max_tokens: 2, messages: msg("x") }, {}, "nope");
  assert.equal(bad.error?.status, 401);
  const codes = [];
  let retryAfter = null;
  for (let i = 0; i < 3; i++) {
    const r = await chat({ model: "any", max_tokens: 2, messages: msg("x") }, {}, "k-rpm");
    codes.push(r.error ? r.error.status : 200);
    if (r.error) retryAfter = hget(r.error.headers, "retry-after");
  }
  assert.deepEqual(codes, [200, 200, 429]);
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `retry-after ${retryAfter}`);
  const first = await chat({ model: "any", max_tokens: 2, messages: msg("x") }, {}, "k-budget");
  assert.ok(first.data);
  const second = await chat({ model: "any", max_tokens: 2, messages: msg("x") }, {}, "k-budget");
  assert.equal(second.error?.status, 429);
  assert.match(second.error.message, /budget/);
});

await test("malformed requests get a 4xx with a reason, never a 5xx, and nothing goes down", async () => {
  // Random mutations of two valid bodies (every field replaced by values of other types, deleted,
  // or the body cut short), sent to every route, in both API shapes.
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
  const weird = [null, 0, -1, 1e308, "", "x", [], {}, [1], { a: 1 }, true, "\u0000", 2 ** 63];
  const mutate = (v) => {
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length && rnd() < 0.7) {
      const o = { ...v }, k = pick(Object.keys(o));
      if (rnd() < 0.2) delete o[k]; else o[k] = mutate(o[k]);
      return o;
    }
    if (Array.isArray(v) && v.length && rnd() < 0.7) { const a = [...v]; const j = Math.floor(rnd() * a.length); a[j] = mutate(a[j]); return a; }
    return pick(weird);
  };
  const oaBody = { model: "claude-sonnet", max_tokens: 4, stream_options: { include_usage: true }, tools: weather, tool_choice: "auto",
    chat_template_kwargs: { enable_thinking: true }, metadata: { data_class: "public", workload: "x" },
    messages: [{ role: "system", content: "s" }, { role: "user", content: [{ type: "text", text: "hi" }] },
      { role: "assistant", content: "", tool_calls: [{ id: "1", type: "function", function: { name: "get_weather", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "1", content: "r" }] };
  const anBody = { model: "cluster", max_tokens: 4, system: [{ type: "text", text: "s" }], thinking: { type: "enabled", budget_tokens: 2 },
    tools: [{ name: "f", input_schema: { type: "object" } }], tool_choice: { type: "auto" }, metadata: { user_id: "u" },
    messages: [{ role: "user", content: "hi" }, { role: "assistant", content: [{ type: "tool_use", id: "1", name: "f", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "1", content: [{ type: "text", text: "r" }] }] }] };
  const codes = {};
  for (let i = 0; i < 300; i++) {
    const anthropic = rnd() < 0.5;
    const body = mutate(anthropic ? anBody : oaBody);
    if (body && typeof body === "object" && rnd() < 0.3) body.stream = true;
    const route = anthropic ? pick(["/v1/messages", "/v1/messages/count_tokens"]) : pick(["/v1/chat/completions", "/v1/completions", "/v1/route/explain"]);
    const text = rnd() < 0.05 ? '{"messages": [' : JSON.stringify(body);
    const r = await fetch(`${R}${route}`, { method: "POST", headers: { authorization: "Bearer k-dev", "content-type": "application/json" }, body: text });
    const payload = await r.text();
    codes[r.status] = (codes[r.status] || 0) + 1;
    assert.ok(r.status < 500, `${r.status} on ${route}: ${text.slice(0, 300)} -> ${payload.slice(0, 300)}`);
    if (r.status >= 400) assert.match(payload, /"message":"[^"]+/, "an error names its reason");
    if (route !== "/v1/route/explain" && route !== "/v1/messages/count_tokens") saw(r.headers.get("x-onprem-backend"));
  }
  console.log(`  malformed requests: ${JSON.stringify(codes)}`);
  const st = await fetch(`${R}/v1/route/status`, { headers: { authorization: "Bearer k-admin" } }).then((r) => r.json());
  for (const r of st.replicas) if (!r.url.endsWith(String(port.m35a))) assert.equal(r.breaker, "closed", JSON.stringify(r));
});

await test("hostile JSON: deep nesting and key floods are 400s, and the router lives", async () => {
  const post = (body) => fetch(`${R}/v1/chat/completions`, { method: "POST", headers: { authorization: "Bearer k-dev",
    "content-type": "application/json" }, body });
  const deep = "[".repeat(100000) + "]".repeat(100000);
  const keys = "{" + Array.from({ length: 200000 }, (_, i) => `"k${i}":1`).join(",") + "}";
  for (const [what, body] of [["deep tools", `{"model":"any","messages":[{"role":"user","content":"x"}],"tools":${deep}}`],
                              ["deep metadata", `{"model":"any","messages":[{"role":"user","content":"x"}],"metadata":{"a":${deep}}}`],
                              ["200,000 keys", `{"model":"any","messages":[{"role":"user","content":"x"}],"metadata":${keys}}`]]) {
    const r = await post(body);
    assert.equal(r.status, 400, what);
    assert.ok(/nests deeper|more than/.test((await r.json()).error.message), what);
  }
  // JSON nested deep inside a string (tool arguments) is uninspectable: it may not leave.
  const inner = JSON.stringify({ model: "claude-sonnet", max_tokens: 2, messages: [{ role: "user", content: "x" },
    { role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "[".repeat(70) + "]".repeat(70) } }] },
    { role: "tool", tool_call_id: "c", content: "r" }] });
  const r = await post(inner);
  assert.notEqual(r.headers.get("x-onprem-backend"), "frontier");
  saw(r.headers.get("x-onprem-backend"));
  await r.arrayBuffer();
  assert.equal((await fetch(`${R}/health`)).status, 200);
});

await test("slow and idle clients do not starve the router's /health or requests", async () => {
  const release = await holdConnections(port.router, { auth: "Bearer k-dev" });
  const t0 = performance.now();
  assert.equal((await fetch(`${R}/health`, { signal: AbortSignal.timeout(10000) })).status, 200);
  const healthMs = performance.now() - t0;
  const r = await chat({ model: "any", max_tokens: 2, messages: msg("hi") });
  assert.ok(r.data?.choices?.length === 1, String(r.error));
  for (let i = 0; i < 60 && release.cut() < 8; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(release.cut(), 8, "slow senders cut by header_timeout_s (3 s)");
  release();
  console.log(`  router /health under 8 slow + 64 idle connections: ${healthMs.toFixed(1)} ms`);
});

await test("adversarial corpus: personal data in any field or encoding never reaches the off-premises upstream", async () => {
  const { attacks, controls } = corpus();
  assert.ok(attacks.length >= 200, `${attacks.length} attacks`);
  const send = async (c, extra = {}) => {
    const body = { model: "claude-sonnet", max_tokens: 4, ...c.body, ...(extra.body || {}) };
    const r = await fetch(`${R}${c.path}`, { method: "POST", headers: { authorization: "Bearer k-dev", "content-type": "application/json",
      ...(extra.headers || {}) }, body: JSON.stringify(body) });
    saw(r.headers.get("x-onprem-backend"));
    await r.arrayBuffer();
    return { status: r.status, backend: r.headers.get("x-onprem-backend") };
  };
  const outcomes = {};
  for (const a of attacks) {
    const r = await send(a);
    assert.notEqual(r.backend, "frontier", `${a.name} was routed to the frontier`);
    outcomes[r.status] = (outcomes[r.status] || 0) + 1;
  }
  // Controls: the same fields without personal data; each also says "control <marker>" in the
  // conversation, which every API shape forwards.
  const reached = [], dropped = [];
  for (const c of controls) {
    if (c.path === "/v1/completions") continue;  // an Anthropic upstream has no /v1/completions
    const withMarker = structuredClone(c);
    withMarker.body.messages = [...(withMarker.body.messages || []), { role: "user", content: `control ${c.marker}-req` }];
    const r = await send(withMarker);
    assert.equal(r.backend, "frontier", `control ${c.name} should go to the frontier (${r.status})`);
  }
  // Label spellings fail closed: a class is raised, or the request refused; never public.
  for (const l of labelCases) {
    const r = await send({ path: "/v1/chat/completions", body: { messages: msg(`label ${l.name}`), ...(l.metadata ? { metadata: l.metadata } : {}) } },
      { headers: l.headers || {} });
    if (l.expect === 400) assert.equal(r.status, 400, l.name);
    else assert.ok(r.backend && r.backend !== "frontier", `${l.name}: ${r.status} ${r.backend}`);
  }
  // Top-level fields outside the allow-list of the upstream's API shape are dropped, not sent.
  const ext = `zqext${Math.random().toString(36).slice(2, 8)}`;
  // (Anthropic client to the Anthropic upstream: passed through, so only the allow-list drops it.)
  const er = await send({ path: "/v1/messages", body: { messages: msg(`extension ${ext}-req`), x_vendor_extension: { note: ext } } });
  assert.equal(er.backend, "frontier");
  const log = readFileSync(upLog, "utf8");
  assert.ok(log.includes(`${ext}-req`) && !new RegExp(`${ext}(?!-req)`).test(log), "an unknown top-level field is not forwarded");
  const leaked = attacks.filter((a) => log.includes(a.marker)).map((a) => a.name);
  assert.deepEqual(leaked, [], "attacks whose marker reached the upstream");
  for (const c of controls) {
    if (c.path === "/v1/completions") continue;
    assert.ok(log.includes(`${c.marker}-req`), `control request ${c.name} is in the upstream's log`);
    (new RegExp(`${c.marker}(?!-req)`).test(log) ? reached : dropped).push(c.name);
  }
  for (const v of ["jisoo.kim@example.com", "4111 1111 1111 1111", "010-2903-4529", "900101-1234567"])
    assert.ok(!log.includes(v), `${v} reached the upstream`);
  console.log(`  corpus: ${attacks.length} attacks, none in the upstream log (statuses ${JSON.stringify(outcomes)}); ` +
              `${reached.length} control fields forwarded, not forwarded by translation: ${dropped.join(", ") || "none"}`);
});

await test("the ledger matches what the clients saw and survives a restart", async () => {
  const get = () => fetch(`${R}/v1/ledger`, { headers: { authorization: "Bearer k-admin" } }).then((r) => r.json());
  // A key that is not an admin sees its own rows only, and no backend's address.
  const mine = await fetch(`${R}/v1/ledger`, { headers: { authorization: "Bearer k-dev" } }).then((r) => r.json());
  assert.deepEqual(mine.by_key.map((r) => r.key), ["dev"]);
  const st = await fetch(`${R}/v1/route/status`, { headers: { authorization: "Bearer k-dev" } }).then((r) => r.json());
  assert.ok(st.replicas.length > 0 && st.replicas.every((r) => !("url" in r)), "status shows no URL to a non-admin key");
  const ex = await explain({ model: "any", messages: msg("hi") });
  assert.ok(ex.replicas.every((r) => !("url" in r)), "explain shows no URL to a non-admin key");
  const before = await get();
  const byBackend = Object.fromEntries(before.by_backend.map((r) => [r.backend, r.requests]));
  for (const [b, n] of Object.entries(routed)) assert.equal(byBackend[b], n, `ledger rows for ${b}`);
  assert.ok(before.total.tokens_in > 0 && before.total.tokens_out > 0);
  assert.ok(before.total.savings_usd > 0, "local work costs less than the API would have");
  const teams = before.by_team.map((r) => r.team);
  for (const t of ["platform", "payments", "research"]) assert.ok(teams.includes(t), t);
  const frontier = before.by_backend.find((r) => r.backend === "frontier");
  assert.ok(Math.abs(frontier.cost_usd - frontier.api_cost_usd) < 1e-9, "the frontier costs exactly its API price");
  procs.router.kill("SIGTERM");
  await new Promise((r) => procs.router.on("exit", r));
  startRouter();
  await healthy(port.router);
  const after = await get();
  assert.deepEqual(after.total, before.total);
  assert.deepEqual(after.by_backend, before.by_backend);
});

for (const p of Object.values(procs)) p.kill("SIGTERM");
tlsFront.close();
for (const [s, n] of results) console.log(s, n);
const failed = results.filter(([s]) => s === "FAIL").length;
if (failed) console.log(logs.router.slice(-3000));
process.exit(failed ? 1 : 0);
