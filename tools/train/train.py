#!/usr/bin/python3
"""Builds onprem's default model: vocabulary, training, export.

  train.py vocab   WORK            learn the BPE vocabulary from WORK/train.rendered.jsonl
  train.py check   WORK ONPREM     a random-init model exported and run by the engine: logits must match
  train.py train   WORK ONPREM [--steps N] [--seed S]   train, export WORK/model-F32.gguf
                   [--init-from F32.gguf --skip-batches N]  continue a training N steps in

Deterministic for a given seed and thread count (torch on CPU, 2 threads).
"""
import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import time

# Torch's OpenMP threads and OpenBLAS's own threads share the two cores; with OpenMP's default
# spin-waiting, the idle pool burns the core the other needs (a third of the run was system time).
# Passive waiting changes only who sleeps, never an addition's order, and halves the step time.
# It must be set before torch loads libgomp.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import gguf_read  # noqa: E402
import gguf_write  # noqa: E402
from model import Config, Model  # noqa: E402

N_VOCAB = 2048


def load_texts(path):
    out = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if not r.get("ok"):
                raise SystemExit("%s: a conversation failed to render: %s" % (path, r.get("error")))
            out.append(r["text"])
    return out


def vocab_metadata(v):
    return [("tokenizer.ggml.model", "str", "gpt2"), ("tokenizer.ggml.pre", "str", "qwen35"),
            ("tokenizer.ggml.tokens", "str[]", v["tokens"]), ("tokenizer.ggml.token_type", "i32[]", v["types"]),
            ("tokenizer.ggml.merges", "str[]", v["merges"]), ("tokenizer.ggml.eos_token_id", "u32", v["eos"]),
            ("tokenizer.ggml.bos_token_id", "u32", v["eot"]), ("tokenizer.ggml.padding_token_id", "u32", v["eot"]),
            ("tokenizer.ggml.add_bos_token", "bool", False)]


def chat_template():
    """Qwen3.6's own template, as real GGUF files carry it: llama.cpp and its bindings then chat
    with the model in the format it was trained on. Read from the shared spec folder, not copied."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    shared = os.environ.get("ONPREM_SHARED_DIR", os.path.join(root, "..", "shared"))
    path = os.path.join(shared, "spec", "templates", "qwen3.6.jinja")
    if not os.path.exists(path):
        raise SystemExit("%s: not found (set ONPREM_SHARED_DIR to the shared/ folder)" % path)
    with open(path) as f:
        return f.read()


def export(model, v, path, name="onprem-default", template=None):
    extra = [("tokenizer.chat_template", "str", template)] if template else []
    gguf_write.write(path, model.metadata(name) + vocab_metadata(v) + extra, model.export_tensors())


def cmd_vocab(a):
    texts = load_texts(os.path.join(a.work, "train.rendered.jsonl"))
    t0 = time.time()
    tokens, types, merges, eot, eos = bpe.learn(texts, N_VOCAB, a.words_apart, a.whole_chars)
    with open(os.path.join(a.work, "vocab.json"), "w") as f:
        json.dump({"tokens": tokens, "types": types, "merges": merges, "eot": eot, "eos": eos}, f, ensure_ascii=False)
    print("vocab: %d tokens, %d merges learned in %.1f s" % (len(tokens), len(merges), time.time() - t0))


def tokenize(onprem, gguf, texts):
    """The engine's own tokenizer, so training sees exactly the ids serving will."""
    inp = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in texts)
    out = subprocess.run([onprem, "tokenize", "-m", gguf, "--special", "--jsonl"], input=inp, capture_output=True, text=True, check=True)
    return [[int(x) for x in line.split()] for line in out.stdout.splitlines()]


def cmd_check(a):
    torch.manual_seed(0)
    v = json.load(open(os.path.join(a.work, "vocab.json")))
    m = Model(Config(n_vocab=len(v["tokens"])))
    with torch.no_grad():  # larger weights than at init, so every block matters in the comparison
        for p in m.parameters():
            if p.dim() >= 2:
                p.mul_(8.0)
    path = os.path.join(a.work, "check-F32.gguf")
    export(m, v, path, "onprem-check")
    texts = load_texts(os.path.join(a.work, "train.rendered.jsonl"))[:3]
    ids = sum(tokenize(a.onprem, path, texts), [])[:300]
    with open(os.path.join(a.work, "check.ids"), "w") as f:
        f.write(" ".join(map(str, ids)))
    subprocess.run([a.onprem, "logits", "-m", path, "--tokens", os.path.join(a.work, "check.ids"), "--out",
                    os.path.join(a.work, "check.logits")], check=True)
    ours = np.fromfile(os.path.join(a.work, "check.logits"), dtype=np.float32).reshape(len(ids), -1)
    with torch.no_grad():
        ref = m.double()(torch.tensor([ids])).numpy()[0]
    err = np.abs(ours - ref).max()
    print("check: %d tokens, max |logit(engine) - logit(torch, float64)| = %.3g (logit scale %.3g), argmax agree %.1f %%" % (
        len(ids), err, np.abs(ref).max(), 100 * (ours.argmax(-1) == ref.argmax(-1)).mean()))
    if not err < 1e-3 * max(1.0, np.abs(ref).max()):
        raise SystemExit("check failed: the PyTorch model and the engine disagree")


def assistant_mask(ids, im_start, im_end, assistant_role):
    """1 for the tokens the model writes (assistant turns, their <|im_end|> included), else 0:
    the loss teaches answering, not reciting the system prompt and the users' questions."""
    mask, inside, i = [0] * len(ids), False, 0
    k = len(assistant_role)
    while i < len(ids):
        if ids[i] == im_start:
            inside = ids[i + 1:i + 1 + k] == assistant_role
            i += 1 + (k if inside else 0)
            continue
        if inside:
            mask[i] = 1
            if ids[i] == im_end:
                inside = False
        i += 1
    return mask


def decision_weights(ids, mask, tokens, weight):
    """Loss weights: the mask, with `weight` on the assistant tokens where the model decides how
    many tool calls to make. Those are one token per turn (the one after each </tool_call>:
    another call or the end of the turn, and the first word of the reasoning, which names the
    count) among hundreds, and left at weight 1 the model settles for the base rate."""
    end_call, think, end_think = (tokens.index(t) for t in ("</tool_call>", "<think>", "</think>"))
    blank = [tok.replace("Ċ", "").replace("Ġ", "") == "" for tok in tokens]  # byte-level newline, space
    w = [float(x) for x in mask]
    after_think = False
    for i, t in enumerate(ids):
        if not mask[i]:
            after_think = False
            continue
        if after_think and not blank[t]:
            w[i] = weight if t != end_think else 1.0  # an empty think block is the prompt's, not a choice
            after_think = False
        if i > 0 and ids[i - 1] == end_call:
            w[i] = weight
        if t == think:
            after_think = True
    return w


def value_weights(ids, w, tokens, weight):
    """Loss weights: `weight` on the assistant's tokens inside a call's parameter values
    (`<parameter=city>\nOslo\n</parameter>`). A value is a handful of tokens among hundreds, and
    copying it from the question is the one thing the model must get exactly right."""
    pieces = [tokens[t] for t in ids]
    starts, pos = [], 0
    for p in pieces:
        starts.append(pos)
        pos += len(p)
    text = "".join(pieces)
    out = list(w)
    j = 0
    for m in re.finditer(r"<parameter=[^>]*>\u010a(.*?)\u010a</parameter>", text):
        a, b = m.span(1)
        while j < len(ids) and starts[j] < a:
            j += 1
        k = j
        while k < len(ids) and starts[k] < b:
            if out[k]:
                out[k] = max(out[k], weight)
            k += 1
    return out


def batches(ids_list, masks, budget, pad, rng):
    """One conversation per row, never packed: positions start at 0 and no row sees another
    conversation, as in serving. Rows of similar length share a batch (padded with `pad`, mask 0),
    at most `budget` tokens per batch (rows x longest row)."""
    order = list(range(len(ids_list)))
    while True:
        rng.shuffle(order)
        for p0 in range(0, len(order), 256):
            pool = sorted(order[p0:p0 + 256], key=lambda i: len(ids_list[i]))
            groups, cur = [], []
            for i in pool:
                if cur and (len(cur) + 1) * len(ids_list[i]) > budget:
                    groups.append(cur)
                    cur = []
                cur.append(i)
            groups.append(cur)
            rng.shuffle(groups)
            for g in groups:
                width = max(len(ids_list[i]) for i in g)
                x = np.full((len(g), width), pad, dtype=np.int64)
                m = np.zeros((len(g), width), dtype=np.float32)
                for r, i in enumerate(g):
                    x[r, :len(ids_list[i])] = ids_list[i]
                    m[r, :len(ids_list[i])] = masks[i]
                yield torch.from_numpy(x), torch.from_numpy(m)


def cmd_train(a):
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    # Without this, the embedding's backward pass adds the gradients of repeated tokens with
    # threaded atomic adds: their order, so the float sums, changed from run to run and two builds
    # with the same seed parted after ~50 steps.
    torch.use_deterministic_algorithms(True)
    rng = random.Random(a.seed)
    template = chat_template()  # before hours of training, not after
    v = json.load(open(os.path.join(a.work, "vocab.json")))
    m = Model(Config(n_vocab=len(v["tokens"])))
    if a.wire_copy and a.init_from:
        raise SystemExit("--wire-copy sets a start, --init-from continues from one: not both")
    if a.wire_copy:
        m.wire_copy([int(i) for i in a.wire_copy.split(",")], a.wire_pair_dims)
    if a.init_from:
        m.load_tensors(gguf_read.read_f32(a.init_from))
    init = os.path.join(a.work, "init-F32.gguf")
    export(m, v, init)
    ids = tokenize(a.onprem, init, load_texts(os.path.join(a.work, "train.rendered.jsonl")))
    eos = v["eos"]
    ids = [x + [eos] if x[-1] != eos else x for x in ids]
    im_start = v["tokens"].index("<|im_start|>")
    role = tokenize(a.onprem, init, ["assistant\n"])[0]
    masks = [decision_weights(x, assistant_mask(x, im_start, eos, role), v["tokens"], a.decision_weight) for x in ids]
    if a.value_weight != 1.0:
        masks = [value_weights(x, w, v["tokens"], a.value_weight) for x, w in zip(ids, masks)]
    n_tok = sum(map(len, ids))
    n_loss = sum(sum(1 for w in x if w) for x in masks)
    n_decide = sum(sum(1 for w in x if w > 1) for x in masks)  # decisions, and values when weighted
    print("train: %.1f %% of tokens are the assistant's (the loss), %d decisions weighted %g" % (
        100.0 * n_loss / n_tok, n_decide, a.decision_weight))
    print("train: %d conversations, %d tokens, %d parameters" % (len(ids), n_tok, sum(p.numel() for p in m.parameters())), flush=True)
    opt = torch.optim.AdamW(m.parameters(), lr=a.lr, betas=(0.9, 0.95), weight_decay=0.01)
    # A step budget, not a time budget: the same seed gives the same model on any machine speed.
    t0, step, seen = time.time(), 0, 0
    it = batches(ids, masks, a.tokens, v["eot"], rng)
    for _ in range(a.skip_batches):  # a continuation sees the batches a longer run would have seen next
        next(it)
    while step < a.steps:
        x, mk = next(it)
        warm = min(1.0, (step + 1) / 30)
        lr = a.lr * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / a.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        logits = m(x[:, :-1])
        nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="none")
        w = mk[:, 1:].reshape(-1)
        loss = (nll * w).sum() / w.sum().clamp_min(1.0)
        total = loss + 0.01 * m.aux_loss()
        opt.zero_grad()
        total.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        step += 1
        seen += int((x != v["eot"]).sum())
        if a.export_every and step % a.export_every == 0 and step < a.steps:
            export(m, v, os.path.join(a.work, "model-step%d-F32.gguf" % step), template=template)
        if step % 10 == 0 or step == a.steps:
            el = time.time() - t0
            print("step %d  loss %.4f  grad %.3g  lr %.2e  %.0f tok/s  %.1f min" % (step, loss.item(), gnorm.item(), lr, seen / el, el / 60),
                  flush=True)
    out = os.path.join(a.work, "model-F32.gguf")
    export(m, v, out, template=template)
    print("train: %d steps, %d tokens (%.2f epochs) in %.1f min -> %s" % (step, seen, seen / n_tok, (time.time() - t0) / 60, out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("vocab")
    p.add_argument("work")
    p.add_argument("--words-apart", action="store_true", help="no merge joins a word's leading space or quote to its letters")
    p.add_argument("--whole-chars", action="store_true", help="no merge joins part of one character to another character")
    p = sub.add_parser("check")
    p.add_argument("work")
    p.add_argument("onprem")
    p = sub.add_parser("train")
    p.add_argument("work")
    p.add_argument("onprem")
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tokens", type=int, default=4096, help="tokens per batch, padding included")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--decision-weight", type=float, default=5.0, help="loss weight of the call-count decisions")
    p.add_argument("--value-weight", type=float, default=1.0, help="loss weight of the tokens of call argument values")
    p.add_argument("--wire-copy", default="", help="DeltaNet layers initialised as a copying circuit ('' for none)")
    p.add_argument("--export-every", type=int, default=0, help="also write model-stepN-F32.gguf every N steps")
    p.add_argument("--wire-pair-dims", type=int, default=0, help="key dimensions per head of the wired layers keyed on the token pair before")
    p.add_argument("--init-from", default="", help="continue from this F32 GGUF's weights (the optimizer starts afresh)")
    p.add_argument("--skip-batches", type=int, default=0, help="draw and skip this many batches first (the steps already trained)")
    a = ap.parse_args()
    {"vocab": cmd_vocab, "check": cmd_check, "train": cmd_train}[a.cmd](a)


if __name__ == "__main__":
    main()
