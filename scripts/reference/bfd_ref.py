"""TRL's best-fit-decreasing packing (trl 1.13, trl/data_utils.py: _SegmentTree and the binning
loop of _pack_bfd, packing_strategy="bfd"), transcribed without pyarrow (not on Debian 12): the
lengths sorted longest first (a stable sort, as Arrow's), each sequence into the bin with the
tightest free space that fits, first come first among equal spaces. datasets' map hands _pack_bfd
1000 examples at a time, so bins are made per thousand. Checked against TRL's own _pack_bfd (with
pyarrow) on the lengths of test/packing.test.ts.

stdin: {"lengths": [[int]], "seq_length": int}; stdout: [[[sequence index]] per row] per list.
"""
import json
import sys
from collections import defaultdict, deque


class _SegmentTree:
    def __init__(self, maxval: int):
        self.maxval = maxval
        self.tree_size = 1 << (maxval - 1).bit_length()
        self.tree = [0] * (2 * self.tree_size)

    def add(self, val):
        assert 0 < val <= self.maxval
        i = self.tree_size + val - 1
        self.tree[i] = val
        while i > 1:
            i >>= 1
            left, right = self.tree[i << 1], self.tree[(i << 1) + 1]
            self.tree[i] = left if left >= right else right

    def remove(self, val):
        assert 0 < val <= self.maxval
        i = self.tree_size + val - 1
        self.tree[i] = 0
        while i > 1:
            i >>= 1
            left, right = self.tree[i << 1], self.tree[(i << 1) + 1]
            self.tree[i] = left if left >= right else right

    def search(self, val):
        assert 0 < val <= self.maxval
        i = 1
        while i < self.tree_size:
            if self.tree[i << 1] >= val:
                i = i << 1
            else:
                i = (i << 1) + 1
        return self.tree[i]


def pack_bfd(lengths, seq_length):
    lengths = [min(n, seq_length) for n in lengths]
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    segment_tree = _SegmentTree(seq_length)
    segment_tree.add(seq_length)
    space_to_bin = defaultdict(deque)
    bins = []
    for idx in order:
        length = lengths[idx]
        space = segment_tree.search(length)
        if space < seq_length:
            bin = space_to_bin[space].popleft()
        else:
            bin = {"ids": [], "length": 0}
            bins.append(bin)
        bin["ids"].append(idx)
        bin["length"] += length
        if space < seq_length and not space_to_bin[space]:
            segment_tree.remove(space)
        space = space - length
        space_to_bin[space].append(bin)
        if space > 0:
            segment_tree.add(space)
    return [b["ids"] for b in bins]


def main():
    job = json.load(sys.stdin)
    out = []
    for lengths in job["lengths"]:
        rows = []
        for start in range(0, len(lengths), 1000):
            rows += [[start + i for i in b] for b in pack_bfd(lengths[start:start + 1000], job["seq_length"])]
        out.append(rows)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
