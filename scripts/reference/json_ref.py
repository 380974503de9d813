"""JSON objects and their near misses, and which texts are JSON objects, by Python's json module.

stdin: {"make": {"seed": S, "count": N}} or {"check": [text, ...]} (texts as lists of byte values).
make: N texts as bytes: json.dumps of random objects (nested values; unicode, escapes, numbers in
their forms; ensure_ascii either way; compact, spaced or indented), and as many copies with one
byte inserted, deleted or replaced. check: for each text, whether it is one JSON object as the
strict reading OpenAI's json_object asks for: UTF-8 (strict), json.loads with no NaN or Infinity,
a dict, no whitespace before or after it; and within tstorch's limit on whitespace runs.
stdout: {"texts": [[byte, ...], ...]} or {"objects": [bool, ...]}.
"""
import json
import random
import sys


def make(seed, count):
    rng = random.Random(seed)
    words = ["a", "", "Paris", "é東😀", 'q"uote', "back\\slash", "tab\t", "nl\n", "ctl\x01", "\u2028", "\ud7ff\ue000", "}]", "true"]

    def value(depth):
        r = rng.random()
        if depth > 3 or r < 0.35:
            return rng.choice([0, -0, 7, -12, 3.5, -0.25, 1e-7, 1.5e300, 12345678901234567890, True, False, None, 2.0])
        if r < 0.6:
            return rng.choice(words)
        if r < 0.8:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return obj(depth + 1)

    def obj(depth):
        return {rng.choice(words): value(depth) for _ in range(rng.randint(0, 4))}

    texts = []
    for _ in range(count):
        kwargs = rng.choice([{}, {"separators": (",", ":")}, {"indent": 2}, {"indent": "\t"}, {"separators": (" , ", " : ")}])
        texts.append(json.dumps(obj(0), ensure_ascii=rng.random() < 0.5, **kwargs).encode("utf-8"))
    mutated = []
    for t in texts:
        b = bytearray(t)
        i = rng.randrange(len(b) + 1)
        op = rng.random()
        if op < 0.4:
            b.insert(i, rng.choice(b'{}[]",:0123456789-+.eE \n\\tfnu\x00\x1f') if rng.random() < 0.9 else rng.randrange(256))
        elif op < 0.7 and len(b) > 1:
            del b[min(i, len(b) - 1)]
        elif len(b) > 1:
            b[min(i, len(b) - 1)] = rng.choice(b'{}[]",:0123456789-.eE \n\\\x80\xc3\xed\xf4\xff')
        mutated.append(bytes(b))
    return texts + mutated


def is_object(data):
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    if text != text.strip(" \t\n\r"):
        return False

    if not spaces_within_limit(text):
        return False

    def no_constant(name):
        raise ValueError(name)

    try:
        return isinstance(json.loads(text, parse_constant=no_constant), dict)
    except ValueError:
        return False


def spaces_within_limit(text):
    """tstorch's own limit: outside strings, a run of whitespace holds one line break and up to 64 bytes."""
    in_string = escaped = False
    run = breaks = 0
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
            continue
        if c in " \t\n\r":
            run += 1
            breaks += c == "\n"
            if run > 64 or breaks > 1:
                return False
            continue
        run = breaks = 0
        in_string = c == '"'
    return True


def main():
    job = json.load(sys.stdin)
    if "make" in job:
        json.dump({"texts": [list(t) for t in make(job["make"]["seed"], job["make"]["count"])]}, sys.stdout)
    else:
        json.dump({"objects": [is_object(t) for t in job["check"]]}, sys.stdout)


if __name__ == "__main__":
    main()
