// Prefix-cache hit rate on a multi-turn agent transcript: every turn resends the whole history
// (a long system prompt with tools, user turns, assistant turns with reasoning and tool calls,
// tool results), with and without preserve_thinking. Reports the share of prompt tokens served
// from the cache (server metrics) and fails below the target.
// Usage: node prefix_cache.mjs ONPREM_BINARY WORK_DIR [TURNS] [TARGET]
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import OpenAI from "openai";

const [onprem, work, turnsArg = "12", targetArg = "0.95"] = process.argv.slice(2);
const TURNS = Number(turnsArg), TARGET = Number(targetArg);
mkdirSync(work, { recursive: true });
const model = path.join(work, "cache-model.gguf");
execFileSync(onprem, ["gen-model", "--preset", "tiny-moe", "--type", "Q8_0", "-o", model], { stdio: "ignore" });
const tools = ["get_weather", "run_sql", "page_oncall"].map((name) => ({ type: "function", function: { name,
  description: `The ${name} tool. `.repeat(20), parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] } } }));
const system = "You are an SRE agent. Follow the runbook. ".repeat(60);

let failures = 0;
for (const preserve of [false, true]) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const server = spawn(onprem, ["serve", "-m", model, "--port", String(port), "--parallel", "2", "--ctx-size", "16384",
    "--snapshot-interval", "256"], { stdio: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${base}/health`)).ok) break; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "x", maxRetries: 0 });
  const metric = async (n) => Number((await (await fetch(`${base}/metrics`)).text()).match(new RegExp(`^${n} ([0-9.e+]+)$`, "m"))[1]);
  const messages = [{ role: "system", content: system }, { role: "user", content: "Disk alerts on db-3. Investigate." }];
  let firstPrompt = 0, cachedInUsage = 0;
  for (let t = 0; t < TURNS; t++) {
    const r = await client.chat.completions.create({ model: "onprem", messages, tools, max_tokens: 24, thinking_budget: 8,
      tool_choice: t % 3 === 2 ? "auto" : "required", chat_template_kwargs: { preserve_thinking: preserve } });
    if (t === 0) firstPrompt = r.usage.prompt_tokens;
    cachedInUsage += r.usage.prompt_tokens_details?.cached_tokens ?? NaN;  // what clients see of the reuse
    const m = r.choices[0].message;
    messages.push({ role: "assistant", content: m.content ?? "", reasoning_content: m.reasoning_content, tool_calls: m.tool_calls });
    if (m.tool_calls?.length) for (const c of m.tool_calls) messages.push({ role: "tool", tool_call_id: c.id, content: `result ${t}: ok` });
    else messages.push({ role: "user", content: `Next step ${t}.` });
  }
  const submitted = await metric("onprem_prompt_tokens_submitted_total");
  const reused = await metric("onprem_prefix_cache_reused_tokens_total");
  const rate = reused / submitted, rateAfterFirst = reused / (submitted - firstPrompt);
  const ok = rateAfterFirst >= TARGET && cachedInUsage === reused;
  if (!ok) failures++;
  console.log(`${ok ? "ok  " : "FAIL"} preserve_thinking=${preserve}: ${TURNS} turns, ${submitted} prompt tokens, ${reused} from the cache ` +
    `= ${(100 * rate).toFixed(1)} % (${(100 * rateAfterFirst).toFixed(1)} % of the tokens after the first request); ` +
    `usage.prompt_tokens_details.cached_tokens summed ${cachedInUsage}`);
  server.kill("SIGTERM");
}
process.exit(failures ? 1 : 0);
