#!/usr/bin/env python3
"""Usage: add_faults.py <link map> <faults> <order file> > new order file

Prints the order file's names, then the symbols of the `.text` input sections that hold the
fault addresses (faults.sh, recorded on the build that wrote <link map>) and are not in it
yet: the code the native start path runs that the callgrind profile missed. Each fault is
the first touch of a 64 KiB window the kernel then maps whole, so one round finds one
function a window; run it again on the rebuilt executable until it finds few."""
import sys

sys.path.insert(0, __import__('os').path.dirname(__file__))
from order import symbols_at, text_sections  # noqa: E402

def main():
    secs = text_sections(sys.argv[1])
    starts = [s[0] for s in secs]
    names = [l.strip() for l in open(sys.argv[3]) if l.strip()]
    seen, added = set(names), []
    for line in open(sys.argv[2]):
        for s in symbols_at(secs, starts, int(line, 16)):
            if s not in seen:
                seen.add(s)
                added.append(s)
    print('\n'.join(names + added))
    print(f'{len(added)} symbols added', file=sys.stderr)

main()
