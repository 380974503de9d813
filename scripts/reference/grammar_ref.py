"""Random grammars in EBNF (vLLM's structured outputs "grammar", as xgrammar and llama.cpp's GBNF
write it), texts they derive and near misses of those, and which texts a grammar accepts, by
python3-lark's Earley parser (an independent reader: the grammar is given to it in Lark's own
syntax, made from the same tree as the EBNF text).

stdin: {"make": {"seed": S, "count": N}} or {"check": [{"lark": text, "texts": [text, ...]}, ...]}.
make: N grammars, each {"ebnf": text, "lark": text, "texts": [...]}: the root rule and a few more,
with literals, classes and their negations, ., groups, alternatives, the repeats * + ? {n} {n,}
{n,m}, references to later rules anywhere and to earlier ones (recursion) after a literal, so
none is left recursive and each has a way out; its EBNF written with comments, line breaks and
escapes in their forms. texts: 8 the grammar derives (drawn at random) and 8 with one character
inserted, deleted or replaced.
check: for each grammar, whether Lark parses each text whole from its start rule.
stdout: the made grammars, or {"verdicts": [[bool, ...], ...]}.
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

POOL = list("abcxyz019 -_+*/()[]{}\"\\\n\t.é東😀")


def make_grammar(rng):
    n = rng.randint(1, 5)

    def chars():
        pool = rng.sample(POOL, rng.randint(1, 5))
        ranges = []
        for c in pool:
            if rng.random() < 0.3:
                hi = chr(min(ord(c) + rng.randint(1, 30), 0x10FFFF))
                ranges.append((c, hi))
            else:
                ranges.append((c, c))
        return ("cls", rng.random() < 0.25, ranges)

    def expr(rule, depth, first):
        """An expression of rule `rule`; `first`: nothing has been read before it in its sequence (no recursion there)."""
        r = rng.random()
        if depth > 2 or r < 0.3:
            return ("lit", "".join(rng.choice(POOL) for _ in range(rng.randint(1, 3))))
        if r < 0.45:
            return chars()
        if r < 0.5:
            return ("any",)
        if r < 0.65 and rule + 1 < n:
            return ("ref", rng.randint(rule + 1, n - 1))
        if r < 0.72 and not first:
            return ("ref", rng.randint(0, rule))  # (recursion, after something read)
        if r < 0.85:
            items = [("lit", rng.choice(POOL))] + [expr(rule, depth + 1, False) for _ in range(rng.randint(0, 2))]
            return ("seq", items)
        if r < 0.93:
            return ("alt", [expr(rule, depth + 1, first) for _ in range(rng.randint(2, 3))])
        lo = rng.randint(0, 2)
        hi = rng.choice([lo, lo + rng.randint(1, 3), None])
        # (a repeat's item reads something, so that x* never repeats an empty one)
        return ("rep", ("seq", [("lit", rng.choice(POOL)), expr(rule, depth + 1, False)]), lo, hi)

    def nullable(e):
        """Whether e may read nothing (a reference: may, to be safe)."""
        k = e[0]
        if k == "lit":
            return e[1] == ""
        if k in ("cls", "any"):
            return False
        if k == "seq":
            return all(nullable(x) for x in e[1])
        if k == "alt":
            return any(nullable(x) for x in e[1])
        if k == "rep":
            return e[2] == 0 or nullable(e[1])
        return True

    def sequence(i):
        """An alternative of rule i: a reference back (recursion) only once something has been read before it, so none is left recursive."""
        items = []
        for _ in range(rng.randint(1, 3)):
            items.append(expr(i, 0, all(nullable(x) for x in items)))
        return ("seq", items)

    rules = []
    for i in range(n):
        # (the first alternative is the way out: literals and later rules only)
        base = ("seq", [("lit", rng.choice(POOL))] + ([("ref", rng.randint(i + 1, n - 1))] if i + 1 < n and rng.random() < 0.5 else []))
        alts = [base] + [sequence(i) for _ in range(rng.randint(0, 2))]
        if rng.random() < 0.15:
            alts.append(("lit", ""))
        rng.shuffle(alts)
        rules.append(alts)
    return rules


def derive(rules, rng):
    def sample(e, depth):
        k = e[0]
        if k == "lit":
            return e[1]
        if k == "any":
            return rng.choice(POOL)
        if k == "cls":
            inside = [c for c in POOL + [chr(ord(lo) + 1) for lo, _ in e[2]] if any(lo <= c <= hi for lo, hi in e[2])]
            if e[1]:
                return rng.choice([c for c in POOL if c not in inside] or ["Z"])
            lo, hi = rng.choice(e[2])
            return rng.choice([lo, hi, chr(rng.randint(ord(lo), ord(hi)))])
        if k == "ref":
            return rule(e[1], depth + 1)
        if k == "seq":
            return "".join(sample(x, depth) for x in e[1])
        if k == "alt":
            return sample(rng.choice(e[1]), depth)
        _, item, lo, hi = e
        count = lo if depth > 8 else rng.randint(lo, lo + 2 if hi is None else hi)
        return "".join(sample(item, depth + 1) for _ in range(count))

    def rule(i, depth):
        alts = rules[i]
        if depth > 8:  # (deep: the way out, which reads no earlier rule)
            alts = [a for a in alts if not refers_back(a, i)] or alts
        return sample(rng.choice(alts), depth)

    def refers_back(e, i):
        k = e[0]
        if k == "ref":
            return e[1] <= i
        if k in ("seq", "alt"):
            return any(refers_back(x, i) for x in e[1])
        if k == "rep":
            return refers_back(e[1], i)
        return False
    return rule(0, 0)


def ebnf_char(c, rng, in_class):
    special = '"\\' if not in_class else ']\\-^'
    if c == "\n":
        return "\\n"
    if c == "\t":
        return rng.choice(["\\t", "\\x09"])
    if c in special or (in_class and c == "["):
        return "\\" + c if c != "[" else "\\["
    if ord(c) > 0x7F and rng.random() < 0.5:
        return "\\u%04X" % ord(c) if ord(c) <= 0xFFFF else "\\U%08x" % ord(c)
    return c


def to_ebnf(rules, rng):
    def text(e, top=False):
        k = e[0]
        if k == "lit":
            return '"' + "".join(ebnf_char(c, rng, False) for c in e[1]) + '"'
        if k == "any":
            return "."
        if k == "cls":
            body = "".join(ebnf_char(lo, rng, True) + ("-" + ebnf_char(hi, rng, True) if hi != lo else "") for lo, hi in e[2])
            return "[" + ("^" if e[1] else "") + body + "]"
        if k == "ref":
            return "r%d" % e[1] if e[1] else "root"
        if k == "seq":
            return " ".join(text(x) for x in e[1]) if top else "(" + " ".join(text(x) for x in e[1]) + ")"
        if k == "alt":
            return "(" + " | ".join(text(x, True) for x in e[1]) + ")"
        _, item, lo, hi = e
        body = text(item)
        if (lo, hi) == (0, None) and rng.random() < 0.7:
            return body + "*"
        if (lo, hi) == (1, None) and rng.random() < 0.7:
            return body + "+"
        if (lo, hi) == (0, 1) and rng.random() < 0.7:
            return body + "?"
        return body + ("{%d}" % lo if hi == lo else "{%d,}" % lo if hi is None else "{%d,%d}" % (lo, hi))
    out = []
    for i, alts in enumerate(rules):
        if rng.random() < 0.3:
            out.append("# the rule %d" % i)
        sep = rng.choice([" | ", "\n  | ", "|"])
        out.append(("root" if i == 0 else "r%d" % i) + rng.choice([" ::= ", "::=", " ::=\n  "]) + sep.join(text(a, True) for a in alts))
    return "\n".join(out) + "\n"


def lark_char(c):
    """A character in a Lark regex literal: Lark turns \\U........ into the character itself and keeps
    other escapes, so a character Python's re reads as syntax is escaped with a backslash."""
    if c.isascii() and c.isalnum():
        return c
    if c.isascii() and c >= " ":
        return "\\" + c
    return "\\U%08x" % ord(c)


def to_lark(rules):
    def text(e):
        k = e[0]
        if k == "lit":
            return "/" + "".join(lark_char(c) for c in e[1]) + "/" if e[1] else ""
        if k == "any":
            return "/(?s:.)/"
        if k == "cls":
            body = "".join(lark_char(lo) + ("-" + lark_char(hi) if hi != lo else "") for lo, hi in e[2])
            return "/[" + ("^" if e[1] else "") + body + "]/"
        if k == "ref":
            return "r%d" % e[1]
        if k == "seq":
            return "(" + " ".join(text(x) for x in e[1]) + ")" if e[1] else ""
        if k == "alt":
            return "(" + " | ".join(text(x) for x in e[1]) + ")"
        _, item, lo, hi = e
        body = "(" + text(item) + ")"
        if hi == 0:
            return ""
        if hi is None:
            return ("%s ~ %d " % (body, lo) if lo else "") + body + "*"
        return "(%s ~ %d..%d)?" % (body, max(lo, 1), hi) if lo == 0 else "%s ~ %d..%d" % (body, lo, hi)
    lines = ["start: r0"]
    for i, alts in enumerate(rules):
        lines.append("r%d: %s" % (i, " | ".join(text(a) for a in alts)))
    return "\n".join(lines) + "\n"


def make(seed, count):
    import regex_ref  # (its near misses: one character inserted, deleted or replaced)
    rng = regex_ref.rng = random.Random(seed)
    out = []
    for _ in range(count):
        rules = make_grammar(rng)
        texts = [derive(rules, rng) for _ in range(8)]
        texts += [regex_ref.near_miss(t, POOL) for t in texts]
        out.append({"ebnf": to_ebnf(rules, rng), "lark": to_lark(rules), "texts": texts})
    return out


def check(items):
    from lark import Lark
    from lark.exceptions import LarkError
    verdicts = []
    for item in items:
        parser = Lark(item["lark"], start="start", parser="earley", lexer="dynamic")
        row = []
        for t in item["texts"]:
            try:
                parser.parse(t)
                row.append(True)
            except LarkError:
                row.append(False)
        verdicts.append(row)
    return verdicts


if __name__ == "__main__":
    job = json.load(sys.stdin)
    if "make" in job:
        json.dump(make(job["make"]["seed"], job["make"]["count"]), sys.stdout)
    else:
        json.dump({"verdicts": check(job["check"])}, sys.stdout)
