// The forward pass against llama.cpp live (node-llama-cpp), on models gen-model makes at test
// time in shapes the public set does not have: other head counts and GQA ratios, DeltaNet head
// ratios, expert counts and top-k, vocabulary sizes, and prompts of 2,000+ tokens.
// llama.cpp gives the probabilities of every position (controlledEvaluate); we compare
// log-probabilities (F32: max |Δ| ≤ 1e-3, identical argmax) or, quantised, KL to llama.cpp and
// to the file's exact model (its weights decoded, float activations) against llama.cpp's own.
// Usage: node live_reference.mjs ONPREM_BINARY WORK_DIR [--full | --real-shapes [SHAPE:TYPE,...]]
// ONPREM_LIVE_DEVICE=vulkan:N: our logits from that Vulkan device (float activations), on the
// four shapes with F32 and Q4_K_M files and at most 128 tokens each (CI runs it on lavapipe, a CPU
// driver; the bars are the same).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { getLlama } from "node-llama-cpp";

const [onprem, work, flag, only] = process.argv.slice(2);  // only: NAME:TYPE,TYPE (--real-shapes)
const full = flag === "--full", real = flag === "--real-shapes";
mkdirSync(work, { recursive: true });

const shapes = [
  { name: "dense-gqa4", args: ["--preset", "tiny", "--heads", "8", "--heads-kv", "2", "--head-dim", "32", "--rope-dim", "16",
    "--ssm-groups", "4", "--ssm-v-heads", "8", "--ssm-state", "32", "--vocab-size", "1024"], tokens: 2100 },
  { name: "moe-8x3", args: ["--preset", "tiny-moe", "--experts", "8", "--experts-used", "3", "--heads", "6", "--heads-kv", "3",
    "--ssm-groups", "2", "--ssm-v-heads", "6", "--vocab-size", "700"], tokens: 600 },
  { name: "dense-mha-deep", args: ["--preset", "tiny", "--layers", "8", "--heads", "4", "--heads-kv", "4", "--head-dim", "64",
    "--rope-dim", "32", "--embd", "512", "--ff", "768", "--vocab-size", "2048"], tokens: 400 },
  { name: "moe-16x1-gqa2", args: ["--preset", "tiny-moe", "--experts", "16", "--experts-used", "1", "--heads", "4", "--heads-kv", "2",
    "--expert-ff", "128", "--shared-ff", "256", "--vocab-size", "512"], tokens: 2050 },
];
// --real-shapes: the 27B's and the 35B-A3B's own layer shapes (4 layers: 3 DeltaNet + 1 attention;
// the MoE with 32 of its 256 experts, each of its real size), the low-bit presets only.
if (real) shapes.splice(0, shapes.length,
  { name: "27b-4l", args: ["--preset", "27b", "--layers", "4", "--vocab-size", "1024"], tokens: 96, only: "lowbit" },
  { name: "35b-a3b-4l", args: ["--preset", "35b-a3b", "--layers", "4", "--experts", "32", "--vocab-size", "1024"], tokens: 96, only: "lowbit" });
if (real && only) shapes.splice(0, shapes.length, ...shapes.filter((s) => only.startsWith(s.name + ":")));
const device = process.env.ONPREM_LIVE_DEVICE;
if (device) for (const s of shapes) s.tokens = Math.min(s.tokens, 128);
const types = device ? ["F32", "Q4_K_M"] : full ? ["F32", "F16", "Q8_0", "Q6_K", "Q4_K_M"] : ["F32", "Q8_0", "Q4_K_M"];
// The presets written with the types below 4 bits, the older 32-value ones and the lattice ones (onprem quantize's
// fits, no importance matrix: gen-model's random weights have no activations to weigh), on the MoE
// shape and the GQA-4 dense shape (the 27B's ratio); on all four with --full. (The 8-layer dense
// shape amplifies rounding the most: Q8_0 agrees on 98.75 % of its argmaxes, IQ3_XXS on 96.5 %.)
const lowbit = ["Q2_K", "Q3_K_M", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q5_K_M", "IQ4_NL", "IQ4_XS", "MXFP4_MOE",
                "IQ3_XXS", "IQ3_S", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ1_S", "IQ1_M"];
const onlyTypes = (name) => only && only.startsWith(name + ":") ? only.slice(name.length + 1).split(",") : null;
const typesOf = (shape) => device ? types : shape.only === "lowbit" ? onlyTypes(shape.name) ?? lowbit : full || ["moe-8x3", "dense-gqa4"].includes(shape.name) ? [...types, ...lowbit] : types;

function rng(seed) {
  return () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
}

const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
let failures = 0;
for (const shape of shapes) {
  for (const type of typesOf(shape)) {
    const file = path.join(work, `${shape.name}-${type}.gguf`);
    // ONPREM_LIVE_REUSE=1 keeps a file an earlier run wrote (a 27B-shaped one takes minutes to write).
    if (!(process.env.ONPREM_LIVE_REUSE === "1" && existsSync(file)))
      execFileSync(onprem, ["gen-model", ...shape.args, "--type", type, "--seed", "5", "-o", file], { stdio: "ignore" });
    const model = await llama.loadModel({ modelPath: file });
    const r = rng(shape.tokens);
    const ids = Array.from({ length: shape.tokens }, () => Math.floor(r() * 300));
    const idsFile = path.join(work, "ids.txt");
    writeFileSync(idsFile, ids.join(" "));
    // F32 KV cache and no flash attention: the settings of the conformance goldens (llama.cpp defaults to F16).
    const ctx = await model.createContext({ contextSize: shape.tokens + 64, batchSize: shape.tokens, threads: 2,
      flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
    const seq = ctx.getSequence();
    const res = await seq.controlledEvaluate(ids.map((t) => [t, { generateNext: { probabilities: true,
      options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]));
    await ctx.dispose();
    await model.dispose();
    // Log-probabilities of every position, ours (int8 activations, as llama.cpp's CPU path) or the
    // file's own weights decoded exactly with float activations: the model this file stores.
    // With a device, ours come from it (its activations are f32, its KV cache f32 as the CPU's) and
    // the exact model from the CPU.
    const ourRows = (mode, acts, cpu = false) => {
      const out = path.join(work, "logits.bin");
      const where = device && !cpu ? ["--device", device, "--activations", "f32", "--kv-type", "f32"] : ["--activations", acts];
      execFileSync(onprem, ["logits", "-m", file, "--tokens", idsFile, "--out", out, "--mode", mode, ...where]);
      const buf = readFileSync(out);
      const all = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
      const nv = all.length / ids.length;
      return ids.map((_, i) => {
        const row = Float64Array.from(all.subarray(i * nv, (i + 1) * nv));
        let mx = -Infinity;
        for (const v of row) mx = Math.max(mx, v);
        let s = 0;
        for (const v of row) s += Math.exp(v - mx);
        const lse = mx + Math.log(s);
        return row.map((v) => v - lse);
      });
    };
    const argmax = (row) => row.reduce((b, v, t) => (v > row[b] ? t : b), 0);
    // KL(p || q) summed over the tokens llama.cpp reports (p as [token, probability] pairs).
    const klPairs = (pairs, q) => {
      let k = 0;
      for (const [t, p] of pairs) if (p > 0) k += p * (Math.log(p) - q[t]);
      return k;
    };
    const klRows = (p, q) => p.reduce((k, lp, t) => k + Math.exp(lp) * (lp - q[t]), 0);
    const exact = type === "F32" ? null : ourRows("batch", "f32", true);
    for (const mode of full ? ["batch", "incremental"] : ["batch"]) {
      const ours = ourRows(mode, "int8");
      let maxd = 0, same = 0, kl = 0, tiesSkipped = 0, klExactOurs = 0, klExactLlama = 0;
      for (let i = 0; i < ids.length; i++) {
        const row = ours[i], ref = res[i].next.probabilities;
        let refTop = -1, refP = -1, refSecond = -1;
        for (const [t, p] of ref) {
          if (p > refP) { refSecond = refP; refP = p; refTop = t; } else if (p > refSecond) refSecond = p;
          if (p > 1e-6) maxd = Math.max(maxd, Math.abs(row[t] - Math.log(p)));
        }
        kl += klPairs(ref, row);
        if (argmax(row) === refTop) same++;
        else if (Math.log(refP) - Math.log(refSecond) < 1e-3) tiesSkipped++;
        if (exact) {
          klExactOurs += klRows(exact[i], row);
          const llamaRow = new Float64Array(row.length).fill(-1e30);
          for (const [t, p] of ref) llamaRow[t] = Math.max(Math.log(p), -1e30);
          klExactLlama += klRows(exact[i], llamaRow);
        }
      }
      const n = ids.length, klMean = kl / n, agree = same / n;
      // F32: llama.cpp's logits to 1e-3. Quantised: near llama.cpp (KL ≤ 2e-3, which also holds our
      // decoders to its own), and no further from the file's exact model than llama.cpp is, by
      // ../shared/conformance's rule for quantised files (KL ≤ 1.25 × llama.cpp's + 1e-4).
      // int8 activations round each value to 1/127 of its block's largest: two engines whose sums
      // differ in the last bit round some values differently, so they differ from each other about
      // as much as each differs from the exact model, and top-1 agreement on near-ties is a coin
      // flip. It is printed, not judged.
      // A device computes the exact model (float activations): within float rounding of the CPU's
      // (KL ≤ 1e-5), and as close to llama.cpp as the exact model is (its int8 activations move
      // it; on a top-1 MoE they can change an expert, so 2e-3 alone would not hold).
      const ok = type === "F32"
        ? maxd <= 1e-3 && same + tiesSkipped === n
        : device
          ? klExactOurs / n <= 1e-5 && (klMean <= 2e-3 || klMean <= 1.25 * (klExactLlama / n) + 1e-4)
          : klMean <= 2e-3 && klExactOurs / n <= 1.25 * (klExactLlama / n) + 1e-4;
      if (!ok) failures++;
      console.log(`${ok ? "ok  " : "FAIL"} ${shape.name} ${type} ${mode} ${n} tokens: max|Δlogprob| ${maxd.toExponential(2)}` +
        ` argmax ${(agree * 100).toFixed(2)}% KL ${klMean.toExponential(2)}` +
        (exact ? ` KL to the exact model: ours ${(klExactOurs / n).toExponential(2)}, llama.cpp ${(klExactLlama / n).toExponential(2)}` : ""));
    }
  }
}
await llama.dispose();
process.exit(failures ? 1 : 0);
