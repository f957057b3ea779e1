#!/usr/bin/env python3
"""Usage: order.py <link map> <callgrind out>... > daemon-symbol-order.txt

Maps each instruction address pmtui-daemon ran (callgrind --dump-instr=yes, in the files'
order) to the `.text` input section of rust-lld's link map (--no-demangle) that holds it, and
prints that section's symbols once each, in first-seen order."""
import bisect
import re
import sys

ROW = re.compile(r'^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+( +)(.*)$')

def text_sections(path):
    """[start, end, [symbols]] of every input section of the output section .text."""
    secs, cur, in_text = [], None, False
    for line in open(path):
        m = ROW.match(line.rstrip('\n'))
        if not m:
            continue
        vma, size, depth, name = int(m.group(1), 16), int(m.group(2), 16), len(m.group(3)) - 1, m.group(4).strip()
        if depth == 0:  # an output section
            in_text, cur = name == '.text', None
        elif in_text and depth == 8:  # an input section
            cur = [vma, vma + size, []]
            secs.append(cur)
        elif in_text and cur is not None and depth == 16:  # a symbol in it
            cur[2].append(name)
    secs.sort()
    return secs

def symbols_at(secs, starts, a):
    """The symbols of the section of `secs` (with their `starts`) that holds address `a`."""
    i = bisect.bisect_right(starts, a) - 1
    return secs[i][2] if i >= 0 and a < secs[i][1] else []

def main():
    secs = text_sections(sys.argv[1])
    starts = [s[0] for s in secs]
    seen, out = set(), []
    for cg in sys.argv[2:]:
        ob, mine = None, False
        for line in open(cg):
            if line.startswith('ob='):
                ob = line[3:].strip()
            elif line.startswith('fn='):
                mine = ob is not None and ob.endswith('/pmtui-daemon')
            elif mine and line.startswith('0x'):
                for s in symbols_at(secs, starts, int(line.split()[0], 16)):
                    if s not in seen:
                        seen.add(s)
                        out.append(s)
    print('\n'.join(out))
    print(f'{len(out)} symbols', file=sys.stderr)

if __name__ == '__main__':
    main()
