"""TRL's best-fit-decreasing packing (trl 1.13, trl/data_utils.py: _SegmentTree and the binning
loop of _pack_bfd, packing_strategy="bfd"), transcribed without pyarrow (not on Debian 12): the
lengths sorted longest first (a stable sort, as Arrow's), each sequence into the bin with the
tightest free space that fits, first come first among equal spaces. datasets' map hands _pack_bfd
1000 examples at a time, so bins are made per thousand. Checked against TRL's own _pack_bfd (with
pyarrow) on the lengths of test/packing.test.ts.

With "split": true (packing_strategy="bfd_split"), sequences longer than seq_length are first cut
into pieces of seq_length (the last shorter), as _pack_bfd's offsets arithmetic does, and the
pieces are packed; the output then gives the pieces' lengths too.

stdin: {"lengths": [[int]], "seq_length": int, "split": bool}; stdout: per list, [[[sequence index]] per
row], or with split {"rows": ..., "pieces": [piece lengths]}.
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


def split_lengths(lengths, seq_length):
    """_pack_bfd's "split": each length as ceil(n / seq_length) pieces, all seq_length but the last."""
    pieces = []
    for n in lengths:
        k = -(-n // seq_length)
        pieces += [seq_length] * (k - 1) + [n - (k - 1) * seq_length]
    return pieces


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
    seq = job["seq_length"]
    for lengths in job["lengths"]:
        rows, pieces = [], []
        for start in range(0, len(lengths), 1000):
            chunk = lengths[start:start + 1000]
            if job.get("split"):
                chunk = split_lengths(chunk, seq)
            rows += [[len(pieces) + i for i in b] for b in pack_bfd(chunk, seq)]
            pieces += chunk
        out.append({"rows": rows, "pieces": pieces} if job.get("split") else rows)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
