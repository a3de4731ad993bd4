#!/usr/bin/env python3
"""No instruction beyond what the CPU has may run: the structural check.

Reads the build's compile_commands.json. Every object compiled with ISA flags (-mavx2, -mavx512*,
-march=...+dotprod, ...) may be entered only through the dispatch table:
  1. it exports nothing but its fill functions (onprem::kernels::fill_<isa>...): no other global
     symbol, and no weak one at all (an inline function or template instantiated there could be
     the copy the linker keeps for the whole program, running AVX-512 code on an AVX2 CPU);
  2. it has no dynamic initialiser (that would run at start-up on every CPU);
  3. no other object refers to those fill functions, except kernels/dispatch.cpp (which calls them
     only for an ISA the CPU reports) and objects of the same ISA.

usage: check_isa_objects.py BUILD_DIR [NM]
"""
import json
import os
import re
import shlex
import subprocess
import sys

ISA_FLAG = re.compile(r"^(-m(avx|fma|f16c|sse|bmi|amx|vnni|avx512)|-march=|-mcpu=)")
DISPATCH = "kernels/dispatch.cpp"


def isa_label(flags):
    """The ISA a set of flags enables, named as the fill functions are (fill_<label>)."""
    text = " ".join(flags)
    if "-mavx512" in text:
        return "avx512"
    if "-mavx2" in text:
        return "avx2"
    if "+i8mm" in text:
        return "i8mm"
    if "+dotprod" in text:
        return "dotprod"
    return "+".join(flags)


def objects(build_dir):
    """(source, object path, ISA flags) for every compile command."""
    with open(os.path.join(build_dir, "compile_commands.json")) as f:
        entries = json.load(f)
    for e in entries:
        args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
        out = args[args.index("-o") + 1]
        flags = [a for a in args if ISA_FLAG.match(a)]
        yield e["file"], os.path.normpath(os.path.join(e["directory"], out)), flags


def symbols(nm, obj, *opts):
    """(name, type) pairs from nm's POSIX output, names mangled."""
    out = subprocess.run([nm, "-P", *opts, obj], check=True, capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            syms.append((parts[0], parts[1]))
    return syms


def demangle(names):
    if not names:
        return {}
    out = subprocess.run(["c++filt"], input="\n".join(names), check=True, capture_output=True, text=True).stdout
    return dict(zip(names, out.splitlines()))


LOCAL_TYPES = set("tdbrgsnN?-")
WEAK_TYPES = set("WVwv")


def main():
    build_dir = sys.argv[1]
    nm = sys.argv[2] if len(sys.argv) > 2 else "nm"
    errors = []
    all_objs = list(objects(build_dir))
    flagged = [(src, obj, isa_label(flags)) for src, obj, flags in all_objs if flags]
    if not flagged:
        print("no object is compiled with ISA flags")
    exported = {}  # mangled symbol -> label of the object that defines it
    for src, obj, label in flagged:
        if not os.path.exists(obj):
            errors.append(f"{obj}: not built")
            continue
        defined = [(n, t) for n, t in symbols(nm, obj, "--defined-only") if t not in LOCAL_TYPES]
        locals_ = [n for n, t in symbols(nm, obj, "--defined-only") if t in LOCAL_TYPES]
        names = demangle([n for n, _ in defined])
        for n, t in defined:
            d = names.get(n, n)
            if t in WEAK_TYPES:
                errors.append(f"{src} ({label}): weak symbol {d} [{t}]: the linker may keep this copy for "
                              "every caller; make it internal (anonymous namespace) to this file")
            elif not re.match(rf"onprem::kernels::fill_{re.escape(label)}(_\w+)?\(", d):
                errors.append(f"{src} ({label}): exports {d} [{t}]: only onprem::kernels::fill_{label}* may "
                              "be visible outside a file compiled with ISA flags")
            else:
                exported[n] = label
        for n in locals_:
            if n.startswith("_GLOBAL__sub_I"):
                errors.append(f"{src} ({label}): has a dynamic initialiser, which runs at start-up on every CPU")
    checked = 0
    for src, obj, flags in all_objs:
        if not os.path.exists(obj):
            continue
        label = isa_label(flags) if flags else None
        checked += 1
        for n, _ in symbols(nm, obj, "--undefined-only"):
            if n not in exported:
                continue
            if src.endswith(DISPATCH) or label == exported[n]:
                continue
            d = demangle([n])[n]
            errors.append(f"{src}: calls {d} ({exported[n]} code) outside the dispatch table; only {DISPATCH} "
                          "may, after checking that the CPU runs it")
    for e in errors:
        print("ISA CHECK FAILED: " + e)
    print(f"{len(flagged)} ISA-flagged objects ({', '.join(sorted({l for _, _, l in flagged}))}), "
          f"{len(exported)} entry points, {checked} objects scanned for calls: "
          + ("FAILED" if errors else "ok"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
