#!/usr/bin/env python3
"""Stack frames of a Cortex-M image, from its disassembly: each function's frame (its `push`,
`vpush` and `sub sp` bytes) and the deepest direct-call path below the functions a pattern
names. A static bound beside the painted peak the firmware reports (`status stack_peak=`):
calls through a `dyn` (the trust journal) or a function pointer are not followed, so the
painted peak can be deeper; recursion is cut at the first repeat.

    llvm-objdump -d --demangle IMAGE > image.dis
    scripts/stack_frames.py image.dis                 # the 40 largest frames
    scripts/stack_frames.py image.dis 'Guard.*::receive::|skywave_firmware::run::'

(docs/firmware-guard.md, "The receive path's stack", has the figures it gave.)
"""

import re
import sys

HEADER = re.compile(r"^([0-9a-f]+) <(.*)>:$")
TARGET = re.compile(r"<(.*?)(\+0x[0-9a-f]+)?>")


def registers(operands):
    """How many registers a push/vpush list names (`{r4-r7, lr}` is 5)."""
    found = re.findall(r"\{(.*)\}", operands)
    if not found:
        return 0
    n = 0
    for r in found[0].split(","):
        r = r.strip()
        if "-" in r:
            a, b = r.split("-")
            n += int(b.strip()[1:]) - int(a.strip()[1:]) + 1
        else:
            n += 1
    return n


def parse(lines):
    funcs = {}
    cur = None
    for line in lines:
        m = HEADER.match(line)
        # `$d`/`$t` are mapping symbols (a literal pool, code again): the same function.
        if m and m.group(2).startswith("$"):
            continue
        if m:
            cur = m.group(2)
            funcs[cur] = {"frame": 0, "calls": set()}
            continue
        if cur is None:
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        ins = parts[1].strip()
        ops = parts[2].strip() if len(parts) > 2 else ""
        f = funcs[cur]
        if ins.startswith("push") or (ins.startswith("stmdb") and "sp!" in ops):
            f["frame"] += 4 * registers(ops)
        elif ins.startswith("vpush"):
            f["frame"] += 8 * registers(ops)
        elif ins.startswith("sub") and ops.startswith("sp, "):
            m2 = re.search(r"#(0x[0-9a-f]+|\d+)", ops)
            if m2:
                f["frame"] += int(m2.group(1), 0)
        elif ins.startswith("bl") or ins in ("b", "b.w"):
            m2 = TARGET.search(line)
            # A call, or a tail call to another function's start (not a branch inside this one).
            if m2 and (ins.startswith("bl") or not m2.group(2)) and m2.group(1) != cur:
                f["calls"].add(m2.group(1))
    return funcs


def deepest(funcs, name, memo, path):
    if name in memo:
        return memo[name]
    if name in path or name not in funcs:
        return (0, [name])
    path.add(name)
    best = (0, [])
    for callee in funcs[name]["calls"]:
        d = deepest(funcs, callee, memo, path)
        if d[0] > best[0]:
            best = d
    path.discard(name)
    result = (funcs[name]["frame"] + best[0], [name] + best[1])
    memo[name] = result
    return result


def main():
    funcs = parse(open(sys.argv[1]).read().splitlines())
    if len(sys.argv) < 3:
        for name in sorted(funcs, key=lambda n: -funcs[n]["frame"])[:40]:
            print(funcs[name]["frame"], name[:160])
        return
    memo = {}
    for root in (n for n in funcs if re.search(sys.argv[2], n)):
        depth, path = deepest(funcs, root, memo, set())
        print(f"== {root}: {depth} B")
        total = 0
        for name in path:
            frame = funcs.get(name, {}).get("frame", 0)
            total += frame
            print(f"  {frame:6d} {total:6d}  {name[:150]}")


if __name__ == "__main__":
    sys.setrecursionlimit(10000)
    main()
