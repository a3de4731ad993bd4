#!/usr/bin/env python3
"""Layer-by-layer conformance: our observer dump (onprem logits --dump) against the float64 numpy
reference forward pass of shared/conformance/ref_forward.py (written from the Hugging Face
semantics, not from llama.cpp), for the F32 tiny models, every named intermediate the reference
also has, token by token. Usage: layer_conformance.py ONPREM SHARED_DIR WORK_DIR"""
import os
import struct
import subprocess
import sys

import numpy as np

onprem, shared, work = sys.argv[1:4]
sys.path.insert(0, os.path.join(shared, "conformance"))
import ref_forward as ref  # noqa: E402

N_TOKENS = 24


def read_dump(path):
    recs = {}
    with open(path, "rb") as f:
        while True:
            h = f.read(4)
            if not h:
                break
            (n,) = struct.unpack("<I", h)
            name = f.read(n).decode()
            layer, rows, cols = struct.unpack("<iqq", f.read(20))
            data = np.frombuffer(f.read(rows * cols * 4), dtype=np.float32).reshape(rows, cols)
            recs.setdefault((name, layer), []).append(data)
    return {k: np.concatenate(v) for k, v in recs.items()}


def reference(model_path, ids):
    """Runs the reference token by token, capturing the same named intermediates."""
    m = ref.Model(model_path)
    out = {}
    put = lambda name, layer, v: out.setdefault((name, layer), []).append(np.asarray(v, dtype=np.float64).reshape(-1))
    for tok in ids:
        T = m.T
        x = T["token_embd.weight"][tok].copy()
        put("inp_embd", -1, x)
        for il in range(m.L):
            p = f"blk.{il}."
            h = ref.rms(x, T[p + "attn_norm.weight"], m.eps)
            put("attn_norm", il, h)
            y = m.linear(il, h) if m.is_recr(il) else m.attn(il, h)
            put("gdn_out" if m.is_recr(il) else "attn_out", il, y)
            x = x + y
            h = ref.rms(x, T[p + "post_attention_norm.weight"], m.eps)
            put("ffn_norm", il, h)
            f = m.ffn(il, h)
            put("ffn_out", il, f)
            x = x + f
            put("l_out", il, x)
        m.pos += 1
        put("result_output", -1, m.out @ ref.rms(x, T["output_norm.weight"], m.eps))
    return {k: np.stack(v) for k, v in out.items()}


def main():
    os.makedirs(work, exist_ok=True)
    ids = open(os.path.join(shared, "conformance/prompts/p64.ids")).read().split()[:N_TOKENS]
    ids_path = os.path.join(work, "ids.txt")
    open(ids_path, "w").write(" ".join(ids))
    worst = 0.0
    for name in ["qwen35-tiny-F32", "qwen35moe-tiny-F32"]:
        model = os.path.join(shared, "conformance/models", name + ".gguf")
        dump = os.path.join(work, name + ".dump")
        for mode in ["incremental", "batch"]:
            subprocess.run([onprem, "logits", "-m", model, "--tokens", ids_path, "--out", os.path.join(work, "l.bin"),
                            "--mode", mode, "--dump", dump], check=True)
            ours = read_dump(dump)
            want = reference(model, [int(t) for t in ids])
            for key, w in want.items():
                assert key in ours, f"{name}: our dump has no {key}"
                o = ours[key].astype(np.float64)
                assert o.shape == w.shape, f"{name} {key}: shape {o.shape} vs {w.shape}"
                # Relative to the size of the values: f32 against float64.
                err = np.abs(o - w).max() / max(1e-6, np.abs(w).max())
                worst = max(worst, err)
                if err > 1e-4:
                    print(f"FAIL {name} {mode} {key}: max relative error {err:.3g}")
                    return 1
            print(f"{name} {mode}: {len(want)} intermediates x {N_TOKENS} tokens agree with the float64 reference")
    print(f"worst relative error {worst:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
