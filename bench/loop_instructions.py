#!/usr/bin/env python3
"""Instructions in the main loop of compiled dot kernels, read from the object file.

Usage: bench/loop_instructions.py OBJDUMP OBJECT.o PATTERN [PATTERN ...]

For every function whose demangled name contains all of the PATTERNs, prints the number of
instructions in its longest loop (the span from the target of a backward branch to that branch)
and the sizes of any loops inside it. The single-token dots (dot_one<...<1>>) take one weight
block per pass of their longest loop, so with no inner loop the figure is instructions per block
(with one, add its size times its trip count less one); it is what docs/performance.md compares between ISAs where no machine of
that ISA can be timed (ARM64 here). Static counts: they say how much work a block is, not how fast
a given core retires it.
"""
import re
import subprocess
import sys


def functions(objdump, obj):
    out = subprocess.run([objdump, "-d", "-C", "--no-show-raw-insn", obj], check=True, capture_output=True,
                         text=True).stdout
    name, body = None, []
    for line in out.splitlines():
        head = re.match(r"^([0-9a-f]+) <(.*)>:$", line)
        if head:
            if name:
                yield name, body
            name, body = head.group(2), []
            continue
        ins = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if name and ins:
            body.append((int(ins.group(1), 16), ins.group(2), ins.group(3)))
    if name:
        yield name, body


def loops(body):
    """(first, last) instruction indices of every loop: a backward branch and its target."""
    addrs = [a for a, _, _ in body]
    found = []
    for i, (addr, op, args) in enumerate(body):
        if not (op.startswith("j") or op.startswith("b") or op in ("cbz", "cbnz", "tbz", "tbnz")):
            continue
        target = re.search(r"(?:^|[\s,])([0-9a-f]+) <", args)
        if not target:
            continue
        t = int(target.group(1), 16)
        if t > addr or t < addrs[0]:
            continue
        found.append((next(j for j, a in enumerate(addrs) if a >= t), i))
    return found


def describe(body):
    """The longest loop's size, and the sizes of the loops inside it (each runs several times per
    pass of the outer one: multiply by its trip count, from the source, for a per-block figure)."""
    found = loops(body)
    if not found:
        return 0, []
    first, last = max(found, key=lambda l: l[1] - l[0])
    inner = sorted({l[1] - l[0] + 1 for l in found if first <= l[0] and l[1] <= last and l != (first, last)})
    return last - first + 1, inner


def short(name):
    name = name.replace("(anonymous namespace)::", "")
    return re.sub(r"onprem::(kernels::|quant::)?(neon::|avx2::)?", "", name)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    objdump, obj, patterns = sys.argv[1], sys.argv[2], sys.argv[3:]
    for name, body in functions(objdump, obj):
        if all(p in name for p in patterns):
            size, inner = describe(body)
            nested = f" (inner loops of {', '.join(map(str, inner))} inside)" if inner else ""
            print(f"{size:5d}  {short(name)[:150]}{nested}")


if __name__ == "__main__":
    main()
