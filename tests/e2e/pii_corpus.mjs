// The adversarial personal-data corpus for the sovereignty guard: every field a client can send
// and the router forwards, in both API shapes, times the forms a detector can miss (encodings,
// Unicode look-alikes, invisible characters, spelled-out and split values). Each request carries
// a unique marker in the same string as the personal data, so an upstream log that contains the
// marker proves the value got through. Controls put a marker, without personal data, in the same
// fields: they must reach the upstream, or the test could not fail.
const b64 = (s) => Buffer.from(s, "utf8").toString("base64");

// Each form: [name, text containing the personal data].
export const emailForms = [
  ["plain", "jisoo.kim@example.com"],
  ["hangul local part", "김지수@example.com"],
  ["IDN domain", "jisoo@예시.한국"],
  ["full-width at", "jisoo＠example.com"],
  ["zero-width space before at", "jisoo\u200b@example.com"],
  ["soft hyphen inside", "ji\u00adsoo@exam\u00adple.com"],
  ["spelled out", "jisoo at example dot com"],
  ["bracketed", "jisoo [at] example [dot] com"],
  ["base64", b64("mail jisoo.kim@example.com")],
  ["url-encoded", "jisoo.kim%40example.com"],
  ["escaped", "jisoo\\u0040example.com"],
  ["spaces around at", "jisoo @ example.com"],
];
export const phoneForms = [
  ["hyphens", "010-2903-4529"],
  ["no separators", "01029034529"],
  ["international", "+821030044530"],
  ["international grouped", "+82 10 3004 4530"],
  ["full-width digits", "０１０-３２０６-４５３２"],
  ["dots", "010.3206.4532"],
  ["seoul landline", "(02) 3456-7890"],
  ["zero-width joiners", "010\u200d-2903\u200d-4529"],
];
export const rrnForms = [
  ["hyphen", "900101-1234567"],
  ["space", "900101 1234567"],
  ["full-width", "９００１０１－１２３４５６７"],
  ["post-2020 without hyphen", "2101013456789"],
  ["en dash", "900101\u20131234567"],
];
export const cardForms = [
  ["spaces", "4111 1111 1111 1111"],
  ["dots", "4111.1111.1111.1111"],
  ["full-width", "４１１１１１１１１１１１１１１１"],
  ["run", "5500000000000004"],
  ["hyphens", "5500-0000-0000-0004"],
];
const allForms = [
  ...emailForms.map(([n, v]) => ["email " + n, v]),
  ...phoneForms.map(([n, v]) => ["phone " + n, v]),
  ...rrnForms.map(([n, v]) => ["rrn " + n, v]),
  ...cardForms.map(([n, v]) => ["card " + n, v]),
];

const user = (t) => ({ role: "user", content: t });
const fn = (description, extra = {}) => ({ type: "function", function: { name: "lookup", description,
  parameters: { type: "object", properties: { q: { type: "string", ...extra } } } } });

// OpenAI-shaped placements: (text) -> { path, body }.
const openaiFields = {
  "user message": (t) => ({ body: { messages: [user(t)] } }),
  "content part": (t) => ({ body: { messages: [{ role: "user", content: [{ type: "text", text: t }] }] } }),
  "system message": (t) => ({ body: { messages: [{ role: "system", content: t }, user("hello")] } }),
  "developer message": (t) => ({ body: { messages: [{ role: "developer", content: t }, user("hello")] } }),
  "assistant message": (t) => ({ body: { messages: [user("hi"), { role: "assistant", content: t }, user("go on")] } }),
  "message name": (t) => ({ body: { messages: [{ role: "user", name: t, content: "hello" }] } }),
  "user field": (t) => ({ body: { messages: [user("hello")], user: t } }),
  "metadata": (t) => ({ body: { messages: [user("hello")], metadata: { user_id: t } } }),
  "tool description": (t) => ({ body: { messages: [user("hello")], tools: [fn(t)] } }),
  "schema enum": (t) => ({ body: { messages: [user("hello")], tools: [fn("find", { enum: [t, "other"] })] } }),
  "stop": (t) => ({ body: { messages: [user("hello")], stop: [t] } }),
  "image url": (t) => ({ body: { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `https://img.example/p?u=${encodeURIComponent(t)}` } }] }] } }),
  "response_format schema": (t) => ({ body: { messages: [user("hello")], response_format: { type: "json_schema",
    json_schema: { name: "r", schema: { type: "object", description: t, properties: { a: { type: "string" } } } } } } }),
  "tool call arguments": (t) => ({ body: { messages: [user("look up"), { role: "assistant", content: null,
    tool_calls: [{ id: "c1", type: "function", function: { name: "lookup", arguments: JSON.stringify({ q: t }).replace(/@/g, "\\u0040") } }] },
    { role: "tool", tool_call_id: "c1", content: "done" }], tools: [fn("find")] } }),
  "tool result": (t) => ({ body: { messages: [user("look up"), { role: "assistant", content: null,
    tool_calls: [{ id: "c1", type: "function", function: { name: "lookup", arguments: "{}" } }] },
    { role: "tool", tool_call_id: "c1", content: t }], tools: [fn("find")] } }),
  "completions prompt array": (t) => ({ path: "/v1/completions", body: { prompt: ["hello", t] } }),
  "completions prompt": (t) => ({ path: "/v1/completions", body: { prompt: t } }),
};

// Anthropic-shaped placements.
const anthropicFields = {
  "system string": (t) => ({ body: { system: t, messages: [user("hello")] } }),
  "system block": (t) => ({ body: { system: [{ type: "text", text: t }], messages: [user("hello")] } }),
  "text block": (t) => ({ body: { messages: [{ role: "user", content: [{ type: "text", text: t }] }] } }),
  "tool_use input": (t) => ({ body: { messages: [user("look up"), { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "lookup", input: { q: t } }] },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "done" }] }], tools: [{ name: "lookup", input_schema: { type: "object" } }] } }),
  "tool_result content": (t) => ({ body: { messages: [user("look up"), { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "lookup", input: {} }] },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: t }] }] }], tools: [{ name: "lookup", input_schema: { type: "object" } }] } }),
  "tool description": (t) => ({ body: { messages: [user("hello")], tools: [{ name: "lookup", description: t, input_schema: { type: "object" } }] } }),
  "input_schema enum": (t) => ({ body: { messages: [user("hello")], tools: [{ name: "lookup", input_schema: { type: "object", properties: { q: { type: "string", enum: [t] } } } }] } }),
  "stop_sequences": (t) => ({ body: { messages: [user("hello")], stop_sequences: [t] } }),
  "metadata user_id": (t) => ({ body: { messages: [user("hello")], metadata: { user_id: t } } }),
  "image source url": (t) => ({ body: { messages: [{ role: "user", content: [{ type: "image", source: { type: "url", url: `https://img.example/p?u=${encodeURIComponent(t)}` } }] }] } }),
  "document block": (t) => ({ body: { messages: [{ role: "user", content: [{ type: "document", source: { type: "text", media_type: "text/plain", data: t } }, { type: "text", text: "summarise" }] }] } }),
  "thinking block": (t) => ({ body: { messages: [user("hi"), { role: "assistant", content: [{ type: "thinking", thinking: t, signature: "s" }, { type: "text", text: "ok" }] }, user("go on")] } }),
};

// Every placement gets a rotating share of the forms, so that each form appears in several
// fields of both shapes and each field sees every kind of personal data.
export function corpus() {
  const attacks = [], controls = [];
  let n = 0;
  const mark = () => `zq${(n++).toString(36)}x${Math.random().toString(36).slice(2, 8)}`;
  const add = (shape, fields, perField) => {
    let k = 0;
    for (const [field, place] of Object.entries(fields)) {
      for (let j = 0; j < perField; j++, k++) {
        const [form, value] = allForms[(k * 7 + j) % allForms.length];
        const m = mark();
        const p = place(`contact ${value} ref ${m}`);
        attacks.push({ name: `${shape} ${field}: ${form}`, shape, path: p.path ?? (shape === "openai" ? "/v1/chat/completions" : "/v1/messages"),
          body: p.body, marker: m });
      }
      const c = mark();
      const p = place(`contact the platform team ref ${c}`);
      controls.push({ name: `${shape} ${field}: control`, shape, path: p.path ?? (shape === "openai" ? "/v1/chat/completions" : "/v1/messages"),
        body: p.body, marker: c });
    }
  };
  add("openai", openaiFields, 8);
  add("anthropic", anthropicFields, 7);
  // An address split across two messages, in both shapes.
  for (const shape of ["openai", "anthropic"]) {
    const m = mark();
    attacks.push({ name: `${shape} split across messages`, shape, path: shape === "openai" ? "/v1/chat/completions" : "/v1/messages", marker: m,
      body: { messages: [user(`write to jisoo.kim ${m}`), { role: "assistant", content: "and the domain?" }, user(`@example.com ${m}`)] } });
  }
  return { attacks, controls };
}

// Data-class labels in spellings a client might use: they must raise the class (or be refused),
// never be read as public.
export const labelCases = [
  { name: "header Confidential", headers: { "x-onprem-data-class": "Confidential" }, expect: "onprem" },
  { name: "header REGULATED", headers: { "x-onprem-data-class": "REGULATED" }, expect: "onprem" },
  { name: "header secret", headers: { "x-onprem-data-class": "secret" }, expect: 400 },
  { name: "metadata Regulated", metadata: { data_class: "Regulated" }, expect: "onprem" },
  { name: "metadata number", metadata: { data_class: 3 }, expect: 400 },
];
