"""Structural tags (xgrammar's, as vLLM serves them): texts drawn from them and their near misses, and which texts a structural tag accepts.

stdin: {"make": {"seed": S, "count": N, "spec": {...}}}, {"make_specs": {"seed": S, "count": N, "texts": T}} or
{"check": [{"spec": {...}, "texts": [[byte, ...], ...]}, ...]}.
make_specs: N random structural tags (trees of every format, up to 4 deep, kept to xgrammar's rules
on where free text stands) with T texts drawn from each and T near misses.
make: N texts drawn from the format (free text from an alphabet of the tags' own characters, letters
and non-ASCII; JSON by json_ref.py's instances of the schema, compact or spaced; a regex's matches by
regex_ref.py's walk) and N near misses (a byte inserted, deleted or replaced; a tag's end left out).
check: for each text, whether the structural tag accepts it, read as the set of places each format
can end at from a place (not as a machine): const_string the string; json_schema a text json_ref.py's
accepts (a JSON object); regex Python's re.fullmatch (re.ASCII); grammar Lark's Earley parser (the
grammar given in Lark's syntax beside it, "lark"); any_text and triggered_tags' free text from its
place up to the first place where one of its patterns ends: there an exclude ends it all, a stop (the
enclosing tag's end, for free text that ends its tag's content) ends the text with it written, a
trigger dispatches to the tags that begin with it (the rest of the begin, the content, the end; then
free text again, or with stop_after_first the enclosing end); free text without stops may end
anywhere before that. A format runs free (any_text, triggered_tags, tags_with_separator, a sequence
whose last element does, an or whose elements all do): inside a tag it ends at the tag's end itself.
stdout: {"texts": [[byte, ...], ...]}, {"specs": [{"spec": ..., "texts": ...}, ...]} or {"verdicts": [[bool, ...], ...]}.
"""
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import json_ref  # noqa: E402


def normalized(f, tag_expected=False):
    """The format with its shorthands spelled out (optional / star / plus as repeat, a tag's end as a list)."""
    t = f.get("type", "tag" if tag_expected or ("begin" in f and "end" in f) else None)
    g = dict(f, type=t)
    if t in ("optional", "star", "plus"):
        g = {"type": "repeat", "content": f["content"], "min": 0 if t != "plus" else 1, "max": 1 if t == "optional" else -1}
    if g["type"] == "repeat":
        g["content"] = normalized(g["content"])
    if t == "tag":
        g["end"] = [f["end"]] if isinstance(f["end"], str) else f["end"]
        g["content"] = normalized(f["content"])
    if t in ("sequence", "or"):
        g["elements"] = [normalized(e) for e in f["elements"]]
    if t in ("triggered_tags", "tags_with_separator"):
        g["tags"] = [normalized(x, True) for x in f["tags"]]
    return g


def root_format(spec):
    if "format" in spec:
        return normalized(spec["format"])
    return normalized({"type": "triggered_tags", "triggers": spec["triggers"],
                       "tags": [{"begin": s["begin"], "content": {"type": "json_schema", "json_schema": s["schema"]}, "end": s["end"]} for s in spec["structures"]]})


def runs_free(f):
    t = f["type"]
    if t in ("any_text", "triggered_tags", "tags_with_separator"):
        return True
    if t == "sequence":
        return runs_free(f["elements"][-1])
    if t == "or":
        return all(runs_free(e) for e in f["elements"])
    return False


# ---- which texts a format accepts: the places it can end at ----

class Reader:
    def __init__(self, text, lark_texts):
        self.s = text
        self.lark = lark_texts  # (a grammar format's Lark parser, by its EBNF text)
        self.memo = {}

    def ends(self, f, i, stops):
        key = (id(f), i, tuple(stops))
        if key not in self.memo:
            self.memo[key] = frozenset(self._ends(f, i, stops))
        return self.memo[key]

    def _ends(self, f, i, stops):
        s, t = self.s, f["type"]
        if t == "const_string":
            return {i + len(f["value"])} if s.startswith(f["value"], i) else set()
        if t == "json_schema":
            return {j for j in range(i + 1, len(s) + 1) if s[j - 1] in "}]" and json_ref.accepts(f["json_schema"], s[i:j].encode("utf-8"))}
        if t == "regex":
            return {j for j in range(i, len(s) + 1) if re.fullmatch(f["pattern"], s[i:j], re.ASCII)}
        if t == "grammar":
            parser = self.lark[f["grammar"]]
            out = set()
            for j in range(i, len(s) + 1):
                try:
                    parser.parse(s[i:j])
                    out.add(j)
                except Exception:
                    pass
            return out
        if t == "any_text":
            out = set()
            for kind, k, _ in self.free_text(i, f.get("excludes", []), stops, []):
                out.add(k)
            return out
        if t == "sequence":
            places = {i}
            for n, e in enumerate(f["elements"]):
                last = n == len(f["elements"]) - 1
                places = {j for p in places for j in self.ends(e, p, stops if last else [])}
            return places
        if t == "or":
            return {j for e in f["elements"] for j in self.ends(e, i, stops)}
        if t == "repeat":
            hi = float("inf") if f["max"] == -1 else f["max"]
            out = {i} if f["min"] == 0 else set()
            frontier, count, seen = {i}, 0, set()
            while frontier and count < hi:
                count += 1
                frontier = {j for p in frontier for j in self.ends(f["content"], p, [])}
                if count >= f["min"]:
                    out |= frontier
                if hi == float("inf") and count >= f["min"]:
                    frontier -= seen
                    seen |= frontier
            return out
        if t == "tag":
            return self.tag(f, f["begin"], i)
        if t == "triggered_tags":
            return self.triggered(f, i, stops)
        if t == "tags_with_separator":
            return self.separated(f, i, stops)
        raise ValueError(t)

    def tag(self, f, begin, i):
        if not self.s.startswith(begin, i):
            return set()
        at = i + len(begin)
        if runs_free(f["content"]):
            return set(self.ends(f["content"], at, [e for e in f["end"] if e]))
        return {j + len(e) for j in self.ends(f["content"], at, []) for e in f["end"] if self.s.startswith(e, j)}

    def then_stops(self, places, stops):
        """Each place followed by one of the stops (none: the place itself)."""
        if not stops:
            return set(places)
        return {j + len(e) for j in places for e in stops if self.s.startswith(e, j)}

    def free_text(self, i, excludes, stops, triggers):
        """Free text from i: ('end', k) where it may end without a stop, ('stop', k) after a stop, ('trigger', k, t) after trigger t."""
        s = self.s
        patterns = [(p, "exclude") for p in excludes if p] + [(p, "stop") for p in stops if p] + [(p, "trigger") for p in triggers]
        for k in range(i, len(s) + 1):
            hits = [(kind, p) for p, kind in patterns if k - len(p) >= i and s.startswith(p, k - len(p))]
            if hits:
                kinds = [kind for kind, _ in hits]
                if "exclude" in kinds:
                    return
                if "stop" in kinds:
                    yield "stop", k, None
                    return
                for kind, p in hits:
                    yield "trigger", k, p
                return
            if not stops:
                yield "end", k, None

    def triggered(self, f, i, stops):
        stops = [e for e in stops if e]
        tags = f["tags"]
        if f.get("at_least_one") and f.get("stop_after_first"):
            return self.then_stops({j for tag in tags for j in self.tag(tag, tag["begin"], i)}, stops)
        loop = not f.get("stop_after_first")
        out, visited = set(), set()

        def free_from(k0):
            if k0 in visited:
                return
            visited.add(k0)
            for kind, k, trigger in self.free_text(k0, f.get("excludes", []), stops, f["triggers"]):
                if kind in ("end", "stop"):
                    out.add(k)
                    continue
                for tag in tags:
                    if tag["begin"].startswith(trigger):
                        for j in self.tag(tag, tag["begin"][len(trigger):], k):
                            if loop:
                                free_from(j)
                            else:
                                out.update(self.then_stops({j}, stops))

        if f.get("at_least_one"):
            for tag in tags:
                for j in self.tag(tag, tag["begin"], i):
                    free_from(j)
        else:
            free_from(i)
        return out

    def separated(self, f, i, stops):
        stops = [e for e in stops if e]
        tags = f["tags"]

        def any_tag(p):
            return {j for tag in tags for j in self.tag(tag, tag["begin"], p)}

        nothing = self.then_stops({i}, stops)
        if f.get("stop_after_first") or f["separator"] in stops:
            some = self.then_stops(any_tag(i), stops)
        else:
            after, frontier = set(), any_tag(i)
            while frontier:
                after |= frontier
                frontier = {j for p in frontier if self.s.startswith(f["separator"], p) for j in any_tag(p + len(f["separator"]))} - after
            some = self.then_stops(after, stops)
        return some if f.get("at_least_one") else some | nothing


def accepts(spec, data, lark_texts):
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return len(text) in Reader(text, lark_texts).ends(root_format(spec), 0, [])


# ---- texts drawn from a format ----

class Writer:
    def __init__(self, rng, alphabet):
        self.rng = rng
        self.alphabet = alphabet

    def free(self, excludes, stops, triggers):
        """Free text in which none of the patterns is written."""
        rng, out = self.rng, ""
        for _ in range(rng.randint(0, 10)):
            c = rng.choice(self.alphabet)
            if any((out + c).endswith(p) for p in list(excludes) + list(stops) + list(triggers) if p):
                continue
            out += c
        return out

    def write(self, f, stops):
        rng, t = self.rng, f["type"]
        if t == "const_string":
            return f["value"]
        if t == "json_schema":
            value = json_ref.instance(f["json_schema"], f["json_schema"], rng)
            return json.dumps(value, ensure_ascii=rng.random() < 0.5, separators=rng.choice([(",", ":"), (", ", ": ")]))
        if t == "regex":
            import regex_ref
            regex_ref.rng = rng
            return regex_ref.draw(regex_ref.sre_parse.parse(f["pattern"], re.ASCII))
        if t == "grammar":
            return f.get("sample", "")
        if t == "any_text":
            text = self.free(f.get("excludes", []), stops, [])
            return text + (rng.choice(stops) if stops else "")
        if t == "sequence":
            n = len(f["elements"])
            return "".join(self.write(e, stops if k == n - 1 else []) for k, e in enumerate(f["elements"]))
        if t == "or":
            return self.write(rng.choice(f["elements"]), stops)
        if t == "repeat":
            hi = f["min"] + 3 if f["max"] == -1 else f["max"]
            return "".join(self.write(f["content"], []) for _ in range(rng.randint(f["min"], min(hi, f["min"] + 3))))
        if t == "tag":
            return self.tag(f, f["begin"])
        stops = [e for e in stops if e]
        end = rng.choice(stops) if stops else ""
        if t == "triggered_tags":
            tags = f["tags"]
            if f.get("at_least_one") and f.get("stop_after_first"):
                return self.tag(rng.choice(tags), None) + end
            out = self.tag(rng.choice(tags), None) if f.get("at_least_one") else ""
            for _ in range(rng.randint(0, 3)):
                out += self.free(f.get("excludes", []), stops, f["triggers"])
                if rng.random() < 0.7:
                    out += self.tag(rng.choice(tags), None)
                    if f.get("stop_after_first"):
                        return out + end
            return out + self.free(f.get("excludes", []), stops, f["triggers"]) + end
        if t == "tags_with_separator":
            n = rng.randint(1 if f.get("at_least_one") else 0, 1 if f.get("stop_after_first") else 3)
            return f["separator"].join(self.tag(rng.choice(f["tags"]), None) for _ in range(n)) + end
        raise ValueError(t)

    def tag(self, f, begin):
        free = runs_free(f["content"])
        content = self.write(f["content"], [e for e in f["end"] if e] if free else [])
        return f["begin"] + content + ("" if free else self.rng.choice(f["end"]))


def strings_of(f):
    """The strings a format writes itself (its alphabet's source)."""
    out = []
    for key in ("value", "begin", "separator"):
        if isinstance(f.get(key), str):
            out.append(f[key])
    for key in ("end", "triggers", "excludes"):
        v = f.get(key)
        out += [v] if isinstance(v, str) else (v or [])
    for key in ("elements", "tags"):
        for g in f.get(key, []):
            out += strings_of(g)
    if isinstance(f.get("content"), dict):
        out += strings_of(f["content"])
    return out


def make(spec, seed, count):
    rng = random.Random(seed)
    root = root_format(spec)
    alphabet = sorted(set("".join(strings_of(root)))) + list("ab \n") + ["é", "東"]
    writer = Writer(rng, alphabet)
    texts = [writer.write(root, []) for _ in range(count)]
    misses = []
    for text in texts:
        b = bytearray(text.encode("utf-8"))
        op, k = rng.random(), rng.randint(0, max(0, len(b) - 1))
        if op < 0.3:
            b.insert(k, ord(rng.choice([c for c in alphabet if ord(c) < 128])))
        elif op < 0.6 and b:
            del b[k]
        elif op < 0.8 and b:
            b[k] = ord(rng.choice([c for c in alphabet if ord(c) < 128]))
        else:
            cut = [e for e in strings_of(root) if e and e in text]
            if cut:
                e = rng.choice(cut)
                at = text.rfind(e)
                b = bytearray((text[:at] + text[at + len(e):]).encode("utf-8"))
        misses.append(bytes(b))
    return [list(t.encode("utf-8")) for t in texts] + [list(m) for m in misses]


# ---- random structural tags ----

PIECES = ["a", "b", "ab", "<x>", "</x>", "é", ";", "ba", "]]"]
TRIGGERS = ["<f=", "[[", "@"]  # (none begins another: each tag's begin starts with exactly one)
SCHEMAS = [
    {"type": "object", "properties": {"k": {"type": "integer"}}, "required": ["k"]},
    {"type": "object", "properties": {"s": {"type": "string", "maxLength": 3}, "b": {"type": "boolean"}}},
]
PATTERNS = ["[ab]+", "c?d", "x{1,2}y", "(ab|ba)*"]


def random_limited(rng, depth):
    """A format that ends by itself."""
    kinds = ["const", "const", "regex", "json"] + (["sequence", "or", "repeat", "tag"] if depth > 0 else [])
    k = rng.choice(kinds)
    if k == "const":
        return {"type": "const_string", "value": rng.choice(PIECES)}
    if k == "regex":
        return {"type": "regex", "pattern": rng.choice(PATTERNS)}
    if k == "json":
        return {"type": "json_schema", "json_schema": rng.choice(SCHEMAS)}
    if k == "sequence":
        elements = [random_limited(rng, depth - 1) for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.3:  # (free text with excludes may stand before the last element)
            elements.insert(0, {"type": "any_text", "excludes": ["#"]})
        return {"type": "sequence", "elements": elements}
    if k == "or":
        return {"type": "or", "elements": [random_limited(rng, depth - 1) for _ in range(rng.randint(1, 3))]}
    if k == "repeat":
        kind = rng.choice(["optional", "star", "plus", "repeat"])
        content = random_limited(rng, depth - 1)
        if kind == "repeat":
            lo = rng.randint(0, 2)
            return {"type": "repeat", "min": lo, "max": rng.choice([-1, lo, lo + 1]), "content": content}
        return {"type": kind, "content": content}
    return random_tag(rng, depth - 1)


def random_free(rng, depth):
    """A format that runs free: it ends at its tag's end, or at the reply's."""
    kinds = ["any_text", "triggered", "separated"] + (["sequence", "or"] if depth > 0 else [])
    k = rng.choice(kinds)
    if k == "any_text":
        return {"type": "any_text", "excludes": rng.choice([[], ["#"], ["zz", "#"]])}
    if k == "triggered":
        triggers = rng.sample(TRIGGERS, rng.randint(1, 2))
        tags = []
        for _ in range(rng.randint(1, 3)):
            tag = random_tag(rng, max(0, depth - 1))
            tag["begin"] = rng.choice(triggers) + rng.choice(["a>", "b>", ""])
            tags.append(tag)
        f = {"type": "triggered_tags", "triggers": triggers, "tags": tags}
        for flag in ("at_least_one", "stop_after_first"):
            if rng.random() < 0.35:
                f[flag] = True
        if rng.random() < 0.3:
            f["excludes"] = ["#"]
        return f
    if k == "separated":
        f = {"type": "tags_with_separator", "separator": rng.choice([",", "", "; "]), "tags": [random_tag(rng, max(0, depth - 1)) for _ in range(rng.randint(1, 2))]}
        for flag in ("at_least_one", "stop_after_first"):
            if rng.random() < 0.3:
                f[flag] = True
        return f
    if k == "sequence":
        return {"type": "sequence", "elements": [random_limited(rng, depth - 1) for _ in range(rng.randint(0, 2))] + [random_free(rng, depth - 1)]}
    return {"type": "or", "elements": [random_free(rng, depth - 1) for _ in range(rng.randint(1, 2))]}


def random_tag(rng, depth):
    content = random_free(rng, depth) if rng.random() < 0.5 else random_limited(rng, depth)
    begin = rng.choice(["<t>", "(", "", "<x>"])
    end = rng.choice(["</t>", ")", "]]", ["</t>", ")"], ["", "!"]])
    if runs_free(normalized(content)) and not any(e for e in ([end] if isinstance(end, str) else end)):
        end = "</t>"
    return {"type": "tag", "begin": begin, "content": content, "end": end}


def make_specs(seed, count, texts):
    rng = random.Random(seed)
    out = []
    for n in range(count):
        root = random_free(rng, 3) if rng.random() < 0.5 else random_limited(rng, 3)
        spec = {"type": "structural_tag", "format": root}
        out.append({"spec": spec, "texts": make(spec, seed * 1000 + n, texts)})
    return out


def main():
    job = json.load(sys.stdin)
    if "make_specs" in job:
        m = job["make_specs"]
        json.dump({"specs": make_specs(m["seed"], m["count"], m["texts"])}, sys.stdout)
        return
    if "make" in job:
        m = job["make"]
        json.dump({"texts": make(m["spec"], m["seed"], m["count"])}, sys.stdout)
        return
    out = []
    for case in job["check"]:
        lark_texts = {}
        if case.get("lark"):
            import lark
            for ebnf, grammar in case["lark"].items():
                lark_texts[ebnf] = lark.Lark(grammar, parser="earley", lexer="dynamic")
        out.append([accepts(case["spec"], t, lark_texts) for t in case["texts"]])
    json.dump({"verdicts": out}, sys.stdout)


if __name__ == "__main__":
    main()
