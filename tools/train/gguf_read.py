"""Reads back the F32 tensors of a GGUF file (what gguf_write.py writes, or any GGUF v3 whose
tensors are F32), so a training can continue from an exported model."""
import struct

import numpy as np

# Value type -> struct format of its scalar; 8 is a string, 9 an array.
_SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "B", 10: "Q", 11: "q", 12: "d"}


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return v[0] if len(v) == 1 else v

    def string(self):
        n = self.take("Q")
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def value(self, kind):
        if kind == 8:
            return self.string()
        if kind == 9:
            inner, n = self.take("IQ")
            return [self.value(inner) for _ in range(n)]
        if kind not in _SCALAR:
            raise ValueError("unknown GGUF value type %d at byte %d" % (kind, self.pos))
        return self.take(_SCALAR[kind])


def read_f32(path):
    """{name: float32 ndarray in torch [out, in] order} for every tensor; other tensor types are
    refused, since a quantised file has lost what training needs."""
    with open(path, "rb") as f:
        data = f.read()
    r = _Reader(data)
    if data[:4] != b"GGUF":
        raise ValueError("%s: not a GGUF file" % path)
    r.pos = 4
    version, n_tensors, n_kv = r.take("IQQ")
    if version != 3:
        raise ValueError("%s: GGUF version %d, expected 3" % (path, version))
    align = 32
    for _ in range(n_kv):
        key = r.string()
        v = r.value(r.take("I"))
        if key == "general.alignment":
            align = v
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.take("I")
        ne = [r.take("Q") for _ in range(nd)]
        kind, offset = r.take("IQ")
        if kind != 0:
            raise ValueError("%s: tensor %s is not F32 (type %d)" % (path, name, kind))
        infos.append((name, ne, offset))
    base = r.pos + (-r.pos) % align
    out = {}
    for name, ne, offset in infos:
        count = int(np.prod(ne))
        a = np.frombuffer(data, dtype=np.float32, count=count, offset=base + offset)
        out[name] = a.reshape(list(reversed(ne))).copy()
    return out
