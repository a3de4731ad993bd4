// onprem bench and llama.cpp (through node-llama-cpp, which bundles it) on the same GGUF with
// the same threads and lengths; prints both and the ratios. Not part of CI.
// Usage (from tests/, where node_modules is): node ../bench/side_by_side.mjs ONPREM MODEL.gguf [-p 512] [-n 128] [-t 2]
//   [-v VOCAB] (prompt ids stay below it: 240000 suits the perf models' 248,320; 151000 the Qwen3 one)
//   [-fa 1] (llama.cpp with flash attention; node-llama-cpp's default is off)
//   [-calib TINY.gguf] (calibrate decode: see below)
// node-llama-cpp's JavaScript loop adds a per-token cost to decode (shared/benchmarks.md). With
// -calib, the script measures that loop on a model so small that its compute is negligible (the
// conformance set's qwen35-tiny-F32.gguf), subtracts the per-token time from llama.cpp's decode
// and prints the corrected figure beside the raw one. The tiny model's own compute stays in the
// correction, so the corrected llama.cpp figure is, if anything, slightly too fast.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(process.cwd() + "/");
const { getLlama } = await import(require.resolve("node-llama-cpp"));
const [onprem, modelPath, ...rest] = process.argv.slice(2);
const arg = (flag, dflt) => { const i = rest.indexOf(flag); return i >= 0 ? Number(rest[i + 1]) : dflt; };
const P = arg("-p", 512), N = arg("-n", 128), T = arg("-t", 2), VOCAB = arg("-v", 240000), FA = arg("-fa", 0) === 1;
const calibIndex = rest.indexOf("-calib");
const CALIB = calibIndex >= 0 ? rest[calibIndex + 1] : null;

const ours = JSON.parse(execFileSync(onprem, ["bench", "-m", modelPath, "-p", String(P), "-n", String(N), "-t", String(T), "-r", "3", "--json"]).toString());

const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath });
const tokens = Array.from({ length: P }, (_, i) => (i * 7919 + 13) % VOCAB);
const pp = [], tg = [];
for (let rep = 0; rep < 4; rep++) {
  // 512-token batches, as onprem bench (-b 512) and llama-bench (-ub 512) run them: one batch of a
  // 32K prompt would make llama.cpp build a 32K x 32K score matrix.
  const ctx = await model.createContext({ contextSize: P + N + 16, batchSize: Math.min(P, 512), threads: T,
    flashAttention: FA });
  const seq = ctx.getSequence();
  let t0 = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(tokens);
  const tp = (performance.now() - t0) / 1000;
  t0 = performance.now();
  let n = 0;
  for await (const _ of seq.evaluate([tokens[0]], { temperature: 0 })) if (++n >= N) break;
  const tt = (performance.now() - t0) / 1000;
  await ctx.dispose();
  if (rep > 0) pp.push(P / tp), tg.push(N / tt);
}
const med = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
const lpp = med(pp), ltg = med(tg);
// Seconds per token of the decode loop itself, on a model whose compute is negligible.
let overhead = 0;
if (CALIB) {
  const tiny = await llama.loadModel({ modelPath: CALIB });
  const per = [];
  for (let rep = 0; rep < 4; rep++) {
    const ctx = await tiny.createContext({ contextSize: N + 32, batchSize: 16, threads: T });
    const seq = ctx.getSequence();
    const t0 = performance.now();
    let n = 0;
    for await (const _ of seq.evaluate([1, 2, 3], { temperature: 0 })) if (++n >= N) break;
    const dt = (performance.now() - t0) / 1000;
    await ctx.dispose();
    if (rep > 0) per.push(dt / n);
  }
  overhead = med(per);
  await tiny.dispose();
}
console.log(`model ${modelPath}, ${T} threads, pp${P} / tg${N}`);
console.log(`            pp t/s    tg t/s`);
console.log(`onprem    ${ours.pp_tokens_per_s.toFixed(1).padStart(8)}  ${ours.tg_tokens_per_s.toFixed(1).padStart(8)}   (tg reads ${(ours.tg_bytes_per_token / 1e6).toFixed(0)} MB/token = ${(100 * ours.tg_bandwidth_fraction).toFixed(0)} % of ${ours.machine_read_gb_per_s.toFixed(1)} GB/s)`);
console.log(`llama.cpp ${lpp.toFixed(1).padStart(8)}  ${ltg.toFixed(1).padStart(8)}   (node-llama-cpp${FA ? ", flash attention" : ""}; its JS loop slows decode)`);
console.log(`ratio     ${(ours.pp_tokens_per_s / lpp).toFixed(2).padStart(8)}  ${(ours.tg_tokens_per_s / ltg).toFixed(2).padStart(8)}`);
if (CALIB) {
  const corrected = 1 / (1 / ltg - overhead);
  console.log(`llama.cpp decode less its loop's ${(1000 * overhead).toFixed(2)} ms per token (measured on ${CALIB}): ` +
    `${corrected.toFixed(1)} t/s; ratio ${(ours.tg_tokens_per_s / corrected).toFixed(2)}`);
}
await model.dispose();
await llama.dispose();
