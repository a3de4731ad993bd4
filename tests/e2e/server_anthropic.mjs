// The real server driven by the official Anthropic SDK: messages (buffered and streamed, the SDK
// checks the event sequence), tool_use round trip with tool_choice "any", thinking blocks with a
// budget, count_tokens, typed errors, authentication.
// Usage: node server_anthropic.mjs ONPREM_BINARY WORK_DIR
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import Anthropic from "@anthropic-ai/sdk";

const [onprem, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const model = path.join(work, "anthropic-model.gguf");
execFileSync(onprem, ["gen-model", "--preset", "tiny", "--type", "Q8_0", "-o", model], { stdio: "ignore" });
const port = 20000 + Math.floor(Math.random() * 20000);
// ONPREM_E2E_DEVICE=vulkan:0 serves from a Vulkan device (CI: lavapipe).
const device = process.env.ONPREM_E2E_DEVICE ? ["--device", process.env.ONPREM_E2E_DEVICE] : [];
// A small context (the over-long prompt test), agents' model names, and a short keep-alive (the
// ping test).
const server = spawn(onprem, ["serve", "-m", model, "--port", String(port), "--parallel", "2", "--api-key", "k1", "--ctx-size", "1024",
  "--any-model", "--alias", "main-model,background-model", "--stream-keepalive", "0.05", ...device],
  { stdio: ["ignore", "ignore", "pipe"] });
let log = "";
server.stderr.on("data", (d) => (log += d));
const base = `http://127.0.0.1:${port}`;
for (let i = 0; i < 100; i++) {
  try { if ((await fetch(`${base}/health`)).ok) break; } catch {}
  await new Promise((r) => setTimeout(r, 100));
}
const client = new Anthropic({ baseURL: base, apiKey: "k1", maxRetries: 0 });
const results = [];
// ONPREM_E2E_SMOKE=1: only the smoke set (buffered and streamed messages, a tool_use round trip,
// typed errors, Claude Code's request shape), for the slow paths (a CPU Vulkan driver).
const smoke = new Set(["messages, buffered", "messages, streamed", "tool_use round trip (tool_choice any)", "typed errors",
  "Claude Code's shape: HEAD /, system inside messages, adaptive thinking, metadata, any model name"]);
async function test(name, fn) {
  if (process.env.ONPREM_E2E_SMOKE && !smoke.has(name)) return;
  try { await fn(); results.push(["ok  ", name]); } catch (e) { results.push(["FAIL", `${name}: ${e.stack || e}`]); }
}
const tools = [{ name: "get_weather", description: "Current weather", input_schema: { type: "object",
  properties: { city: { type: "string" } }, required: ["city"] } }];

await test("messages, buffered", async () => {
  const m = await client.messages.create({ model: "onprem", max_tokens: 8, system: "Be brief.", messages: [{ role: "user", content: "Hello" }] });
  assert.equal(m.type, "message");
  assert.equal(m.role, "assistant");
  assert.ok(["end_turn", "max_tokens"].includes(m.stop_reason));
  assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens <= 8);
});
await test("messages, streamed", async () => {
  const stream = client.messages.stream({ model: "onprem", max_tokens: 10, messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }] });
  const kinds = [];
  stream.on("streamEvent", (e) => kinds.push(e.type));
  const final = await stream.finalMessage();
  assert.equal(kinds[0], "message_start");
  assert.equal(kinds.at(-1), "message_stop");
  assert.ok(final.usage.output_tokens <= 10);
});
await test("stop_sequences: stop_reason stop_sequence names it, and the text ends before it", async () => {
  const ask = { model: "onprem", max_tokens: 40, temperature: 0, ignore_eos: true, loop_guard: false,
    messages: [{ role: "user", content: "Count." }] };
  const whole = (await client.messages.create(ask)).content.filter((b) => b.type === "text").map((b) => b.text).join("");
  assert.ok(whole.length >= 4, `answer too short to cut: ${JSON.stringify(whole)}`);
  let k = Math.floor(whole.length / 2);
  while (k + 2 < whole.length && !/^[A-Za-z]{2}$/.test(whole.slice(k, k + 2))) k++;
  const stop = whole.slice(k, k + 2), want = whole.slice(0, whole.indexOf(stop));
  const m = await client.messages.create({ ...ask, stop_sequences: [stop] });
  assert.equal(m.stop_reason, "stop_sequence");
  assert.equal(m.stop_sequence, stop);
  assert.equal(m.content.filter((b) => b.type === "text").map((b) => b.text).join(""), want);
  const stream = client.messages.stream({ ...ask, stop_sequences: [stop] });
  let text = "";
  stream.on("text", (t) => (text += t));
  const final = await stream.finalMessage();
  assert.equal(text, want);
  assert.equal(final.stop_reason, "stop_sequence");
  assert.equal(final.stop_sequence, stop);
});
await test("tool_use round trip (tool_choice any)", async () => {
  const messages = [{ role: "user", content: "Weather in Seoul?" }];
  const m = await client.messages.create({ model: "onprem", max_tokens: 200, tools, tool_choice: { type: "any" }, messages });
  assert.equal(m.stop_reason, "tool_use");
  const use = m.content.find((b) => b.type === "tool_use");
  assert.equal(use.name, "get_weather");
  assert.equal(typeof use.input.city, "string");
  messages.push({ role: "assistant", content: m.content },
    { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "18 C, cloudy" }] });
  const m2 = await client.messages.create({ model: "onprem", max_tokens: 6, tools, messages });
  assert.equal(m2.type, "message");
});
await test("tool_use streamed", async () => {
  const stream = client.messages.stream({ model: "onprem", max_tokens: 200, tools, tool_choice: { type: "tool", name: "get_weather" },
    messages: [{ role: "user", content: "Weather?" }] });
  const final = await stream.finalMessage();
  const use = final.content.find((b) => b.type === "tool_use");
  assert.equal(typeof use.input.city, "string");
});
await test("thinking blocks with a budget", async () => {
  const m = await client.messages.create({ model: "onprem", max_tokens: 24, thinking: { type: "enabled", budget_tokens: 4 },
    messages: [{ role: "user", content: "Think first" }] });
  assert.equal(m.content[0].type, "thinking");
  assert.ok(m.content[0].thinking.length > 0);
});
await test("the prefix cache's share is cache_read_input_tokens", async () => {
  const messages = [{ role: "user", content: "A question long enough to be worth caching: " + "why ".repeat(60) }];
  const first = await client.messages.create({ model: "onprem", max_tokens: 2, messages });
  const again = await client.messages.create({ model: "onprem", max_tokens: 2, messages });
  const { input_tokens: total } = await client.messages.countTokens({ model: "onprem", messages });
  for (const r of [first, again]) assert.equal(r.usage.input_tokens + r.usage.cache_read_input_tokens, total);
  assert.ok(again.usage.cache_read_input_tokens > total / 2, JSON.stringify(again.usage));
  const stream = client.messages.stream({ model: "onprem", max_tokens: 2, messages });
  const final = await stream.finalMessage();
  assert.equal(final.usage.input_tokens + final.usage.cache_read_input_tokens, total);
  assert.ok(final.usage.cache_read_input_tokens > total / 2, JSON.stringify(final.usage));
});
await test("count_tokens", async () => {
  const r = await client.messages.countTokens({ model: "onprem", messages: [{ role: "user", content: "Count me" }] });
  assert.ok(r.input_tokens > 0);
});
await test("typed errors", async () => {
  await assert.rejects(client.messages.create({ model: "onprem", messages: [{ role: "user", content: "x" }] }),
    (e) => e.status === 400 && e.error?.error?.type === "invalid_request_error");
  const bad = new Anthropic({ baseURL: base, apiKey: "nope", maxRetries: 0 });
  await assert.rejects(bad.messages.create({ model: "onprem", max_tokens: 4, messages: [{ role: "user", content: "x" }] }),
    (e) => e.status === 401 && e.error?.error?.type === "authentication_error");
});
await test("Claude Code's shape: HEAD /, system inside messages, adaptive thinking, metadata, any model name", async () => {
  assert.equal((await fetch(`${base}/`, { method: "HEAD" })).status, 200);
  const messages = [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello" },
    { role: "system", content: [{ type: "text", text: "Reminder: be brief." }] }, { role: "user", content: "Again" }];
  const m = await client.messages.create({ model: "claude-sonnet-4-5", max_tokens: 8, metadata: { user_id: "u1" },
    system: [{ type: "text", text: "You are an agent.", cache_control: { type: "ephemeral" } }],
    thinking: { type: "adaptive" }, output_config: { effort: "low" }, messages });
  assert.equal(m.model, "claude-sonnet-4-5");
  assert.equal(m.content[0].type, "thinking");  // adaptive: thinking on
  const off = await client.messages.create({ model: "background-model", max_tokens: 4, thinking: { type: "disabled" }, messages });
  assert.ok(off.content.every((b) => b.type !== "thinking"));
  // The system turn is rendered where it stands: moving it changes the prompt, dropping it shortens it.
  const count = async (msgs) => (await client.messages.countTokens({ model: "x", messages: msgs })).input_tokens;
  const without = messages.filter((x) => x.role !== "system");
  assert.ok((await count(messages)) > (await count(without)));
  const models = (await (await fetch(`${base}/v1/models`, { headers: { "x-api-key": "k1" } })).json()).data.map((d) => d.id);
  assert.deepEqual(models, ["onprem", "main-model", "background-model"]);
});
await test("refusals in Anthropic's wording: thinking type, role, prompt too long", async () => {
  const msg = [{ role: "user", content: "x" }];
  await assert.rejects(client.messages.create({ model: "onprem", max_tokens: 4, thinking: { type: "bogus" }, messages: msg }),
    (e) => e.status === 400 && /'bogus' .*does not match any of the expected tags: 'disabled', 'enabled', 'adaptive'/.test(e.error?.error?.message));
  await assert.rejects(client.messages.create({ model: "onprem", max_tokens: 4, thinking: { type: "adaptive" }, output_config: { effort: "huge" },
    messages: msg }), (e) => e.status === 400 && /effort/.test(e.error?.error?.message));
  await assert.rejects(client.messages.create({ model: "onprem", max_tokens: 4, messages: [{ role: "robot", content: "x" }] }),
    (e) => e.status === 400 && /Unexpected role "robot"/.test(e.error?.error?.message));
  // Claude Code compacts on exactly this form (--ctx-size 1024: 1,023 prompt tokens at most).
  await assert.rejects(client.messages.create({ model: "onprem", max_tokens: 4, messages: [{ role: "user", content: "word ".repeat(3000) }] }),
    (e) => e.status === 400 && /^prompt is too long: \d+ tokens > 1023 maximum$/.test(e.error?.error?.message));
  // onprem's extensions reach the Anthropic route as they reach the OpenAI one (a bad value is refused there too).
  await assert.rejects(client.messages.create({ model: "onprem", max_tokens: 4, messages: msg, thinking_budget: -1 }),
    (e) => e.status === 400 && /thinking_budget/.test(e.error?.error?.message));
  const ok = await client.messages.create({ model: "onprem", max_tokens: 4, messages: msg, restore_reasoning: false, thinking_budget: 2 });
  assert.equal(ok.type, "message");
});
await test("a stream waiting for a slot sends message_start, then pings", async () => {
  // Both slots busy with long generations: this stream queues, and says so.
  const busy = Array.from({ length: 4 }, () => fetch(`${base}/v1/messages`, { method: "POST", headers: { "x-api-key": "k1",
    "content-type": "application/json" }, body: JSON.stringify({ model: "onprem", max_tokens: 1000, ignore_eos: true, loop_guard: false,
    messages: [{ role: "user", content: "Go on" }] }) }).then((r) => r.text()));
  await new Promise((r) => setTimeout(r, 20));
  const r = await fetch(`${base}/v1/messages`, { method: "POST", headers: { "x-api-key": "k1", "content-type": "application/json" },
    body: JSON.stringify({ model: "onprem", max_tokens: 4, stream: true, messages: [{ role: "user", content: "Hi" }] }) });
  const names = [...(await r.text()).matchAll(/^event: (\w+)$/gm)].map((x) => x[1]);
  await Promise.all(busy);
  assert.equal(names[0], "message_start");
  assert.ok(names.indexOf("ping") > 0 && names.indexOf("ping") < names.indexOf("message_delta"), names.join(" "));
  assert.equal(names.at(-1), "message_stop");
});
await test("a loop-guard stop says so (stop_reason max_tokens, onprem_stop loop_guard)", async () => {
  // Greedy decoding of a random model repeats itself for some prompts; every answer must report
  // its stop consistently, and at least one of these must have been stopped by the guard.
  let guarded = 0;
  for (const p of "abcdefghijkl") {
    const m = await client.messages.create({ model: "onprem", max_tokens: 400, temperature: 0, ignore_eos: true, messages: [{ role: "user", content: p }] });
    const byGuard = m.onprem_stop === "loop_guard";
    if (byGuard) guarded++;
    assert.equal(byGuard, m.stop_reason === "max_tokens" && m.usage.output_tokens < 400, JSON.stringify([m.stop_reason, m.onprem_stop, m.usage]));
  }
  assert.ok(guarded > 0, "no prompt tripped the loop guard");
});
server.kill("SIGTERM");
for (const [s, n] of results) console.log(s, n);
const failed = results.filter(([s]) => s === "FAIL").length;
if (failed) console.log(log.slice(-2000));
process.exit(failed ? 1 : 0);
