#!/usr/bin/python3
"""Usage: same_tensors.py A.gguf B.gguf -- exits 1 unless the two F32 files hold the same tensors:
bit for bit, except ssm_a (the file holds -exp(a_log), and a round trip through log may move its
last bit). Checks that a training continued for 0 steps from a file gives that file back."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "train"))
import gguf_read  # noqa: E402

a, b = gguf_read.read_f32(sys.argv[1]), gguf_read.read_f32(sys.argv[2])
if sorted(a) != sorted(b):
    sys.exit("different tensor names: %s" % sorted(set(a) ^ set(b))[:5])
bad = []
for name in a:
    if name.endswith(".ssm_a"):
        same = np.allclose(a[name], b[name], rtol=1e-6, atol=0)
    else:
        same = a[name].shape == b[name].shape and np.array_equal(a[name], b[name])
    if not same:
        bad.append(name)
if bad:
    sys.exit("%d tensors differ, first %s" % (len(bad), bad[0]))
print("same tensors: %d" % len(a))
