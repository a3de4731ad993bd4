// Held-out evaluation of the default model through the real server and the official openai
// client, with no constrained decoding (tool_choice auto, greedy). Of the conversations whose next
// assistant turn is a tool call: how many produce calls that parse, name the right tools, carry
// schema-valid arguments, and carry exactly the question's values (names and numbers the training
// set never has); and, given the reference calls' results, how many answers state the results'
// values in the question's language. Of those in thinking mode, how many put their reasoning in
// reasoning_content. Run from tests/ (npm packages): node ../tools/train/eval_tools.mjs ONPREM MODEL HELDOUT.jsonl [N]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

// The npm packages live in tests/node_modules: resolve them from the working directory.
const require = createRequire(process.cwd() + "/");
const { default: OpenAI } = await import(require.resolve("openai"));

const [onprem, model, heldout, nArg = "200"] = process.argv.slice(2);
// A random port may be taken (other tests' servers, the agents' own): a server that exits at once
// could not bind it, so try another; one that never answers is an error, not a silent skip.
async function startServer() {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const server = spawn(onprem, ["serve", "-m", model, "--port", String(port), "--parallel", "2", "--ctx-size", "4096"], { stdio: "ignore" });
    let exited = false;
    server.on("exit", () => (exited = true));
    for (let i = 0; i < 300 && !exited; i++) {
      try { if ((await fetch(`http://127.0.0.1:${port}/health`)).ok && !exited) return { server, port }; } catch {}
      await new Promise((r) => setTimeout(r, 100));
    }
    server.kill();
  }
  throw new Error("onprem serve did not come up on any of 5 ports");
}
const { server, port } = await startServer();
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "x", maxRetries: 0 });

// JSON Schema subset the tools use: object, required, string, enum.
function valid(schema, v) {
  if (schema.type === "object") {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
    for (const k of schema.required ?? []) if (!(k in v)) return false;
    for (const [k, x] of Object.entries(v)) {
      const s = schema.properties?.[k];
      if (!s || !valid(s, x)) return false;
    }
    return true;
  }
  if (schema.type === "string") return typeof v === "string" && (!schema.enum || schema.enum.includes(v));
  return true;
}

const rows = readFileSync(heldout, "utf8").trim().split("\n").map((l) => JSON.parse(l)).slice(0, Number(nArg));
let answerTurns = 0, answerUsesResult = 0, answerLanguage = 0, answerAsReference = 0, wholeTurn = 0;
const copyMisses = [], answerMisses = [];
let exactArgs = 0, toolTurns = 0, parsed = 0, rightTool = 0, validArgs = 0, allGood = 0, thinkTurns = 0, thinkOk = 0, plainTurns = 0, plainNoCall = 0;
const failures = [];
async function answerTurn(r, firstAssistant, thinking) {
  // The answer turn: the conversation with the reference calls and their results, as a client
  // would send it after running the tools. The answer must carry the result's values (those the
  // reference answer states: the temperature, the sum, the engineer's name...) in the question's
  // language.
  const lastTool = r.messages.findLastIndex((m) => m.role === "tool");
  const reference = r.messages[lastTool + 1]?.content ?? "";
  const leaves = (v) => (v !== null && typeof v === "object" ? Object.values(v).flatMap(leaves) : [v]);
  const wanted = r.messages.slice(firstAssistant + 1, lastTool + 1).flatMap((m) => leaves(JSON.parse(m.content)))
    .filter((v) => typeof v !== "boolean" && reference.includes(String(v))).map(String);
  const fin = await client.chat.completions.create({ model: "onprem", messages: r.messages.slice(0, lastTool + 1), tools: r.tools,
    temperature: 0, max_tokens: 256, chat_template_kwargs: { enable_thinking: thinking } });
  const answer = fin.choices[0].message.content ?? "";
  answerTurns++;
  const korean = (t) => /[\uac00-\ud7a3]/.test(t);
  const usesResult = wanted.length > 0 && wanted.every((v) => answer.includes(v));
  // An answer with no letters ("773 + 850 = 1623.") has no language: it counts when the reference
  // answer has none either, and an empty or symbol-only answer to a sentence answer does not.
  const letters = (t) => /\p{L}/u.test(t);
  const sameLanguage = korean(r.messages[firstAssistant - 1].content) === korean(answer) && (letters(answer) || !letters(reference));
  if (usesResult) answerUsesResult++;
  // Stricter: the reference answer word for word. It also catches what the values check cannot,
  // such as a Korean answer with the wrong weather word (the result says "cloudy", the answer
  // must say 흐림).
  if (answer.trim() === reference.trim()) answerAsReference++;
  if (sameLanguage) answerLanguage++;
  return { usesResult, sameLanguage, wanted, answer };
}
async function one(r) {
  const firstAssistant = r.messages.findIndex((m) => m.role === "assistant");
  const messages = r.messages.slice(0, firstAssistant);
  const thinking = r.chat_template_kwargs?.enable_thinking;
  const res = await client.chat.completions.create({ model: "onprem", messages, tools: r.tools, temperature: 0, max_tokens: 256,
    chat_template_kwargs: { enable_thinking: thinking } });
  const msg = res.choices[0].message;
  if (thinking) { thinkTurns++; if ((msg.reasoning_content ?? "").trim().length > 0) thinkOk++; }
  if (!r.expect.tools.length) {
    if (r.tools) { plainTurns++; if (!msg.tool_calls?.length) plainNoCall++; }
    return;
  }
  toolTurns++;
  const { usesResult, sameLanguage, wanted, answer } = await answerTurn(r, firstAssistant, thinking);
  const calls = msg.tool_calls ?? [];
  if (!calls.length) { failures.push({ q: messages.at(-1).content, got: msg.content?.slice(0, 120) }); return; }
  let args;
  try { args = calls.map((c) => JSON.parse(c.function.arguments)); } catch { return; }
  parsed++;
  const names = calls.map((c) => c.function.name);
  const ok1 = JSON.stringify(names) === JSON.stringify(r.expect.tools);
  if (ok1) rightTool++;
  const schemas = Object.fromEntries(r.tools.map((t) => [t.function.name, t.function.parameters]));
  const ok2 = calls.every((c, i) => schemas[c.function.name] && valid(schemas[c.function.name], args[i]));
  if (ok2) validArgs++;
  // Beyond the goal: the values themselves, copied from the question (held-out cities, teams and
  // numbers never appear in training).
  const canon = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
  const exact = ok1 && args.length === r.expect.args.length && args.every((a, i) => canon(a) === canon(r.expect.args[i]));
  if (exact) exactArgs++;
  if (ok1 && ok2) allGood++;
  else failures.push({ q: messages.at(-1).content, want: r.expect.tools, got: names, args });
  if (!exact) copyMisses.push({ q: messages.at(-1).content, want: r.expect.args, got: args });
  if (exact && usesResult && sameLanguage) wholeTurn++;
  if (!(usesResult && sameLanguage)) answerMisses.push({ q: messages.at(-1).content, wanted, answer: answer.slice(0, 160) });
}
const queue = [...rows];
await Promise.all([0, 1].map(async () => { while (queue.length) await one(queue.shift()); }));
server.kill("SIGTERM");
const pct = (a, b) => (b ? (100 * a / b).toFixed(1) : "n/a");
const report = { tool_turns: toolTurns, parsed_pct: pct(parsed, toolTurns), right_tool_pct: pct(rightTool, toolTurns),
  schema_valid_pct: pct(validArgs, toolTurns), all_three_pct: pct(allGood, toolTurns), exact_args_pct: pct(exactArgs, toolTurns), thinking_turns: thinkTurns,
  answer_uses_result_pct: pct(answerUsesResult, answerTurns), answer_in_question_language_pct: pct(answerLanguage, answerTurns),
  answer_as_reference_pct: pct(answerAsReference, answerTurns),
  exact_args_result_and_language_pct: pct(wholeTurn, toolTurns),
  reasoning_in_reasoning_content_pct: pct(thinkOk, thinkTurns), plain_turns_with_tools: plainTurns, plain_no_call_pct: pct(plainNoCall, plainTurns) };
console.log("report " + JSON.stringify(report));
for (const f of failures.slice(0, 8)) console.log("miss:", JSON.stringify(f));
for (const f of copyMisses.slice(0, 6)) console.log("value miss:", JSON.stringify(f));
for (const f of answerMisses.slice(0, 6)) console.log("answer miss:", JSON.stringify(f));
