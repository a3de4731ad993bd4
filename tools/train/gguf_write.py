"""A minimal GGUF v3 writer: metadata (u32, i32, f32, bool, string, arrays of string / i32) and
F32 tensors, in the layout src/gguf/ reads (32-byte aligned data section)."""
import struct

import numpy as np

U32, I32, F32, BOOL, STRING, ARRAY = 4, 5, 6, 7, 8, 9
ALIGN = 32


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _value(kind, v):
    if kind == "u32":
        return struct.pack("<I", U32) + struct.pack("<I", v)
    if kind == "i32":
        return struct.pack("<I", I32) + struct.pack("<i", v)
    if kind == "f32":
        return struct.pack("<I", F32) + struct.pack("<f", v)
    if kind == "bool":
        return struct.pack("<I", BOOL) + struct.pack("<B", 1 if v else 0)
    if kind == "str":
        return struct.pack("<I", STRING) + _str(v)
    if kind == "str[]":
        return struct.pack("<II", ARRAY, STRING) + struct.pack("<Q", len(v)) + b"".join(_str(s) for s in v)
    if kind == "i32[]":
        return struct.pack("<II", ARRAY, I32) + struct.pack("<Q", len(v)) + struct.pack("<%di" % len(v), *v)
    raise ValueError(kind)


def write(path, metadata, tensors):
    """metadata: list of (key, kind, value); tensors: list of (name, float32 ndarray in torch
    [out, in] order; GGUF ne is the reversed shape)."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    for key, kind, v in metadata:
        head += _str(key) + _value(kind, v)
    offset, infos, blobs = 0, b"", []
    for name, arr in tensors:
        a = np.ascontiguousarray(arr, dtype=np.float32)
        ne = list(reversed(a.shape))
        infos += _str(name) + struct.pack("<I", len(ne)) + struct.pack("<%dQ" % len(ne), *ne) + struct.pack("<IQ", 0, offset)
        blob = a.tobytes()
        pad = (-len(blob)) % ALIGN
        blobs.append(blob + b"\0" * pad)
        offset += len(blob) + pad
    head += infos
    head += b"\0" * ((-len(head)) % ALIGN)
    with open(path, "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)
