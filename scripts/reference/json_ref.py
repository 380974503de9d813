"""JSON objects and their near misses, and which texts are JSON objects, by Python's json module.

stdin: {"make": {"seed": S, "count": N}} or {"check": [text, ...]} (texts as lists of byte values),
or with a JSON Schema: {"make": {"seed": S, "count": N, "schema": {...}}}, {"check": [...], "schema": {...}}
(with "any_root": true, any JSON value is read, not only an object).
make: N texts as bytes: json.dumps of random objects (nested values; unicode, escapes, numbers in
their forms; ensure_ascii either way; compact, spaced or indented), and as many copies with one
byte inserted, deleted or replaced. check: for each text, whether it is one JSON object as the
strict reading OpenAI's json_object asks for: UTF-8 (strict), json.loads with no NaN or Infinity,
a dict, no whitespace before or after it; and within tstorch's limit on whitespace runs.
With a schema, make writes objects the schema accepts (required properties, some optional ones,
in the schema's order; values of their types) and near misses of them (a required property left
out, two swapped, one of the wrong type, an unknown one, a byte changed); check asks also that
python3-jsonschema (Draft 2020-12) accepts the object, under tstorch's reading of a schema as
xgrammar's strict mode: no additional properties where properties are listed and
additionalProperties is not given; nullable (OpenAPI's) adds null to the type; no key repeats, and
the listed properties come in the schema's order; a pattern is read by re.search with re.ASCII (\\d
\\w \\s ASCII's, as ECMA-262's \\d \\w) and a $ ending an alternative as \\Z (ECMA-262's end). Strings with a pattern are drawn by regex_ref.py's walk of
Python's parse of it; those with minLength / maxLength, and integers and numbers with bounds, at and between them.
make_number_ranges / number_ranges: a number schema's bounds and texts around them; which texts are in the range (number_in_range).
stdout: {"texts": [[byte, ...], ...]} or {"objects": [bool, ...]}.
"""
import json
import math
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


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


def is_object(data, any_root=False):
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
        value = json.loads(text, parse_constant=no_constant)
        return any_root or isinstance(value, dict)
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


def resolve(schema, root):
    while isinstance(schema, dict) and ("$ref" in schema or "allOf" in schema):
        if "allOf" in schema:  # (one schema: Pydantic v1's wrapper)
            schema = schema["allOf"][0]
            continue
        _, kind, name = schema["$ref"].split("/")
        schema = root[kind][name]
    return schema


def instance(schema, root, rng, depth=0):
    """A value the schema accepts, its listed properties in the schema's order."""
    schema = resolve(schema, root)
    if schema is True or schema == {}:
        return rng.choice([1, "x", None, [True]])
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return instance(rng.choice(schema[key]), root, rng, depth)
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if schema.get("nullable"):
        types = types + ["null"]
    t = rng.choice(types)
    if t == "object":
        out = {}
        required = schema.get("required", [])
        for name, sub in schema.get("properties", {}).items():
            if name in required or (depth < 4 and rng.random() < 0.5):
                out[name] = instance(sub, root, rng, depth + 1)
        extra = schema.get("additionalProperties", not schema.get("properties"))
        if extra is not False and rng.random() < 0.4:
            out["extra%d" % rng.randint(0, 9)] = instance(True if extra is True else extra, root, rng, depth + 1)
        return out
    if t == "array":
        prefix = schema.get("prefixItems", [])
        lo = max(schema.get("minItems", 0), len(prefix) if rng.random() < 0.8 else 0)
        hi = min(schema.get("maxItems", lo + 3), lo + 3, len(prefix) if schema.get("items") is False else 10**9)
        n = rng.randint(lo, max(lo, hi)) if depth < 4 else lo
        return [instance(prefix[i] if i < len(prefix) else schema.get("items", True), root, rng, depth + 1) for i in range(n)]
    if t == "string" and "pattern" in schema:
        return pattern_instance(schema["pattern"], rng)
    if t == "string" and ("minLength" in schema or "maxLength" in schema):
        lo = schema.get("minLength", 0)
        return "".join(rng.choice(["a", "é", "東", "😀", "\n", '"']) for _ in range(rng.randint(lo, min(schema.get("maxLength", lo + 4), lo + 4))))
    if t == "integer" and any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        lo = max(math.ceil(schema.get("minimum", -10**6)), math.floor(schema.get("exclusiveMinimum", -10**6 - 1)) + 1)
        hi = min(math.floor(schema.get("maximum", 10**6)), math.ceil(schema.get("exclusiveMaximum", 10**6 + 1)) - 1)
        return rng.choice([lo, hi, rng.randint(lo, hi)])
    if t == "number" and any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        lo = max(schema.get("minimum", -1e3), schema.get("exclusiveMinimum", -1e3 - 1) + 1e-3)
        hi = min(schema.get("maximum", 1e3), schema.get("exclusiveMaximum", 1e3 + 1) - 1e-3)
        return rng.choice([lo, hi, round(rng.uniform(lo, hi), 3)])
    return {"string": lambda: rng.choice(["", "Paris", "é東😀", 'q"uote', "nl\n"]), "integer": lambda: rng.choice([0, -3, 42]),
            "number": lambda: rng.choice([0, 2.5, -1e-3, 7]), "boolean": lambda: rng.random() < 0.5, "null": lambda: None}[t]()


def pattern_instance(pattern, rng):
    """A string in which re.search finds the pattern: a match drawn from Python's parse of it (regex_ref.py), text around it where the anchors allow."""
    import regex_ref
    regex_ref.rng = rng
    for _ in range(20):
        text = regex_ref.draw(regex_ref.sre_parse.parse(pattern, re.ASCII))
        if rng.random() < 0.3:
            text = rng.choice(["", "x", "é"]) + text + rng.choice(["", "y", "\n"])
        if re.search(pattern, text, re.ASCII):
            return text
    return text


def near_miss(value, rng):
    """The value with one change somewhere in its objects: a key dropped, two swapped, a value's type changed, a key added."""
    objects = []

    def collect(v):
        if isinstance(v, dict):
            objects.append(v)
            for x in v.values():
                collect(x)
        elif isinstance(v, list):
            for x in v:
                collect(x)
    collect(value)
    if not objects:  # (a bare value at the root: another one in its place)
        return rng.choice([1, "s", None, [], {}, True, 1.5, -11, 131, 10**20, "", "too long a text", "ab-1", 0.25])
    o = rng.choice(objects)
    keys = list(o)
    op = rng.random()
    if op < 0.25 and keys:
        del o[rng.choice(keys)]
    elif op < 0.5 and len(keys) > 1:
        i, j = rng.sample(range(len(keys)), 2)
        keys[i], keys[j] = keys[j], keys[i]
        items = dict(o)
        o.clear()
        o.update((k, items[k]) for k in keys)
    elif op < 0.75 and keys:
        o[rng.choice(keys)] = rng.choice([1, "s", None, [], {}, True, 1.5, -11, 131, 1000, 10**20, "", "too long a text", "AB-12", "ab-123"])
    else:
        o["unknown"] = 1
    return value


def make_for_schema(schema, seed, count):
    rng = random.Random(seed)
    texts = []
    for n in range(count):
        value = instance(schema, schema, rng)
        if n % 2:
            value = near_miss(value, rng)
        kwargs = rng.choice([{}, {"separators": (",", ":")}, {"indent": 2}])
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5, **kwargs).encode("utf-8")
        if rng.random() < 0.1:
            b = bytearray(text)
            b[rng.randrange(len(b))] = rng.choice(b'{}[]",:0 ')
            text = bytes(b)
        texts.append(text)
    return texts


def strict_schema(schema):
    """The schema as tstorch reads it: additionalProperties false where properties are listed and it is not given; nullable as a null type."""
    if isinstance(schema, list):
        return [strict_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict_schema(v) for k, v in schema.items()}
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if out.pop("nullable", False):
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = types + ["null"]
    return out


def in_order(schema, value, root, validator_for):
    """The listed properties of each object come in the schema's order (within the branch of anyOf that accepts it)."""
    schema = resolve(schema, root)
    if not isinstance(schema, dict):
        return True
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return any(validator_for(b).is_valid(value) and in_order(b, value, root, validator_for) for b in schema[key])
    if isinstance(value, dict) and "properties" in schema:
        names = list(schema["properties"])
        places = [names.index(k) for k in value if k in names]
        if places != sorted(places):
            return False
        extra = schema.get("additionalProperties", False)
        return all(in_order(schema["properties"][k] if k in names else extra, v, root, validator_for) for k, v in value.items())
    if isinstance(value, list) and ("items" in schema or "prefixItems" in schema):
        prefix = schema.get("prefixItems", [])
        return all(in_order(prefix[i] if i < len(prefix) else schema.get("items", True), v, root, validator_for) for i, v in enumerate(value))
    return True


def accepts(schema, data, any_root=False):
    import jsonschema
    from jsonschema import ValidationError

    def ascii_pattern(validator, pattern, instance, schema):
        # (as tstorch reads a pattern: Python's re.search, with \d \w \s ASCII's as ECMA-262's \d \w)
        # ($ as ECMA-262's: the text's end, Python's \Z, where a top-level alternative ends with it)
        ecma = re.sub(r"(?<!\\)\$(?=\||$)", r"\\Z", pattern)
        if validator.is_type(instance, "string") and not re.search(ecma, instance, re.ASCII):
            yield ValidationError("%r does not match %r" % (instance, pattern))
    Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": ascii_pattern})
    if not is_object(data, any_root):
        return False

    def unique(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("a key repeats")
        return dict(pairs)
    try:
        value = json.loads(bytes(data).decode("utf-8"), object_pairs_hook=unique)
    except ValueError:
        return False
    strict = strict_schema(schema)
    validator_for = lambda s: Validator(dict(s, **{k: strict[k] for k in ("$defs", "definitions") if k in strict}) if isinstance(s, dict) else s)
    return validator_for(strict).is_valid(value) and in_order(strict, value, strict, validator_for)


# ---- string formats: the texts each is made of, and which are one (an oracle each) ----

FORMATS = ["date-time", "date", "time", "uuid", "ipv4", "ipv6", "email", "uri", "uri-reference", "json-pointer"]


def format_instance(fmt, rng):
    """A valid text of the format."""
    import datetime
    import uuid

    def date():
        if rng.random() < 0.15:
            return "%04d-02-29" % rng.choice([4, 400, 1600, 1996, 2000, 2024, 2400, 9996])
        return datetime.date.fromordinal(rng.randint(1, datetime.date.max.toordinal())).isoformat()

    def time():
        frac = rng.choice(["", ".5", ".123456", ".0"])
        off = rng.choice(["Z", "z", "+00:00", "-05:30", "+23:59"])
        return "%02d:%02d:%02d%s%s" % (rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 60), frac, off)
    if fmt == "date":
        return date()
    if fmt == "time":
        return time()
    if fmt == "date-time":
        return date() + rng.choice("Tt") + time()
    if fmt == "uuid":
        u = str(uuid.UUID(int=rng.getrandbits(128)))
        return u.upper() if rng.random() < 0.3 else u
    if fmt == "ipv4":
        return ".".join(str(rng.choice([0, 1, 9, 10, 99, 100, 199, 200, 249, 250, 255, rng.randint(0, 255)])) for _ in range(4))
    if fmt == "ipv6":
        groups = ["%x" % rng.choice([0, 1, 0xff, 0xabcd, rng.getrandbits(16)]) for _ in range(8)]
        groups = [g.upper() if rng.random() < 0.2 else g.zfill(rng.randint(len(g), 4)) for g in groups]
        if rng.random() < 0.2:  # (an IPv4 address in the last 32 bits)
            groups[6:] = [".".join(str(rng.randint(0, 255)) for _ in range(4))]
        if rng.random() < 0.7:  # ("::" for a run of groups, at either end or inside)
            i = rng.randint(0, len(groups) - 1)
            j = rng.randint(i + 1, len(groups))
            return ":".join(groups[:i]) + "::" + ":".join(groups[j:])
        return ":".join(groups)
    if fmt in ("uri", "uri-reference"):
        chars = "abcXYZ019-._~!$&'()*+,;=:@"
        seg = lambda nz: "".join(rng.choice(chars) if rng.random() < 0.9 else "%%%02X" % rng.randint(0, 255) for _ in range(rng.randint(1 if nz else 0, 5)))
        host = rng.choice(["example.com", "a-b.org", "127.0.0.1", "[::1]", "[2001:db8::7]", "[v7.x:y]", "", "%41b"])
        authority = "//" + rng.choice(["", "user:pw@", "%7E@"]) + host + rng.choice(["", ":", ":8080"])
        path = rng.choice([authority + "".join("/" + seg(False) for _ in range(rng.randint(0, 2))), "/" + seg(True) + "/" + seg(False), seg(True), ""])
        tail = rng.choice(["", "?" + seg(False) + "/?", "#" + seg(False), "?a=1#f"])
        if fmt == "uri-reference" and rng.random() < 0.5:
            return rng.choice([path, "./" + seg(False), "../a/b", "?" + seg(False), "#x"]) + tail
        return rng.choice(["http", "https", "urn", "a+b.c-d", "X1"]) + ":" + path + tail
    if fmt == "json-pointer":
        token = lambda: "".join(rng.choice(["a", "b", "~0", "~1", "é", "東", " ", "0", '"', "\\"]) for _ in range(rng.randint(0, 4)))
        return "".join("/" + token() for _ in range(rng.randint(0, 3)))
    if fmt == "email":
        atom = lambda: "".join(rng.choice("abcXYZ09!#$%&'*+/=?^_`{|}~-") for _ in range(rng.randint(1, 6)))
        label = lambda: rng.choice(["a", "mail", "x-1", "b2b", "9z"])
        return ".".join(atom() for _ in range(rng.randint(1, 2))) + "@" + ".".join(label() for _ in range(rng.randint(1, 2))) + "." + rng.choice(["org", "com", "io", "museum"])
    raise ValueError(fmt)


def format_near_miss(text, rng):
    cs = list(text)
    at = rng.randrange(len(cs) + 1)
    r = rng.random()
    if r < 0.35:
        cs.insert(at, rng.choice("0129-:T.Z+@a é"))
    elif r < 0.65 and cs:
        del cs[min(at, len(cs) - 1)]
    elif cs:
        cs[min(at, len(cs) - 1)] = rng.choice("0123456789-:T.Z+@a")
    return "".join(cs)


def make_formats(seed, count):
    rng = random.Random(seed)
    out = {}
    for fmt in FORMATS:
        texts = []
        for _ in range(count):
            t = format_instance(fmt, rng)
            texts += [t, format_near_miss(t, rng)]
        # (the edges: days past their month's end, February 29 of years that are not leap, hours, octets)
        texts += {"date": ["2023-02-29", "1900-02-29", "2100-02-29", "2024-04-31", "2024-06-31", "2024-12-32", "0000-01-01", "2024-00-10", "20240101", "2024-1-01"],
                  "time": ["24:00:00Z", "23:60:00Z", "23:59:61Z", "12:00:00", "12:00:00+24:00", "12:00:00+01:60", "12:00Z", "12:00:00.Z"],
                  "date-time": ["2024-02-30T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00", "2023-02-29t23:59:60z"],
                  "ipv4": ["256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.04", "0.0.0.0"],
                  "uuid": ["123e4567e89b12d3a456426614174000", "{123e4567-e89b-12d3-a456-426614174000}", "123e4567-e89b-12d3-a456-42661417400g"],
                  "email": ["a@b", "@b.org", "a@.org", "a..b@c.org", "a@b-.org", "a@b.c"],
                  "ipv6": ["::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::",
                           "fe80::1%eth0", "::ffff:1.2.3.4", "::ffff:01.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", ":1::", "1:"],
                  "uri": ["http://a b", "//x", "a:", "1a:b", "http://[::1", "http://[::1]x/", "a:%zz", "a:%4", "http://x:y", "mailto:a@b.c"],
                  "uri-reference": ["", "a:b", ":a", "a/b:c", "%g0", "[x]", "//[v1.a]", "?#"],
                  "json-pointer": ["", "/", "a", "/~", "/~2", "/~01", "//"]}.get(fmt, [])
        out[fmt] = texts
    return out


def rfc3339_full_time(text):
    m = re.fullmatch(r"(\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))", text, re.ASCII)
    if not m:
        return False
    h, mi, sec = int(m[1]), int(m[2]), int(m[3])
    return h < 24 and mi < 60 and sec <= 60 and (m[6] is None or (int(m[6]) < 24 and int(m[7]) < 60))


def rfc3339_full_date(text):
    import calendar
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text, re.ASCII)
    if not m:
        return False
    y, mo, d = int(m[1]), int(m[2]), int(m[3])
    return y >= 1 and 1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1]


def format_accepts(fmt, text):
    """date-time and time: RFC 3339's grammar (a leap second anywhere; years 0001-9999, as Python's
    datetime); the others: python3-jsonschema's Draft 2020-12 format checker."""
    import jsonschema
    if fmt == "date-time":
        return len(text) > 10 and text[10] in "Tt" and rfc3339_full_date(text[:10]) and rfc3339_full_time(text[11:])
    if fmt == "time":
        return rfc3339_full_time(text)
    return jsonschema.Draft202012Validator.FORMAT_CHECKER.conforms(text, fmt)


# ---- a number's bounds: texts around them, and which are in the range (as decimals) ----

BOUND_KEYS = ["minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"]


def random_bound(rng):
    r = rng.random()
    if r < 0.3:
        return rng.randint(-1000, 1000)
    if r < 0.7:
        return round(rng.uniform(-100, 100), rng.randint(1, 4))
    return rng.choice([0, -0.0, 0.1, -0.1, 0.5, 1e-7, -2.5e-5, 1.5e21, 123456.789, -99.99, 3.14159, 1e-3])


def plain(d, rng):
    """A Decimal as JSON writes a number without an exponent (trailing zeros of its fraction kept or not)."""
    text = format(d, "f")
    if "." in text and rng.random() < 0.5:
        text = text.rstrip("0").rstrip(".")
    return text


def make_number_ranges(seed, count):
    """count ranges (a number schema's bounds: one to four of them, mostly the lower below the upper) and texts around and between them."""
    from decimal import Decimal, getcontext, ROUND_FLOOR, ROUND_CEILING
    getcontext().prec = 2000  # (exact: a double's midpoint with its neighbour has up to 1075 digits)
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        keys = [k for k in BOUND_KEYS if rng.random() < 0.45] or [rng.choice(BOUND_KEYS)]
        drawn = [random_bound(rng) for _ in keys]
        if rng.random() < 0.9:  # (lower bounds from the smaller values; a few ranges left as drawn, some of them empty)
            drawn.sort()
        schema = dict(zip(keys, drawn))
        values = [Decimal(repr(float(v))) for v in drawn]
        texts = set()
        for v in values:
            for k in [0, 1, 2, 5, 20]:
                step = Decimal(10) ** -k
                for d in (v, v - step, v + step):
                    texts.add(plain(d, rng))
        # (where a text's double turns: the midpoints between each bound and the doubles beside it, to 30 places and to 35 either way)
        for v in drawn:
            for beside in (math.nextafter(v, -math.inf), math.nextafter(v, math.inf)):
                mid = (Decimal(float(v)) + Decimal(beside)) / 2
                for places in (30, 35):
                    step = Decimal(10) ** -places
                    texts |= {plain(mid.quantize(step, rounding=r), rng) for r in (ROUND_FLOOR, ROUND_CEILING)}
        low, high = float(min(values)) - 1, float(max(values)) + 1
        for _ in range(10):
            texts.add(plain(Decimal(repr(round(rng.uniform(low, high), rng.randint(0, 6)))), rng))
        texts |= {"0", "-0", "0.0", "-0.000", "1e2", "5E-1", "-2.5e-5", "01", "1.", ".5", "+1", "1e21"}
        out.append({"schema": schema, "texts": sorted(texts)})
    return out


def number_in_range(schema, text):
    """Whether the text is a JSON number written without an exponent in at most 32 characters
    (tstorch's rule for a bounded number) whose double (Python's float, as json.loads reads a number
    with a point; Pydantic's and JavaScript's alike) is within the schema's bounds."""
    if len(text) > 32 or not re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?", text):
        return False
    x = float(text)
    b = {k: float(v) for k, v in schema.items()}
    return all([x >= b["minimum"] if "minimum" in b else True, x > b["exclusiveMinimum"] if "exclusiveMinimum" in b else True,
                x <= b["maximum"] if "maximum" in b else True, x < b["exclusiveMaximum"] if "exclusiveMaximum" in b else True])


def main():
    job = json.load(sys.stdin)
    if "make_number_ranges" in job:
        json.dump(make_number_ranges(job["make_number_ranges"]["seed"], job["make_number_ranges"]["count"]), sys.stdout)
        return
    if "number_ranges" in job:
        json.dump([[number_in_range(r["schema"], t) for t in r["texts"]] for r in job["number_ranges"]], sys.stdout)
        return
    if "make_formats" in job:
        json.dump(make_formats(job["make_formats"]["seed"], job["make_formats"]["count"]), sys.stdout)
        return
    if "formats" in job:
        json.dump({fmt: [format_accepts(fmt, t) for t in texts] for fmt, texts in job["formats"].items()}, sys.stdout)
        return
    schema = job.get("schema", (job.get("make") or {}).get("schema"))
    if "make" in job:
        m = job["make"]
        texts = make_for_schema(schema, m["seed"], m["count"]) if schema is not None else make(m["seed"], m["count"])
        json.dump({"texts": [list(t) for t in texts]}, sys.stdout)
    else:
        any_root = job.get("any_root", False)
        json.dump({"objects": [accepts(schema, t, any_root) if schema is not None else is_object(t, any_root) for t in job["check"]]}, sys.stdout)


if __name__ == "__main__":
    main()
