// Load: N concurrent streaming clients (default 64), several requests each, through the official
// openai client. Every request must complete with exactly max_tokens tokens (ignore_eos), no
// errors, and the server must end with no busy slot and an empty queue. Prints throughput against
// a single client. Usage: node server_load.mjs ONPREM_BINARY WORK_DIR [CLIENTS] [REQUESTS_EACH] [MODEL]
// (MODEL: a GGUF to serve instead of the generated tiny-moe, e.g. one with the real 151K vocabulary).
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import OpenAI from "openai";

const [onprem, work, nClients = "64", nEach = "3", modelArg] = process.argv.slice(2);
const CLIENTS = Number(nClients), EACH = Number(nEach), TOKENS = 16;
mkdirSync(work, { recursive: true });
const model = modelArg ?? path.join(work, "load-model.gguf");
if (!modelArg)
  execFileSync(onprem, ["gen-model", "--preset", "tiny-moe", "--type", "Q8_0", "-o", model], { stdio: "ignore" });
const port = 20000 + Math.floor(Math.random() * 20000);
const server = spawn(onprem, ["serve", "-m", model, "--port", String(port), "--parallel", "16", "--ctx-size", "512",
  "--max-queue", "256", "--http-threads", String(CLIENTS + 8)], { stdio: ["ignore", "ignore", "pipe"] });
let log = "";
server.stderr.on("data", (d) => (log += d));
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 100; i++) {
  try { if ((await fetch(`${base}/health`)).ok) break; } catch {}
  await new Promise((r) => setTimeout(r, 100));
}
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "x", maxRetries: 0, timeout: 120000 });

async function one(i) {
  const stream = await client.chat.completions.create({ model: "onprem", messages: [{ role: "user", content: `request ${i}` }],
    max_tokens: TOKENS, stream: true, stream_options: { include_usage: true }, ignore_eos: true, loop_guard: false,
    chat_template_kwargs: { enable_thinking: false } });
  let usage = null, finish = null;
  for await (const c of stream) {
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) if (ch.finish_reason) finish = ch.finish_reason;
  }
  assert.equal(finish, "length", `request ${i} finished with ${finish}`);
  assert.equal(usage.completion_tokens, TOKENS, `request ${i}: ${usage.completion_tokens} tokens`);
  return usage.completion_tokens;
}

let failures = 0;
try {
  // One client alone, for the baseline.
  let t0 = performance.now(), single = 0;
  for (let i = 0; i < 4; i++) single += await one(i);
  const singleRate = single / ((performance.now() - t0) / 1000);
  // Everyone at once.
  t0 = performance.now();
  const all = await Promise.allSettled(Array.from({ length: CLIENTS }, async (_, c) => {
    let n = 0;
    for (let k = 0; k < EACH; k++) n += await one(1000 + c * EACH + k);
    return n;
  }));
  const secs = (performance.now() - t0) / 1000;
  const errors = all.filter((r) => r.status === "rejected");
  failures += errors.length;
  for (const e of errors.slice(0, 3)) console.log("FAIL", e.reason?.message ?? e.reason);
  const tokens = all.filter((r) => r.status === "fulfilled").reduce((a, r) => a + r.value, 0);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const busy = Number(metrics.match(/^onprem_slots_busy ([0-9.]+)/m)[1]);
  const metric = (name) => Number(metrics.match(new RegExp(`^${name} ([0-9.e+-]+)`, "m"))[1]);
  const steps = metric("onprem_engine_steps_total");
  const outside = (metric("onprem_engine_step_seconds_total") - metric("onprem_engine_forward_seconds_total")) / steps;
  const outsideCpuTotal = metric("onprem_engine_step_cpu_seconds_total") - metric("onprem_engine_forward_cpu_seconds_total");
  const outsideCpu = outsideCpuTotal / steps;
  const perToken = outsideCpuTotal / metric("onprem_completion_tokens_total");
  const queued = Number(metrics.match(/^onprem_queue_depth ([0-9.]+)/m)[1]);
  if (busy !== 0 || queued !== 0) { failures++; console.log(`FAIL leaked: ${busy} busy slots, ${queued} queued`); }
  console.log(`${CLIENTS} clients x ${EACH} requests x ${TOKENS} tokens: ${tokens} tokens in ${secs.toFixed(2)} s = ` +
    `${(tokens / secs).toFixed(0)} tokens/s; one client ${singleRate.toFixed(0)} tokens/s; ratio ${(tokens / secs / singleRate).toFixed(2)}x; ` +
    `${errors.length} errors, ${busy} busy slots after; engine thread outside the forward pass ` +
    `${(outside * 1e6).toFixed(0)} us per step (CPU ${(outsideCpu * 1e6).toFixed(0)} us; ` +
    `${(perToken * 1e6).toFixed(1)} us per generated token) over ${steps} steps`);
} catch (e) {
  failures++;
  console.log("FAIL", e.stack || e);
}
server.kill("SIGTERM");
if (failures) console.log(log.slice(-1500));
process.exit(failures ? 1 : 0);
