// The committed default model (models/onprem-default-Q8_0.gguf, trained by tools/train): a real
// qwen35moe file that llama.cpp (node-llama-cpp) loads, tokenizes like us and computes the same
// logits for; and on held-out conversations the generator never produced for training, served
// without constrained decoding, tool-call turns call the right tools with schema-valid arguments
// (the committed file: 145 of 146), copy the question's values into them (the 90 %; the
// committed file: 93.8 %), answer with the results in the question's language (91.8 %, 100 %),
// and thinking-mode answers put their reasoning in reasoning_content. Half of the held-out tool results are compact
// JSON, as JavaScript clients send them, half spaced, as Python's json.dumps writes them. The
// README shows the demo's real output.
// Usage: node default_model.mjs ONPREM_BINARY WORK_DIR
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getLlama } from "node-llama-cpp";

const [onprem, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const model = path.join(root, "models", "onprem-default-Q8_0.gguf");
const results = [];
async function test(name, fn) {
  try { await fn(); results.push(["ok  ", name]); } catch (e) { results.push(["FAIL", `${name}: ${e.stack || e}`]); }
}
execFileSync("/usr/bin/python3", [path.join(root, "tools/train/corpus.py"), onprem, work, "--train", "0", "--heldout", "200", "--seed", "1",
  "--compact-json", "0.5"]);
const heldout = readFileSync(path.join(work, "heldout.jsonl"), "utf8");
const rendered = execFileSync(onprem, ["render-chat", "--jsonl"], { input: heldout }).toString().trim().split("\n").map((l) => JSON.parse(l).text);

await test("llama.cpp loads it, tokenizes like us and computes the same logits", async () => {
  const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
  const m = await llama.loadModel({ modelPath: model });
  const text = rendered.slice(0, 3).join("");
  const theirs = Array.from(m.tokenize(text, true));
  const ours = execFileSync(onprem, ["tokenize", "-m", model, "--special"], { input: text }).toString().trim().split(/\s+/).map(Number);
  assert.deepEqual(ours, theirs, "token ids");
  const ids = ours.slice(0, 600);
  writeFileSync(path.join(work, "ids.txt"), ids.join(" "));
  const ctx = await m.createContext({ contextSize: ids.length + 64, batchSize: ids.length, threads: 2, flashAttention: false,
    experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
  const res = await ctx.getSequence().controlledEvaluate(ids.map((t) => [t, { generateNext: { probabilities: true,
    options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]));
  await ctx.dispose();
  await m.dispose();
  await llama.dispose();
  execFileSync(onprem, ["logits", "-m", model, "--tokens", path.join(work, "ids.txt"), "--out", path.join(work, "logits.bin")]);
  const buf = readFileSync(path.join(work, "logits.bin"));
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  const nv = all.length / ids.length;
  let kl = 0, same = 0;
  for (let i = 0; i < ids.length; i++) {
    const row = all.subarray(i * nv, (i + 1) * nv);
    let mx = -Infinity;
    for (const v of row) mx = Math.max(mx, v);
    let s = 0;
    for (const v of row) s += Math.exp(v - mx);
    const lse = mx + Math.log(s);
    let ourTop = 0, refTop = -1, refP = -1;
    for (let t = 1; t < nv; t++) if (row[t] > row[ourTop]) ourTop = t;
    for (const [t, p] of res[i].next.probabilities) {
      if (p > refP) { refP = p; refTop = t; }
      if (p > 0) kl += p * (Math.log(p) - (row[t] - lse));
    }
    if (ourTop === refTop) same++;
  }
  console.log(`  ${ids.length} tokens: KL ${(kl / ids.length).toExponential(2)}, argmax ${(100 * same / ids.length).toFixed(1)} %`);
  assert.ok(kl / ids.length <= 2e-3 && same / ids.length >= 0.97);
});

await test("held-out tool calls through the server, without constrained decoding", async () => {
  const out = execFileSync("node", [path.join(root, "tools/train/eval_tools.mjs"), onprem, model, path.join(work, "heldout.jsonl"), "200"],
    { cwd: path.join(root, "tests") }).toString();
  console.log(out.trim().split("\n").map((l) => "  " + l).join("\n"));
  const r = JSON.parse(out.split("\n").find((l) => l.startsWith("report ")).slice(7));
  // The goal. The committed model reaches 99.3 % here (docs/default-model.md); greedy
  // decoding makes the figure exact for a given file and kernel set, and a CPU with other SIMD
  // kernels, rounding differently, may flip a marginal turn or two, not eleven.
  assert.ok(Number(r.all_three_pct) >= 90, `right tool with schema-valid arguments: ${r.all_three_pct} %`);
  assert.ok(Number(r.reasoning_in_reasoning_content_pct) >= 90, `reasoning in reasoning_content: ${r.reasoning_in_reasoning_content_pct} %`);
  // Copying: the 90 % exact values, which the committed file passes with 93.8 % (137 of
  // 146, docs/default-model.md); its answers: 91.8 / 100 / 90.4 %, and 91.8 % of turns have exact
  // values, results and language all at once. The answer thresholds are those less a margin for
  // kernels that round differently. The file before it (2,000 steps, no continuation) has 86.3 /
  // 76.0 / 99.3 / 69.2 / 72.6 % on these conversations.
  assert.ok(Number(r.exact_args_pct) >= 90, `exact argument values: ${r.exact_args_pct} %`);
  assert.ok(Number(r.answer_uses_result_pct) >= 88, `answers stating the results: ${r.answer_uses_result_pct} %`);
  assert.ok(Number(r.answer_in_question_language_pct) >= 95, `answers in the question's language: ${r.answer_in_question_language_pct} %`);
  assert.ok(Number(r.answer_as_reference_pct) >= 86, `answers word for word the reference: ${r.answer_as_reference_pct} %`);
  assert.ok(Number(r.exact_args_result_and_language_pct) >= 88,
    `exact values, results and language in one turn: ${r.exact_args_result_and_language_pct} %`);
});

await test("the README's transcript is what the first command's demo prints", async () => {
  const out = execFileSync("node", [path.join(root, "tools/train/demo.mjs"), onprem, model], { cwd: path.join(root, "tests") }).toString();
  const transcript = out.slice(out.indexOf("user: What's the weather")).trimEnd();
  assert.ok(transcript.includes("tool call: get_weather"), out);
  assert.ok(readFileSync(path.join(root, "README.md"), "utf8").includes(transcript), `README.md does not show the demo's output:\n${transcript}`);
});

for (const [s, n] of results) console.log(s, n);
process.exit(results.some(([s]) => s === "FAIL") ? 1 : 0);
