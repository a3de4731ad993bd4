#!/usr/bin/env python3
"""Constrained decoding end to end: 60 generated JSON Schemas; for each, a random-weight model
(the conformance tiny model) generates under the schema's grammar at temperature 1, and the
output must parse and validate under the schema with the independent `jsonschema` package.
Usage: constrained_json.py ONPREM SHARED_DIR WORK_DIR"""
import json
import os
import random
import subprocess
import sys

import jsonschema

onprem, shared, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
rng = random.Random(11)


def schema(depth=0):
    kinds = ["string", "integer", "number", "boolean", "null", "enum", "const"]
    if depth < 2:
        kinds += ["object", "object", "array", "anyOf", "types"]
    k = rng.choice(kinds)
    if k == "string":
        s = {"type": "string", "maxLength": rng.randint(0, 12)}
        if rng.random() < 0.3:
            s["minLength"] = rng.randint(0, s["maxLength"])
        return s
    if k in ("integer", "number"):
        s = {"type": k}
        if rng.random() < 0.4:
            s["minimum"] = 0
        return s
    if k == "boolean" or k == "null":
        return {"type": k}
    if k == "enum":
        return {"enum": rng.sample(["a", "b", "c", 1, 2.5, True, None, "한국", [1, 2], {"x": 1}], rng.randint(1, 4))}
    if k == "const":
        return {"const": rng.choice(["fixed", 42, False, {"k": [1, "v"]}])}
    if k == "object":
        props = {f"p{i}_{rng.choice(['id', 'name', '값', 'v'])}": schema(depth + 1) for i in range(rng.randint(0, 4))}
        req = [p for p in props if rng.random() < 0.6]
        s = {"type": "object", "properties": props}
        if req:
            s["required"] = req
        return s
    if k == "array":
        s = {"type": "array", "items": schema(depth + 1), "maxItems": rng.randint(0, 3)}
        if rng.random() < 0.4:
            s["minItems"] = rng.randint(0, s["maxItems"])
        return s
    if k == "anyOf":
        return {"anyOf": [schema(depth + 1) for _ in range(rng.randint(1, 3))]}
    return {"type": rng.sample(["string", "integer", "boolean", "null"], rng.randint(1, 3)), "maxLength": 8}


def main():
    model = os.path.join(shared, "conformance/models/qwen35-tiny-F32.gguf")
    failures = 0
    n = 60
    for i in range(n):
        s = {"type": "object", "properties": {"answer": schema(), "extra": schema()}, "required": ["answer"]} if i % 2 else schema()
        path = os.path.join(work, f"schema_{i}.json")
        json.dump(s, open(path, "w"), ensure_ascii=False)
        proc = subprocess.run([onprem, "run", "-m", model, "-p", "<|im_start|>user\nJSON please<|im_end|>\n<|im_start|>assistant\n",
                               "--json-schema", path, "--output-only", "--temp", "1", "--top-k", "0", "--top-p", "1",
                               "--seed", str(i), "-n", "3000", "--no-loop-guard"], capture_output=True)
        out = proc.stdout.decode("utf-8", errors="strict")
        try:
            if proc.returncode != 0:
                raise ValueError(proc.stderr.decode()[-300:])
            jsonschema.validate(json.loads(out), s)
        except Exception as e:  # noqa: BLE001
            failures += 1
            print(f"FAIL schema {i}: {json.dumps(s, ensure_ascii=False)}\n  output: {out!r}\n  {e}")
    print(f"{n - failures}/{n} constrained outputs of a random-weight model validate under their schema")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
