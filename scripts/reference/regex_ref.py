"""Random regular expressions, replies that match them and near misses, and which replies match, by Python's re.

stdin: {"make": {"seed": S, "count": N}} or {"check": [{"pattern": P, "texts": [[byte, ...], ...]}, ...]}.
make: N random patterns in the language tstorch serves (characters, escapes, classes, \\d \\w \\s and
their negations, '.', groups of the three kinds, alternation, the repeats, lazy ones too, anchors at
the ends), each with replies that match it, drawn by walking Python's own parse of the pattern
(re._parser, not tstorch's), and near misses (a character inserted, deleted or replaced).
check: for each pattern, for each text (UTF-8 bytes), whether re.fullmatch(pattern, text, re.ASCII)
matches; a text that is not strict UTF-8 matches nothing.
stdout: {"cases": [{"pattern": P, "texts": [[byte, ...], ...]}, ...]} or {"matches": [[bool, ...], ...]}.
"""
import json
import random
import re
import sys

try:
    import re._parser as sre_parse
    import re._constants as sre_constants
except ImportError:  # (Python before 3.11)
    import sre_parse
    import sre_constants

C = sre_constants
# characters the patterns and replies are made of: ASCII's kinds, and 2-, 3- and 4-byte UTF-8
ALPHABET = list("ab_Z09 .-\t\n") + ["é", "ÿ", "€", "東", "😀"]
SPECIAL = set("\\.^$*+?{}[]|()")


def literal(c):
    if c in SPECIAL or c == "-":
        return "\\" + c
    if c == "\n":
        return rng_choice(["\\n", "\\x0a", "\n"])
    if c == "\t":
        return rng_choice(["\\t", "\\u0009", "\t"])
    if ord(c) > 0x7F and rng.random() < 0.3:
        return "\\U%08x" % ord(c) if ord(c) > 0xFFFF else "\\u%04x" % ord(c)
    return c


def rng_choice(xs):
    return rng.choice(xs)


def char_class():
    items = []
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if r < 0.25:
            items.append(rng.choice(["\\d", "\\w", "\\s", "\\D", "\\W", "\\S"]))
        elif r < 0.55:
            lo, hi = sorted(rng.sample(ALPHABET, 2), key=ord)
            items.append(literal(lo) + "-" + literal(hi))
        else:
            items.append(literal(rng.choice(ALPHABET)))
    return "[" + ("^" if rng.random() < 0.25 else "") + "".join(items) + "]"


def atom(depth):
    r = rng.random()
    if depth < 3 and r < 0.2:
        kind = rng.choice(["(", "(?:", "(?P<g%d>" % rng.randint(0, 99999)])
        return kind + alternation(depth + 1) + ")"
    if r < 0.45:
        return literal(rng.choice(ALPHABET))
    if r < 0.7:
        return char_class()
    if r < 0.85:
        return rng.choice(["\\d", "\\w", "\\s", "\\D", "\\W", "\\S"])
    return "."


def quantified(depth):
    a = atom(depth)
    r = rng.random()
    if r < 0.55:
        return a
    q = rng.choice(["*", "+", "?", "{%d}" % rng.randint(0, 3), "{%d,}" % rng.randint(0, 2), "{,%d}" % rng.randint(1, 3), "{%d,%d}" % (1, rng.randint(1, 4))])
    return a + q + ("?" if rng.random() < 0.2 else "")


def sequence(depth):
    return "".join(quantified(depth) for _ in range(rng.randint(0, 4)))


def alternation(depth):
    return "|".join(sequence(depth) for _ in range(rng.randint(1, 3) if rng.random() < 0.4 else 1))


def pattern():
    p = alternation(0)
    if rng.random() < 0.2 and "|" not in p:
        p = rng.choice(["^", "\\A", ""]) + p + rng.choice(["$", "\\Z", ""])
    return p


# ---- replies drawn from Python's parse of the pattern ----

def in_category(cat, c):
    o = ord(c)
    if cat == C.CATEGORY_DIGIT:
        return 0x30 <= o <= 0x39
    if cat == C.CATEGORY_NOT_DIGIT:
        return not (0x30 <= o <= 0x39)
    if cat == C.CATEGORY_WORD:
        return o < 128 and (c.isalnum() or c == "_")
    if cat == C.CATEGORY_NOT_WORD:
        return not (o < 128 and (c.isalnum() or c == "_"))
    if cat == C.CATEGORY_SPACE:
        return c in " \t\n\r\f\v"
    if cat == C.CATEGORY_NOT_SPACE:
        return c not in " \t\n\r\f\v"
    raise ValueError(cat)


def in_set(items, c):
    negate = False
    hit = False
    for op, av in items:
        if op == C.NEGATE:
            negate = True
        elif op == C.LITERAL:
            hit |= ord(c) == av
        elif op == C.RANGE:
            hit |= av[0] <= ord(c) <= av[1]
        elif op == C.CATEGORY:
            hit |= in_category(av, c)
        else:
            raise ValueError(op)
    return hit != negate


def pool_for(items):
    pool = list(ALPHABET) + [chr(rng.randint(0x20, 0x7E)) for _ in range(4)] + [chr(rng.randint(0x80, 0xD7FF)), chr(rng.randint(0x10000, 0x10FFFF))]
    for op, av in items:
        if op == C.RANGE:
            pool += [chr(av[0]), chr(av[1]), chr(rng.randint(av[0], av[1]))]
        elif op == C.LITERAL:
            pool.append(chr(av))
    return [c for c in pool if not 0xD800 <= ord(c) <= 0xDFFF]


def draw(parsed):
    out = []
    for op, av in parsed:
        if op == C.LITERAL:
            out.append(chr(av))
        elif op == C.NOT_LITERAL:
            out.append(rng.choice([c for c in pool_for([]) if ord(c) != av]))
        elif op == C.ANY:
            out.append(rng.choice([c for c in pool_for([]) if c != "\n"]))
        elif op == C.IN:
            out.append(rng.choice([c for c in pool_for(av) if in_set(av, c)]))
        elif op == C.CATEGORY:
            out.append(rng.choice([c for c in pool_for([]) if in_category(av, c)]))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            lo, hi, sub = av
            n = rng.randint(lo, min(hi, lo + 3))
            out += [draw(sub) for _ in range(n)]
        elif op == C.SUBPATTERN:
            out.append(draw(av[-1]))
        elif op == C.BRANCH:
            out.append(draw(rng.choice(av[1])))
        elif op == C.AT:
            pass
        else:
            raise ValueError(op)
    return "".join(out)


def near_miss(text, alphabet=ALPHABET):
    """The text with one character (of `alphabet`) inserted, one deleted or one replaced."""
    cs = list(text)
    r = rng.random()
    at = rng.randint(0, len(cs))
    if r < 0.4 or not cs:
        cs.insert(at, rng.choice(alphabet))
    elif r < 0.7:
        del cs[min(at, len(cs) - 1)]
    else:
        cs[min(at, len(cs) - 1)] = rng.choice(alphabet)
    return "".join(cs)


def make(seed, count):
    global rng
    rng = random.Random(seed)
    cases = []
    while len(cases) < count:
        p = pattern()
        compiled = re.compile(p, re.ASCII)
        parsed = sre_parse.parse(p, re.ASCII)
        texts = []
        for _ in range(6):
            try:
                t = draw(parsed)
            except IndexError:  # (a class none of the drawn characters is in: another pattern)
                break
            assert compiled.fullmatch(t), (p, t)
            texts += [t, near_miss(t), near_miss(near_miss(t))]
        if len(texts) == 18:
            cases.append({"pattern": p, "texts": [list(t.encode("utf-8")) for t in texts]})
    return cases


def matches(pattern, data):
    try:
        text = bytes(data).decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        return False
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return False
    return re.fullmatch(pattern, text, re.ASCII) is not None


rng = random.Random(0)
if __name__ == "__main__":
    job = json.load(sys.stdin)
    if "make" in job:
        out = {"cases": make(job["make"]["seed"], job["make"]["count"])}
    else:
        out = {"matches": [[matches(c["pattern"], t) for t in c["texts"]] for c in job["check"]]}
    json.dump(out, sys.stdout)
