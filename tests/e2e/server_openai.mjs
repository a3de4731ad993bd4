// The real server binary on a generated model, driven by the official `openai` npm client:
// models, chat (buffered and streamed), a tool-call round trip with tool_choice "required",
// json_schema output, reasoning with a thinking budget, typed errors, authentication, a client
// disconnect that frees the only slot, completions, and metrics that move.
// Usage: node server_openai.mjs ONPREM_BINARY WORK_DIR
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import { holdConnections } from "./slow_clients.mjs";

const [onprem, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const model = path.join(work, "server-model.gguf");
execFileSync(onprem, ["gen-model", "--preset", "tiny-moe", "--type", "Q8_0", "-o", model], { stdio: "ignore" });
const port = 20000 + Math.floor(Math.random() * 20000);
// ONPREM_E2E_DEVICE=vulkan:0 serves from a Vulkan device (CI: lavapipe).
const device = process.env.ONPREM_E2E_DEVICE ? ["--device", process.env.ONPREM_E2E_DEVICE] : [];
const server = spawn(onprem, ["serve", "-m", model, "--port", String(port), "--parallel", "1", "--ctx-size", "16384",
  "--api-key", "secret", "--max-tokens", "64", "--header-timeout", String(3 * Number(process.env.ONPREM_E2E_SLOWDOWN || 1)), ...device], { stdio: ["ignore", "ignore", "pipe"] });
let log = "";
server.stderr.on("data", (d) => (log += d));
const base = `http://127.0.0.1:${port}`;
// Under CPU emulation (tests/isa/paths.sh) everything is ~25x slower: the caller scales the waits.
const slow = Number(process.env.ONPREM_E2E_SLOWDOWN || 1);
for (let i = 0; i < 100 * slow; i++) {
  try { if ((await fetch(`${base}/health`)).ok) break; } catch {}
  await new Promise((r) => setTimeout(r, 100));
}
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "secret", maxRetries: 0, timeout: 30000 * slow });
const results = [];
// ONPREM_E2E_SMOKE=1: only the smoke set (models, chat buffered and streamed, a tool call round
// trip, typed errors, authentication, completions), for a Vulkan device on a CPU driver.
// ONPREM_E2E_SMOKE=kernels: the smoke set less the tool call round trip, for the emulated kernel
// paths (tests/isa/paths.sh). Its two prompts of ~700 tokens (the tools' system prompt) and a
// ~100-token call took 97 s of the emulated AVX2 path; the grammar and the parser it tests run the
// same code on every path, and the chat cases already run this path's kernels.
const smoke = new Set(["models", "chat, buffered", "chat, streamed with usage", "tool call round trip (tool_choice required)",
  "typed errors", "authentication enforced", "completions"]);
if (process.env.ONPREM_E2E_SMOKE === "kernels") smoke.delete("tool call round trip (tool_choice required)");
async function test(name, fn) {
  if (process.env.ONPREM_E2E_SMOKE && !smoke.has(name)) return;
  const t0 = Date.now();  // each case's time: CI has a budget, and the emulated paths are slow
  try { await fn(); results.push(["ok  ", `${name} (${Date.now() - t0} ms)`]); } catch (e) { results.push(["FAIL", `${name}: ${e.stack || e}`]); }
}
const metric = async (name) => {
  const text = await (await fetch(`${base}/metrics`, { headers: { Authorization: "Bearer secret" } })).text();
  const m = text.match(new RegExp(`^${name} ([0-9.e+]+)$`, "m"));
  return m ? Number(m[1]) : NaN;
};
const weather = [{ type: "function", function: { name: "get_weather", description: "Current weather",
  parameters: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } }, required: ["city"] } } }];

await test("models", async () => {
  const list = await client.models.list();
  assert.ok(list.data.some((m) => m.id === "onprem"));
});
await test("chat, buffered", async () => {
  const r = await client.chat.completions.create({ model: "onprem", messages: [{ role: "user", content: "Hello" }], max_tokens: 8,
    chat_template_kwargs: { enable_thinking: false }, seed: 1 });
  assert.equal(r.object, "chat.completion");
  assert.ok(["length", "stop"].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.completion_tokens <= 8 && r.usage.prompt_tokens > 0);
  assert.equal(typeof r.choices[0].message.content, "string");
});
await test("chat, streamed with usage", async () => {
  const stream = await client.chat.completions.create({ messages: [{ role: "user", content: "Hi" }], max_tokens: 10, stream: true,
    stream_options: { include_usage: true }, chat_template_kwargs: { enable_thinking: false }, model: "onprem" });
  let text = "", finish = null, usage = null, chunks = 0;
  for await (const c of stream) {
    chunks++;
    if (c.usage) usage = c.usage;
    for (const ch of c.choices) { text += ch.delta.content ?? ""; if (ch.finish_reason) finish = ch.finish_reason; }
  }
  assert.ok(chunks >= 2 && finish && usage && usage.completion_tokens <= 10);
});
await test("tool call round trip (tool_choice required)", async () => {
  const messages = [{ role: "user", content: "Weather in Paris?" }];
  const r = await client.chat.completions.create({ model: "onprem", messages, tools: weather, tool_choice: "required", max_tokens: 200 });
  const msg = r.choices[0].message;
  assert.equal(r.choices[0].finish_reason, "tool_calls");
  assert.equal(msg.tool_calls[0].function.name, "get_weather");
  const args = JSON.parse(msg.tool_calls[0].function.arguments);
  assert.equal(typeof args.city, "string");
  assert.ok(Number.isInteger(args.days));
  messages.push(msg, { role: "tool", tool_call_id: msg.tool_calls[0].id, content: '{"temp_c": 18}' });
  const r2 = await client.chat.completions.create({ model: "onprem", messages, tools: weather, max_tokens: 8 });
  assert.ok(r2.choices[0].message);
});
await test("tool call streamed (named function)", async () => {
  const stream = await client.chat.completions.create({ model: "onprem", messages: [{ role: "user", content: "Weather?" }], tools: weather,
    tool_choice: { type: "function", function: { name: "get_weather" } }, max_tokens: 200, stream: true });
  let name = "", args = "", finish = null;
  for await (const c of stream)
    for (const ch of c.choices) {
      for (const tc of ch.delta.tool_calls ?? []) { name += tc.function?.name ?? ""; args += tc.function?.arguments ?? ""; }
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  assert.equal(name, "get_weather");
  assert.equal(finish, "tool_calls");
  assert.equal(typeof JSON.parse(args).city, "string");
});
await test("json_schema output validates", async () => {
  const schema = { type: "object", properties: { name: { type: "string", maxLength: 10 }, n: { type: "integer" },
    tags: { type: "array", items: { enum: ["a", "b"] }, maxItems: 2 } }, required: ["name", "n"] };
  const r = await client.chat.completions.create({ model: "onprem", messages: [{ role: "user", content: "JSON" }], max_tokens: 300,
    response_format: { type: "json_schema", json_schema: { name: "x", schema } } });
  const v = JSON.parse(r.choices[0].message.content);
  assert.equal(typeof v.name, "string");
  assert.ok([...v.name].length <= 10 && Number.isInteger(v.n));
  assert.ok((v.tags ?? []).every((t) => t === "a" || t === "b"));
});
await test("reasoning separated (thinking budget)", async () => {
  const r = await client.chat.completions.create({ model: "onprem", messages: [{ role: "user", content: "Think" }], max_tokens: 20,
    thinking_budget: 4 });
  const m = r.choices[0].message;
  assert.ok(m.reasoning_content && m.reasoning_content.length > 0);
  assert.ok(!m.content.includes("</think>"));
});
await test("server-side preserve_thinking restores dropped reasoning", async () => {
  const messages = [{ role: "user", content: "Weather in Oslo?" }];
  const r = await client.chat.completions.create({ model: "onprem", messages, tools: weather, tool_choice: "required", max_tokens: 200,
    chat_template_kwargs: { enable_thinking: true } });
  const first = await client.chat.completions.create({ model: "onprem", messages: [{ role: "user", content: "Plan" }], tools: weather,
    max_tokens: 30, thinking_budget: 6 });
  const m = first.choices[0].message;
  assert.ok(m.reasoning_content, "no reasoning to restore");
  // The client drops reasoning_content; the assistant turn is after the last user query, so the
  // template keeps its <think> block: restored, the prompt is longer.
  const history = [{ role: "user", content: "Plan" }, { role: "assistant", content: m.content ?? "", tool_calls: m.tool_calls },
    { role: "tool", tool_call_id: "x", content: "done" }];
  if (!m.tool_calls) history.pop();
  const withRestore = await client.chat.completions.create({ model: "onprem", messages: history, tools: weather, max_tokens: 1 });
  const without = await client.chat.completions.create({ model: "onprem", messages: history, tools: weather, max_tokens: 1,
    restore_reasoning: false });
  assert.ok(withRestore.usage.prompt_tokens > without.usage.prompt_tokens,
    `${withRestore.usage.prompt_tokens} vs ${without.usage.prompt_tokens}`);
  assert.ok(r.choices[0].message.tool_calls);
});
// A stop string taken from the model's own greedy answer: the same request with it stops there,
// and neither the buffered answer nor the stream contains it.
const stopStringOf = (text) => {
  for (let k = Math.floor(text.length / 2); k + 2 <= text.length; k++)
    if (/^[A-Za-z]{2}$/.test(text.slice(k, k + 2))) return text.slice(k, k + 2);
  return text.slice(Math.floor(text.length / 2), Math.floor(text.length / 2) + 2);
};
await test("stop strings: the answer ends before the first one, buffered and streamed", async () => {
  const ask = { model: "onprem", messages: [{ role: "user", content: "Count." }], max_tokens: 40, temperature: 0,
    ignore_eos: true, loop_guard: false, chat_template_kwargs: { enable_thinking: false } };
  const whole = (await client.chat.completions.create(ask)).choices[0].message.content;
  assert.ok(whole.length >= 4, `answer too short to cut: ${JSON.stringify(whole)}`);
  const stop = stopStringOf(whole);
  const want = whole.slice(0, whole.indexOf(stop));
  const r = await client.chat.completions.create({ ...ask, stop: [stop] });
  assert.equal(r.choices[0].message.content, want, `stop ${JSON.stringify(stop)} in ${JSON.stringify(whole)}`);
  assert.equal(r.choices[0].finish_reason, "stop");
  assert.ok(r.usage.completion_tokens < 40);
  const stream = await client.chat.completions.create({ ...ask, stop: stop, stream: true });
  let text = "", finish = null;
  for await (const c of stream)
    for (const ch of c.choices) {
      text += ch.delta?.content ?? "";
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  assert.equal(text, want);
  assert.equal(finish, "stop");
});
await test("typed errors", async () => {
  await assert.rejects(client.chat.completions.create({ model: "onprem", messages: [{ role: "user", content: "x" }], temperature: 5 }),
    (e) => e.status === 400 && e.error?.param === "temperature" && e.error?.type === "invalid_request_error");
  await assert.rejects(client.chat.completions.create({ model: "gpt-9", messages: [{ role: "user", content: "x" }] }), (e) => e.status === 404);
  await assert.rejects(client.chat.completions.create({ model: "onprem", messages: [] }), (e) => e.status === 400);
  await assert.rejects(client.chat.completions.create({ model: "onprem", messages: [{ role: "assistant", content: "x" }] }),
    (e) => e.status === 400 && /user query/.test(e.message));
});
await test("authentication enforced", async () => {
  const bad = new OpenAI({ baseURL: `${base}/v1`, apiKey: "wrong", maxRetries: 0 });
  await assert.rejects(bad.models.list(), (e) => e.status === 401);
  assert.equal((await fetch(`${base}/health`)).status, 200);
});
await test("a disconnect frees the only slot", async () => {
  const controller = new AbortController();
  const stream = await client.chat.completions.create({ model: "onprem", messages: [{ role: "user", content: "Go" }],
    max_tokens: 16000, stream: true }, { signal: controller.signal });
  try { for await (const _ of stream) { controller.abort(); } } catch {}
  const t0 = Date.now();
  const r = await client.chat.completions.create({ model: "onprem", messages: [{ role: "user", content: "Next" }], max_tokens: 4,
    chat_template_kwargs: { enable_thinking: false } });
  assert.ok(r.choices[0] && Date.now() - t0 < 8000, "the next request waited for the abandoned one");
});
await test("logprobs", async () => {
  const r = await client.chat.completions.create({ model: "onprem", messages: [{ role: "user", content: "lp" }], max_tokens: 3,
    logprobs: true, top_logprobs: 2, chat_template_kwargs: { enable_thinking: false } });
  const lp = r.choices[0].logprobs.content;
  assert.equal(lp.length, r.usage.completion_tokens);
  for (const t of lp) {
    assert.ok(t.logprob <= 0 && t.top_logprobs.length === 2);
    assert.ok(t.top_logprobs[0].logprob >= t.logprob - 1e-6);  // greedy-free sampling may pick below the top
  }
});
await test("unknown route and oversized body get API errors", async () => {
  const r = await fetch(`${base}/v1/nope`, { headers: { Authorization: "Bearer secret" } });
  assert.equal(r.status, 404);
  assert.equal((await r.json()).error.type, "not_found_error");
  const big = await fetch(`${base}/v1/chat/completions`, { method: "POST", headers: { Authorization: "Bearer secret" },
    body: JSON.stringify({ messages: [{ role: "user", content: "x".repeat(9 << 20) }] }) });
  assert.equal(big.status, 413);
  assert.ok((await big.json()).error.message.includes("larger"));
});
await test("hostile JSON: deep nesting and key floods are 400s in linear time, and the server lives", async () => {
  const post = (body) => fetch(`${base}/v1/chat/completions`, { method: "POST", headers: { Authorization: "Bearer secret",
    "content-type": "application/json" }, body });
  const deep = "[".repeat(100000) + "]".repeat(100000);
  const keys = "{" + Array.from({ length: 200000 }, (_, i) => `"k${i}":1`).join(",") + "}";
  const args = JSON.stringify({ messages: [{ role: "user", content: "x" }, { role: "assistant", content: null, tool_calls: [{ id: "c",
    type: "function", function: { name: "f", arguments: deep } }] }, { role: "tool", tool_call_id: "c", content: "r" }], max_tokens: 2 });
  const t0 = performance.now();
  // A normal client keeps getting answers while the hostile bodies arrive.
  const normal = (async () => {
    for (let i = 0; i < 5; i++) {
      const r = await client.chat.completions.create({ model: "onprem", messages: [{ role: "user", content: `normal ${i}` }], max_tokens: 2 });
      assert.equal(r.choices.length, 1);
    }
  })();
  for (const [what, body] of [["deep body", `{"messages":${deep}}`], ["200,000 keys", `{"messages":[{"role":"user","content":"x"}],"metadata":${keys}}`],
                              ["deep tool-call arguments", args]]) {
    const r = await post(body);
    assert.equal(r.status, 400, what);
    const e = (await r.json()).error;
    assert.ok(/nests deeper|more than|out of bounds|not valid/.test(e.message), `${what}: ${e.message}`);
  }
  // Schemas that would make the grammar grow without bound are refused before anything is built.
  const m = [{ role: "user", content: "x" }];
  const rf = (schema) => ({ messages: m, max_tokens: 2, response_format: { type: "json_schema", json_schema: { name: "r", schema } } });
  const big = Array.from({ length: 100000 }, (_, i) => `v${i}`);
  for (const [what, body] of [["minLength 1e9", rf({ type: "string", minLength: 1000000000 })],
                              ["minItems 1e9", rf({ type: "array", items: { type: "string" }, minItems: 1000000000 })],
                              ["100,000-value enum", rf({ type: "string", enum: big })],
                              ["tool schema under tool_choice required", { messages: m, max_tokens: 2, tool_choice: "required",
                                tools: [{ type: "function", function: { name: "f", parameters: { type: "object",
                                  properties: { a: { type: "array", items: { type: "integer" }, minItems: 1000000000 } }, required: ["a"] } } }] }]]) {
    const r = await post(JSON.stringify(body));
    assert.equal(r.status, 400, what);
    assert.ok(/not supported|JSON Schema/.test((await r.json()).error.message), what);
  }
  await normal;
  assert.ok(performance.now() - t0 < 5000 * slow, `hostile bodies took ${performance.now() - t0} ms`);
  assert.equal((await fetch(`${base}/health`)).status, 200);
});
await test("slow and idle clients do not starve /health or requests", async () => {
  const release = await holdConnections(port);
  // Liveness, not speed: starved, /health took 36 s or never answered.
  const t0 = performance.now();
  assert.equal((await fetch(`${base}/health`, { signal: AbortSignal.timeout(10000 * slow) })).status, 200);
  const healthMs = performance.now() - t0;
  const r = await client.chat.completions.create({ model: "onprem", messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
  assert.ok(r.choices.length === 1);
  // --header-timeout 3: the one-byte-a-second senders are answered 408 and closed at 3 s, not
  // held until they finish (they never would: cpp-httplib's per-read timeout is 5 s).
  for (let i = 0; i < 60 && release.cut() < 8; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(release.cut(), 8, "slow senders cut by the header deadline");
  release();
  console.log(`  /health under 8 slow + 64 idle connections: ${healthMs.toFixed(1)} ms`);
});
await test("agents' shapes: developer and mid-conversation system roles, HEAD /, context_length_exceeded", async () => {
  assert.equal((await fetch(`${base}/`, { method: "HEAD" })).status, 200);
  const r = await client.chat.completions.create({ model: "onprem", max_tokens: 2, messages: [{ role: "developer", content: "Be brief." },
    { role: "user", content: "hi" }, { role: "assistant", content: "hello" }, { role: "system", content: "Still brief." }, { role: "user", content: "again" }] });
  assert.equal(r.choices.length, 1);
  await assert.rejects(client.chat.completions.create({ model: "onprem", max_tokens: 2, messages: [{ role: "user", content: "word ".repeat(20000) }] }),
    (e) => e.status === 400 && e.code === "context_length_exceeded" && /maximum context length is 16384 tokens/.test(e.message));
});
await test("a loop-guard stop is finish_reason length with onprem_stop loop_guard (and a header)", async () => {
  let guarded = 0;
  for (const p of "abcdefghijkl") {
    const res = await fetch(`${base}/v1/chat/completions`, { method: "POST", headers: { Authorization: "Bearer secret" },
      body: JSON.stringify({ max_tokens: 400, temperature: 0, ignore_eos: true, messages: [{ role: "user", content: p }] }) });
    const c = (await res.json()).choices[0];
    const byGuard = c.onprem_stop === "loop_guard";
    if (byGuard) guarded++;
    assert.equal(byGuard, res.headers.get("x-onprem-stop") === "loop_guard");
    assert.equal(c.finish_reason, "length");
  }
  assert.ok(guarded > 0, "no prompt tripped the loop guard");
});
await test("responses API: buffered, streamed (the SDK assembles the events), a function call round trip", async () => {
  const r = await client.responses.create({ model: "onprem", input: "hi", max_output_tokens: 6, reasoning: { effort: "low", summary: "auto" } });
  assert.equal(r.object, "response");
  assert.ok(["completed", "incomplete"].includes(r.status));
  assert.ok(r.usage.output_tokens <= 6 && r.usage.input_tokens > 0);
  const stream = client.responses.stream({ model: "onprem", input: [{ role: "developer", content: "Be brief." },
    { role: "user", content: [{ type: "input_text", text: "hello" }] }], max_output_tokens: 8 });
  const events = [];
  for await (const e of stream) events.push(e);
  const final = await stream.finalResponse();  // assembled by the SDK from the deltas
  const types = events.map((e) => e.type);
  assert.equal(types[0], "response.created");
  assert.ok(["response.completed", "response.incomplete"].includes(types.at(-1)), types.join(" "));
  // (this SDK takes the final object only from response.completed; an incomplete one carries it too)
  assert.ok(events.at(-1).response.usage.output_tokens <= 8);
  assert.deepEqual(final.output.map((i) => i.type), events.at(-1).response.output.map((i) => i.type));
  const tools = [{ type: "function", name: "get_weather", description: "Weather", parameters: { type: "object",
    properties: { city: { type: "string" } }, required: ["city"] } }, { type: "web_search" }];
  const c = await client.responses.create({ model: "onprem", input: "Weather in Seoul?", tools, tool_choice: "required", max_output_tokens: 64 });
  const fc = c.output.find((i) => i.type === "function_call");
  assert.equal(fc.name, "get_weather");
  assert.equal(typeof JSON.parse(fc.arguments).city, "string");
  const next = await client.responses.create({ model: "onprem", tools, max_output_tokens: 4, input: [{ role: "user", content: "Weather in Seoul?" },
    fc, { type: "function_call_output", call_id: fc.call_id, output: "18 C" }] });
  assert.equal(next.object, "response");
  // A namespaced tool is flattened for the model, and its calls carry the namespace back (Codex
  // dispatches by it).
  const ns = await client.responses.create({ model: "onprem", input: "Weather?", tool_choice: "required", max_output_tokens: 64,
    tools: [{ type: "namespace", name: "weather_v1", description: "Weather tools", tools: [tools[0]] }] });
  const nsCall = ns.output.find((i) => i.type === "function_call");
  assert.equal(nsCall.name, "get_weather");
  assert.equal(nsCall.namespace, "weather_v1");
  await assert.rejects(client.responses.create({ model: "onprem", input: "x", previous_response_id: "resp_1" }),
    (e) => e.status === 400 && /previous_response_id/.test(e.message));
});
await test("wrong types are 400s that name the field", async () => {
  const m = [{ role: "user", content: "x" }];
  const cases = [["model", { model: 1 }], ["stream", { stream: "yes" }], ["n", { n: "x" }], ["n", { n: 8589934593 }],
    ["tools", { tools: "x" }], ["tools", { tools: [{ type: "function", function: { name: "f", parameters: "x" } }] }],
    ["top_k", { top_k: -5 }]];
  for (const [field, extra] of cases) {
    const r = await fetch(`${base}/v1/chat/completions`, { method: "POST", headers: { Authorization: "Bearer secret" },
      body: JSON.stringify({ messages: m, max_tokens: 2, ...extra }) });
    assert.equal(r.status, 400, `${field}: ${JSON.stringify(extra)}`);
    const e = (await r.json()).error;
    assert.ok(e.param === field || e.message.includes(field), `${JSON.stringify(extra)} -> ${e.message}`);
  }
  const a = await fetch(`${base}/v1/messages`, { method: "POST", headers: { "x-api-key": "secret", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({ model: "onprem", max_tokens: 2, system: {}, messages: m }) });
  assert.equal(a.status, 400);
  assert.ok((await a.json()).error.message.includes("system"));
});
await test("completions", async () => {
  const r = await client.completions.create({ model: "onprem", prompt: "Once upon a time", max_tokens: 6 });
  assert.equal(r.object, "text_completion");
  assert.ok(r.usage.completion_tokens <= 6);
});
await test("metrics move", async () => {
  const before = await metric("onprem_requests_total");
  await client.chat.completions.create({ model: "onprem", messages: [{ role: "user", content: "m" }], max_tokens: 2 });
  const after = await metric("onprem_requests_total");
  assert.ok(after >= before + 1, `${before} -> ${after}`);
  assert.ok((await metric("onprem_completion_tokens_total")) > 0);
  // Every refusal moves a counter of its own, by route and status, whoever refused it: the
  // request planner (400), authentication (401), routing (404), the body limit (413) and body
  // decoding (400), counted before the response goes out.
  const rejected = async (route, status) =>
    metric(`onprem_requests_rejected_total\\{route="${route}",status="${status}"\\}`).then((n) => n || 0);
  const chat = "/v1/chat/completions";
  const before400 = await rejected(chat, 400), before401 = await rejected("/v1/models", 401);
  const before404 = await rejected("other", 404), before413 = await rejected(chat, 413);
  for (const budget of [-1, "5"]) {
    const r = await fetch(`${base}${chat}`, { method: "POST", headers: { Authorization: "Bearer secret", "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "m" }], max_tokens: 2, thinking_budget: budget }) });
    assert.equal(r.status, 400, `thinking_budget ${JSON.stringify(budget)}`);
    assert.ok((await r.json()).error.message.includes("thinking_budget"));
  }
  const corrupt = await fetch(`${base}${chat}`, { method: "POST", body: "not gzip at all",
    headers: { Authorization: "Bearer secret", "content-type": "application/json", "content-encoding": "gzip" } });
  assert.equal(corrupt.status, 400);
  assert.equal((await fetch(`${base}/v1/models`, { headers: { Authorization: "Bearer wrong" } })).status, 401);
  for (const p of ["/v1/nope", "/v2/anything", "/x"])
    assert.equal((await fetch(`${base}${p}`, { headers: { Authorization: "Bearer secret" } })).status, 404);
  const big = await fetch(`${base}${chat}`, { method: "POST", headers: { Authorization: "Bearer secret" },
    body: "x".repeat(9 << 20) });
  assert.equal(big.status, 413);
  assert.equal(await rejected(chat, 400), before400 + 3);
  assert.equal(await rejected("/v1/models", 401), before401 + 1);
  assert.equal(await rejected("other", 404), before404 + 3);  // unknown paths share one label
  assert.equal(await rejected(chat, 413), before413 + 1);
});
server.kill("SIGTERM");
for (const [s, n] of results) console.log(s, n);
const failed = results.filter(([s]) => s === "FAIL").length;
if (failed) console.log(log.slice(-2000));
process.exit(failed ? 1 : 0);
