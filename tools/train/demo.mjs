// The README's first command ends here: `onprem serve` on the trained default model, and a short
// conversation through the official openai client — a greeting, a tool call whose result the
// demo computes and sends back, reasoning in thinking mode, and Korean.
// Run from tests/ (npm packages): node ../tools/train/demo.mjs ONPREM MODEL
import { spawn } from "node:child_process";
import { createRequire } from "node:module";

// The npm packages live in tests/node_modules: resolve them from the working directory.
const require = createRequire(process.cwd() + "/");
const { default: OpenAI } = await import(require.resolve("openai"));

const [onprem, model] = process.argv.slice(2);
const port = 20000 + Math.floor(Math.random() * 20000);
const server = spawn(onprem, ["serve", "-m", model, "--port", String(port), "--parallel", "1", "--ctx-size", "4096"], { stdio: "ignore" });
for (let i = 0; i < 200; i++) {
  try { if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break; } catch {}
  await new Promise((r) => setTimeout(r, 100));
}
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "local", maxRetries: 0 });
const tools = [
  { type: "function", function: { name: "get_weather", description: "Current weather for a city",
    parameters: { type: "object", properties: { city: { type: "string", description: "City name" },
      unit: { type: "string", enum: ["celsius", "fahrenheit"] } }, required: ["city"] } } },
  { type: "function", function: { name: "calculate", description: "Evaluate an arithmetic expression",
    parameters: { type: "object", properties: { expression: { type: "string", description: "For example 12 * (3 + 4)" } }, required: ["expression"] } } },
];
// The demo's own tool implementations.
const run = {
  get_weather: ({ city }) => ({ city, temperature: 18, unit: "C", condition: "cloudy" }),
  calculate: ({ expression }) => ({ result: /^[\d\s+\-*()]+$/.test(expression) ? Function(`return (${expression})`)() : null }),
};

// Results go back as JSON.stringify writes them ({"a":1}), as any JavaScript client sends them; the
// default model was trained on that form and on Python's json.dumps spacing ({"a": 1}), and reads both.

async function turn(messages, thinking) {
  const r = await client.chat.completions.create({ model: "onprem", messages, tools, temperature: 0, max_tokens: 200,
    chat_template_kwargs: { enable_thinking: thinking } });
  return r.choices[0].message;
}
async function conversation(question, thinking) {
  console.log(`\nuser: ${question}${thinking ? "   (thinking on)" : ""}`);
  const messages = [{ role: "user", content: question }];
  for (let step = 0; step < 3; step++) {
    const m = await turn(messages, thinking);
    if (m.reasoning_content) console.log(`  reasoning: ${m.reasoning_content.trim()}`);
    if (!m.tool_calls?.length) { console.log(`assistant: ${m.content}`); return; }
    messages.push({ role: "assistant", content: m.content ?? "", tool_calls: m.tool_calls });
    for (const c of m.tool_calls) {
      const args = JSON.parse(c.function.arguments);
      const result = run[c.function.name] ? run[c.function.name](args) : { error: "unknown tool" };
      console.log(`  tool call: ${c.function.name}(${c.function.arguments}) -> ${JSON.stringify(result)}`);
      messages.push({ role: "tool", tool_call_id: c.id, content: JSON.stringify(result) });
    }
  }
}
try {
  await conversation("Hello!", false);
  await conversation("What's the weather in Seoul?", false);
  await conversation("What is 12 * 34?", true);
  await conversation("부산 날씨 어때?", false);
} finally {
  server.kill("SIGTERM");
}
