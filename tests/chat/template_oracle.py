#!/usr/bin/env python3
"""The chat template oracle: a generated corpus of conversations rendered by python3-jinja2 from
shared/spec/templates/qwen3.6.jinja (and qwen3.5.jinja), the way Hugging Face's apply_chat_template
does it (sandboxed environment, trim_blocks/lstrip_blocks, tojson = json.dumps(ensure_ascii=False)),
compared byte for byte with `onprem render-chat --jsonl`: the built-in renderer, and onprem's own
Jinja interpreter (`--template`) on both official templates and on modified variants as hub uploads
patch them (another tool-call block, an added role, other filters and loop forms).
Usage: template_oracle.py ONPREM SHARED_DIR [N_CONVERSATIONS]"""
import os
import tempfile
import json
import random
import subprocess
import sys

import jinja2
import jinja2.ext
import jinja2.sandbox

onprem, shared = sys.argv[1], sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 400


def environment():
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                       extensions=[jinja2.ext.loopcontrols])

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


TEXTS = ["Hello", "What is 2+2?", "  padded with spaces  ", "", "\n\nleading newlines", "안녕하세요! 오늘 날씨 어때요?",
         "日本語のテキスト", "emoji 🚀🔥 and ZWJ 👨‍👩‍👧", "code:\n```python\nprint('hi')\n```", "tabs\tand\u00a0nbsp\u3000ideographic",
         "<tool_response>\nfake\n</tool_response>", "quote \" and backslash \\ and <tags>", "Line1\nLine2\n", "x" * 50,
         "Ünïcödé façade", "ends with newline\n", "\u2028separator\u2029", "mixed 한국어 English 中文"]
REASONING = ["Simple sum.", "  needs the tool  ", "", "多步推理\n第二步", "I should call get_weather.", "\nthink\n"]
VALUES = ["Paris", "서울", 2, -7, 3.5, 1e-05, 1e16, 0.1, True, False, None, [1, "two", 3.0], {"a": 1, "b": [True, None]},
          "multi\nline\nvalue", "", "  spaced  ", 12345678901234, 2.0]


def tool(rng, i):
    props = {}
    for k in range(rng.randint(0, 3)):
        t = rng.choice(["string", "integer", "number", "boolean", "array", "object"])
        p = {"type": t, "description": rng.choice(["a value", "숫자", "with \"quotes\"", "min 0.5"])}
        if t == "number" and rng.random() < 0.5:
            p["minimum"] = rng.choice([0.5, 1e-5, 100.0, 2])
        if t == "string" and rng.random() < 0.3:
            p["enum"] = ["a", "b", "ç"]
        props[f"arg{k}"] = p
    fn = {"name": f"tool_{i}", "description": rng.choice(["Current weather", "Runs SQL", "Pages on-call", "계산기"]),
          "parameters": {"type": "object", "properties": props, "required": list(props)[:1]}}
    return {"type": "function", "function": fn} if rng.random() < 0.8 else fn


def content(rng):
    r = rng.random()
    if r < 0.7:
        return rng.choice(TEXTS)
    if r < 0.8:
        return None
    parts = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        if kind < 0.6:
            parts.append({"type": "text", "text": rng.choice(TEXTS)})
        elif kind < 0.8:
            parts.append({"type": "image_url", "image_url": {"url": "http://x/y.png"}})
        else:
            parts.append({"type": "video", "video": "v.mp4"})
    return parts


def tool_calls(rng, tools):
    calls = []
    for _ in range(rng.randint(1, 3)):
        args = {}
        for k in range(rng.randint(0, 3)):
            args[rng.choice(["city", "days", "query", "flag", f"p{k}"])] = rng.choice(VALUES)
        name = rng.choice([t.get("function", t)["name"] for t in tools]) if tools else "unknown_fn"
        fn = {"name": name, "arguments": json.dumps(args, ensure_ascii=False) if rng.random() < 0.7 else args}
        calls.append({"id": f"call_{rng.randint(0, 999)}", "type": "function", "function": fn} if rng.random() < 0.85 else fn)
    return calls


def conversation(rng, i):
    tools = [tool(rng, k) for k in range(rng.randint(1, 3))] if rng.random() < 0.5 else []
    msgs = []
    if rng.random() < 0.6:
        msgs.append({"role": "system", "content": rng.choice(TEXTS + ["You are a helpful assistant."]) if rng.random() < 0.9 else
                     [{"type": "text", "text": "sys part"}]})
    for turn in range(rng.randint(1, 4)):
        msgs.append({"role": "user", "content": content(rng)})
        for step in range(rng.randint(0, 2)):
            a = {"role": "assistant"}
            r = rng.random()
            if r < 0.4:
                a["reasoning_content"] = rng.choice(REASONING)
                a["content"] = rng.choice(TEXTS)
            elif r < 0.6:
                a["content"] = "<think>\n" + rng.choice(REASONING) + "\n</think>\n\n" + rng.choice(TEXTS)
            elif r < 0.7:
                a["content"] = rng.choice(REASONING) + "</think>" + rng.choice(TEXTS)
            else:
                a["content"] = rng.choice(TEXTS) if rng.random() < 0.8 else None
            if rng.random() < 0.5:
                a["tool_calls"] = tool_calls(rng, tools)
                msgs.append(a)
                for _ in range(len(a["tool_calls"]) if rng.random() < 0.8 else 1):
                    msgs.append({"role": "tool", "tool_call_id": "x", "content": rng.choice(TEXTS + ['{"temp_c": 18, "sky": "cloudy"}'])})
            else:
                msgs.append(a)
    # Malformed on purpose, now and then: the template refuses these.
    r = rng.random()
    if r < 0.03:
        msgs = [m for m in msgs if m["role"] != "user"] or [{"role": "assistant", "content": "hi"}]
    elif r < 0.05:
        msgs.append({"role": "system", "content": "late system"})
    elif r < 0.06:
        msgs.append({"role": "developer", "content": "dev"})
    elif r < 0.07:
        msgs = []
    body = {"messages": msgs}
    if tools:
        body["tools"] = tools
    kw = {}
    for key, choices in [("enable_thinking", [True, False, None]), ("preserve_thinking", [True, False, None]),
                         ("add_vision_id", [True, None, None])]:
        v = rng.choice(choices)
        if v is not None:
            kw[key] = v
    if kw:
        body["chat_template_kwargs"] = kw
    if rng.random() < 0.15:
        body["add_generation_prompt"] = False
    return body


def render(template, body):
    msgs = json.loads(json.dumps(body["messages"]))
    for m in msgs:  # servers parse the OpenAI arguments string before templating
        for c in m.get("tool_calls") or []:
            fn = c.get("function", c)
            if isinstance(fn.get("arguments"), str):
                fn["arguments"] = json.loads(fn["arguments"])
    kw = dict(body.get("chat_template_kwargs", {}))
    try:
        text = template.render(messages=msgs, tools=body.get("tools"),
                               add_generation_prompt=body.get("add_generation_prompt", True), **kw)
        return {"ok": True, "text": text}
    except Exception as e:  # noqa: BLE001 - any template failure is an expected "error"
        return {"ok": False, "error": str(e)}


def variants(shared):
    """Modified templates: each edit must change the official one (asserted), so that the
    interpreter is checked on text the built-in renderer never saw."""
    base = open(f"{shared}/spec/templates/qwen3.6.jinja").read()
    out = {}
    # A changed tool-call block: JSON calls in <tool_call> tags (the Qwen2.5 / Hermes form) with
    # the arguments through tojson, the count of calls in a namespace and a loop filter.
    edit = base.replace("""                {%- if tool_call.arguments is defined %}
                    {%- for args_name, args_value in tool_call.arguments|items %}
                        {{- '<parameter=' + args_name + '>\\n' }}
                        {%- set args_value = args_value | tojson | safe if args_value is mapping or (args_value is sequence and args_value is not string) else args_value | string %}
                        {{- args_value }}
                        {{- '\\n</parameter>\\n' }}
                    {%- endfor %}
                {%- endif %}""", """                {{- '{"name": "' ~ tool_call.name ~ '", "arguments": ' ~ (tool_call.arguments | tojson if tool_call.arguments is defined else '{}') ~ '}\\n' }}
                {%- for k, v in (tool_call.arguments if tool_call.arguments is mapping else {}) | items if v is not none %}
                    {{- '# ' ~ loop.index ~ '/' ~ loop.length ~ ' ' ~ k|upper ~ '=' ~ v|string|replace('\\n', ' ') ~ '\\n' }}
                {%- else %}
                    {{- '# no arguments\\n' }}
                {%- endfor %}""")
    out["tool-call-block"] = edit
    # An added role: developer messages render as system turns where they stand, a dict-method /
    # slicing / string-method workout in the user turn, and tools as indented JSON.
    edit = base.replace("""    {%- elif message.role == "user" %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}""", """    {%- elif message.role == "developer" %}
        {{- '<|im_start|>system\\n' + content|trim + '<|im_end|>\\n' }}
    {%- elif message.role == "user" %}
        {%- set words = content.split() %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}
        {%- if words|length > 3 %}{{- '(' ~ words[:2]|join(' ') ~ ' … ' ~ words[-1] ~ ', ' ~ content.count(' ') ~ ' spaces, ' ~ content[::2]|length ~ ')\\n' }}{%- endif %}
        {%- if message.get('name', none) is not none %}{{- 'name=' ~ message.get('name') ~ '\\n' }}{%- endif %}""")
    edit = edit.replace("""{%- if ns.multi_step_tool %}""", """{%- set ns.developer = messages | selectattr('role', 'equalto', 'developer') | list | length %}
{%- if ns.multi_step_tool %}""")
    edit = edit.replace("{{- tool | tojson }}", "{{- tool | tojson(indent=2) }}")  # as Llama-style templates write tools
    out["developer-role"] = edit
    for name, text in out.items():
        assert text != base and text.count("\n") > base.count("\n") - 5, f"variant {name} did not apply"
    return out


def compare(label, bodies, want, got):
    failures = 0
    n_ok = sum(1 for w in want if w["ok"])
    for i, (w, g) in enumerate(zip(want, got)):
        same = w["ok"] == g["ok"] and (not w["ok"] or w["text"] == g["text"])
        if not same:
            failures += 1
            if failures <= 5:
                print(f"MISMATCH {label} #{i}: {json.dumps(bodies[i], ensure_ascii=False)[:400]}")
                print("  want:", json.dumps(w, ensure_ascii=False)[:600])
                print("  got: ", json.dumps(g, ensure_ascii=False)[:600])
    print(f"{label}: {len(bodies)} conversations ({n_ok} rendered, {len(bodies) - n_ok} refused by the template): "
          f"{len(bodies) - failures} identical")
    return failures


def run_onprem(args, bodies):
    proc = subprocess.run([onprem, "render-chat", "--jsonl", *args], input="\n".join(
        json.dumps(b, ensure_ascii=False) for b in bodies) + "\n", capture_output=True, text=True, check=True)
    got = [json.loads(line) for line in proc.stdout.split("\n") if line]
    assert len(got) == len(bodies), (len(got), len(bodies))
    return got


def main():
    env = environment()
    rng = random.Random(20261129)
    bodies = [conversation(rng, i) for i in range(N)]
    # For the added-role variant: developer messages and user names now and then.
    with_roles = json.loads(json.dumps(bodies))
    for i, b in enumerate(with_roles):
        if i % 7 == 3 and b["messages"]:
            b["messages"].insert(min(1, len(b["messages"])), {"role": "developer", "content": "  Be brief.  "})
        if i % 5 == 1:
            for m in b["messages"]:
                if m.get("role") == "user":
                    m["name"] = "jisoo"
    failures = 0
    templates = {flavor: open(f"{shared}/spec/templates/{flavor}.jinja").read() for flavor in ["qwen3.6", "qwen3.5"]}
    for flavor, text in templates.items():
        want = [render(env.from_string(text), b) for b in bodies]
        failures += compare(f"{flavor} (built-in renderer)", bodies, want, run_onprem(["--flavor", flavor], bodies))
        failures += compare(f"{flavor} (onprem's Jinja interpreter)", bodies, want,
                            run_onprem(["--template", f"{shared}/spec/templates/{flavor}.jinja"], bodies))
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in variants(shared).items():
            path = os.path.join(tmp, name + ".jinja")
            with open(path, "w") as f:
                f.write(text)
            inputs = with_roles if name == "developer-role" else bodies
            want = [render(env.from_string(text), b) for b in inputs]
            failures += compare(f"{name} variant (onprem's Jinja interpreter)", inputs, want, run_onprem(["--template", path], inputs))
    failures += serve_with_file_template(env, bodies)
    return 1 if failures else 0


def serve_with_file_template(env, bodies):
    """`onprem serve --chat-template file` on a model whose GGUF carries another template (the
    conformance model's plain ChatML one): the prompt the server builds must be jinja2's rendering
    of that template, token for token (usage.prompt_tokens against `onprem tokenize --special`)."""
    import time
    import urllib.request
    gguf = f"{shared}/conformance/models/qwen35-tiny-F32.gguf"
    info = subprocess.run([onprem, "inspect", gguf, "--no-tensors", "--metadata"], capture_output=True, text=True, check=True).stdout
    assert "differs from the built-in Qwen3.6 format" in info, "the conformance model was expected to carry another template"
    template = env.from_string(read_gguf_template(gguf))
    port = random.Random().randint(20000, 40000)
    proc = subprocess.Popen([onprem, "serve", "-m", gguf, "--port", str(port), "--chat-template", "file", "--ctx-size", "4096"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        checked = failures = 0
        for b in bodies:
            msgs = [m for m in b["messages"] if m.get("role") in ("system", "user", "assistant") and isinstance(m.get("content"), str)
                    and "tool_calls" not in m and "reasoning_content" not in m]
            if not msgs or msgs[-1]["role"] != "user" or checked == 12:
                continue
            want = template.render(messages=msgs, add_generation_prompt=True, tools=None)
            ids = subprocess.run([onprem, "tokenize", "-m", gguf, "--special"], input=want, capture_output=True, text=True, check=True).stdout.split()
            req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", method="POST",
                                         headers={"content-type": "application/json"},
                                         data=json.dumps({"messages": msgs, "max_tokens": 1, "restore_reasoning": False}).encode())
            got = json.load(urllib.request.urlopen(req, timeout=60))["usage"]["prompt_tokens"]
            checked += 1
            if got != len(ids):
                failures += 1
                print(f"MISMATCH serve --chat-template file: prompt_tokens {got}, jinja2's prompt has {len(ids)} tokens: {json.dumps(msgs)[:300]}")
        print(f"serve --chat-template file: {checked} conversations, {checked - failures} prompts as jinja2 renders the file's template")
        return failures + (checked < 8)
    finally:
        proc.terminate()
        proc.wait()


def read_gguf_template(path):
    """tokenizer.chat_template of a GGUF, read with the format's own layout (spec/formats.md)."""
    import struct
    with open(path, "rb") as f:
        data = f.read(1 << 22)
    off = 8
    n_tensors, n_kv = struct.unpack_from("<QQ", data, off)
    off += 16
    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def read_str(o):
        n = struct.unpack_from("<Q", data, o)[0]
        return data[o + 8:o + 8 + n].decode(), o + 8 + n

    def skip(t, o):
        if t == 8:
            return read_str(o)[1]
        if t == 9:
            et, n = struct.unpack_from("<IQ", data, o)
            o += 12
            for _ in range(n):
                o = skip(et, o)
            return o
        return o + sizes[t]

    for _ in range(n_kv):
        key, off = read_str(off)
        t = struct.unpack_from("<I", data, off)[0]
        off += 4
        if key == "tokenizer.chat_template":
            return read_str(off)[0]
        off = skip(t, off)
    raise RuntimeError("no tokenizer.chat_template")


if __name__ == "__main__":
    sys.exit(main())
