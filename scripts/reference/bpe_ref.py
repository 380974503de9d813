"""GPT-2's BPE as OpenAI's encoder.py / Hugging Face's GPT2Tokenizer run it, reading only a
folder's vocab.json and merges.txt: the independent check that the tokenizer files tstorch
writes encode text as GPT-2 does.

usage: bpe_ref.py TOKENIZER_DIR TEXT_FILE  -> prints the token ids as JSON

(special tokens in the text are their own ids, as Hugging Face's tokenizers give them)

GPT-2's pre-tokenizer pattern uses \\p{L} and \\p{N} (the `regex` module, not installed here):
spelled out for `re` as classes of the code points unicodedata puts in categories L* and N*
([^\\W\\d_] and \\d would take ½ or ² for a letter, and miss them as numbers).
"""
import json
import re
import sys
import unicodedata


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def category_class(prefix):
    """The code points whose Unicode category starts with prefix, as a character class's ranges."""
    ranges, start = [], None
    for cp in range(0x110000):
        inside = unicodedata.category(chr(cp)).startswith(prefix)
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            ranges.append((start, cp - 1))
            start = None
    if start is not None:
        ranges.append((start, 0x10FFFF))
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


L, N = category_class("L"), category_class("N")
PAT = re.compile(rf"""'s|'t|'re|'ve|'m|'ll|'d| ?[{L}]+| ?[{N}]+| ?[^\s{L}{N}]+|\s+(?!\S)|\s+""")


def main(folder, text_file):
    with open(f"{folder}/vocab.json", encoding="utf-8") as f:
        encoder = json.load(f)
    with open(f"{folder}/merges.txt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[0].startswith("#version"), "merges.txt starts with its #version line"
    ranks = {tuple(line.split()): i for i, line in enumerate(l for l in lines[1:] if l)}
    byte_encoder = bytes_to_unicode()

    def bpe(token):
        word = list(token)
        while len(word) > 1:
            pairs = [(ranks.get((a, b), float("inf")), i) for i, (a, b) in enumerate(zip(word, word[1:]))]
            rank, _ = min(pairs)
            if rank == float("inf"):
                break
            # merge every occurrence of the lowest-ranked pair, left to right (encoder.py)
            best = next((word[i], word[i + 1]) for r, i in pairs if r == rank)
            out, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = out
        return word

    with open(text_file, encoding="utf-8", newline="") as f:  # (the text as it is: \r\n kept)
        text = f.read()
    # Special tokens (special_tokens_map.json) are split out of the text first, each its own id;
    # the pieces between them are BPE-encoded (Hugging Face's added-token handling).
    with open(f"{folder}/special_tokens_map.json", encoding="utf-8") as f:
        special = sorted(set(json.load(f).values()), key=len, reverse=True)
    ids = []
    for segment in re.split("(" + "|".join(map(re.escape, special)) + ")", text):
        if segment in special:
            ids.append(encoder[segment])
            continue
        for piece in PAT.findall(segment):
            token = "".join(byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(encoder[t] for t in bpe(token))
    print(json.dumps(ids))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
