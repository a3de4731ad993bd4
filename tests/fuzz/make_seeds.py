#!/usr/bin/env python3
"""Writes the fuzzer's seed corpus: small valid GGUF files that reach every parser path (all value
types, nested arrays, tensors of several types, a tokenizer, a model config). Run from anywhere;
writes next to this script in corpus/."""
import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, typ, payload):
    return s(key) + struct.pack("<I", typ) + payload


def arr(elem_type, items, enc):
    return struct.pack("<IQ", elem_type, len(items)) + b"".join(enc(i) for i in items)


def gguf(kvs, tensors, align=32):
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs)
    infos, blobs, off = b"", b"", 0
    for name, typ, ne, data in tensors:
        infos += s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        infos += struct.pack("<IQ", typ, off)
        pad = (-len(data)) % align
        blobs += data + b"\0" * pad
        off += len(data) + pad
    out = head + infos
    out += b"\0" * ((-len(out)) % align)
    return out + blobs


def main():
    os.makedirs(HERE, exist_ok=True)
    scalars = [
        kv("a.u8", 0, b"\x07"), kv("a.i8", 1, b"\xff"), kv("a.u16", 2, struct.pack("<H", 9)),
        kv("a.i16", 3, struct.pack("<h", -9)), kv("a.u32", 4, struct.pack("<I", 7)),
        kv("a.i32", 5, struct.pack("<i", -7)), kv("a.f32", 6, struct.pack("<f", 1.5)),
        kv("a.bool", 7, b"\x01"), kv("a.str", 8, s("hello")), kv("a.u64", 10, struct.pack("<Q", 1 << 40)),
        kv("a.i64", 11, struct.pack("<q", -5)), kv("a.f64", 12, struct.pack("<d", 2.5)),
        kv("a.strs", 9, arr(8, ["x", "", "zz"], s)),
        kv("a.nested", 9, arr(9, [[1, 2], [3]], lambda a: arr(5, a, lambda v: struct.pack("<i", v)))),
    ]
    with open(os.path.join(HERE, "values.gguf"), "wb") as f:
        f.write(gguf(scalars, []))
    tensors = [
        ("f32", 0, [8, 2], struct.pack("<16f", *range(16))),
        ("f16", 1, [4], b"\x00\x3c" * 4),
        ("q8", 8, [32], b"\x00\x3c" + bytes(range(32))),
        ("q4k", 12, [256], b"\x00\x3c\x00\x38" + bytes(140)),
        ("q6k", 14, [256], bytes(208) + b"\x00\x3c"),
    ]
    with open(os.path.join(HERE, "tensors.gguf"), "wb") as f:
        f.write(gguf([kv("general.alignment", 4, struct.pack("<I", 64))], tensors, align=64))
    byte_tokens = [chr(c) if (33 <= c <= 126 or 161 <= c <= 172 or 174 <= c <= 255) else None for c in range(256)]
    n = 256
    mapped = []
    for c in range(256):
        if byte_tokens[c] is None:
            byte_tokens[c] = chr(n)
            n += 1
    tokens = byte_tokens + ["he", "<|im_end|>", "<think>"]
    vocab = [
        kv("tokenizer.ggml.model", 8, s("gpt2")), kv("tokenizer.ggml.pre", 8, s("qwen35")),
        kv("tokenizer.ggml.tokens", 9, arr(8, tokens, s)),
        kv("tokenizer.ggml.token_type", 9, arr(5, [1] * 257 + [3, 4], lambda v: struct.pack("<i", v))),
        kv("tokenizer.ggml.merges", 9, arr(8, ["h e"], s)),
        kv("tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 257)),
    ]
    with open(os.path.join(HERE, "vocab.gguf"), "wb") as f:
        f.write(gguf(vocab, []))
    a = "qwen35"
    u32 = lambda k, v: kv(f"{a}.{k}", 4, struct.pack("<I", v))
    config = [kv("general.architecture", 8, s(a)), u32("block_count", 4), u32("context_length", 64),
              u32("embedding_length", 32), u32("feed_forward_length", 32), u32("attention.head_count", 2),
              u32("attention.head_count_kv", 1), u32("attention.key_length", 16), u32("attention.value_length", 16),
              kv(f"{a}.attention.layer_norm_rms_epsilon", 6, struct.pack("<f", 1e-6)),
              kv(f"{a}.rope.freq_base", 6, struct.pack("<f", 1e7)), u32("rope.dimension_count", 8),
              kv(f"{a}.rope.dimension_sections", 9, arr(5, [2, 1, 1, 0], lambda v: struct.pack("<i", v))),
              u32("ssm.conv_kernel", 4), u32("ssm.state_size", 8), u32("ssm.group_count", 1),
              u32("ssm.time_step_rank", 2), u32("ssm.inner_size", 16), u32("full_attention_interval", 4)]
    with open(os.path.join(HERE, "config.gguf"), "wb") as f:
        f.write(gguf(config + vocab, [("token_embd.weight", 0, [32, 259], bytes(32 * 259 * 4))]))


if __name__ == "__main__":
    main()
