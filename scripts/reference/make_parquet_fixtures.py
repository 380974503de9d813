"""Parquet files as Hugging Face `datasets` and pyarrow write them, each beside a .jsonl of the
same rows, for test/data.parquet.test.ts: tstorch must read every .parquet to what the .jsonl says
(and two .json files, datasets' JSON Lines and a JSON array).

Needs `datasets` and `pyarrow`, which Debian 12 does not package, so unlike make_fixtures.py this is
not rerun by CI; the files it wrote are committed in test/fixtures/parquet. To remake them:
    python3 -m venv env && env/bin/pip install datasets && env/bin/python make_parquet_fixtures.py OUT
"""
import json
import os
import random
import sys

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

WORDS = ("the jury said it did find that many of the city's voters were happy with how the election "
         "was run and that the new mayor would keep his word — naïve café résumé 東京 😀").split()
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def sentence(rng, lo=3, hi=12):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def write(ds, out, name, **kw):
    """A datasets.Dataset to NAME.parquet (datasets' own writer) and NAME.jsonl (its rows)."""
    ds.to_parquet(os.path.join(out, name + ".parquet"), **kw)
    with open(os.path.join(out, name + ".jsonl"), "w", encoding="utf-8") as f:
        for row in ds:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = random.Random(0)
    n = 23

    # run_clm's text files; written in row groups of 5 (five groups, the last one short)
    write(datasets.Dataset.from_dict({"text": [sentence(rng) for _ in range(n)] + [""]}), out, "text", batch_size=5)

    # run_classification: a ClassLabel (sst2's label) — stored as int64, its names in the metadata
    features = datasets.Features({"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["negative", "positive"]), "idx": datasets.Value("int32")})
    write(datasets.Dataset.from_dict({"sentence": [sentence(rng) for _ in range(n)], "label": [rng.randint(0, 1) for _ in range(n)], "idx": list(range(n))}, features=features), out, "classification")
    # the same columns, its ids named otherwise (a folder with both is refused)
    features = datasets.Features({"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["bad", "good"]), "idx": datasets.Value("int32")})
    write(datasets.Dataset.from_dict({"sentence": [sentence(rng) for _ in range(3)], "label": [0, 1, 1], "idx": [0, 1, 2]}, features=features), out, "classification_other_names")

    # run_ner: conll2003's tokens and ner_tags, a list of ClassLabels
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")), "ner_tags": datasets.Sequence(datasets.ClassLabel(names=TAGS))})
    toks = [sentence(rng).split() for _ in range(n)]
    write(datasets.Dataset.from_dict({"tokens": toks, "ner_tags": [[rng.randrange(len(TAGS)) for _ in t] for t in toks]}, features=features), out, "ner", batch_size=7)

    # TRL's formats: prompt-completion, preference pairs, unpaired (KTO), reward pairs with margins
    write(datasets.Dataset.from_dict({"prompt": [sentence(rng) + "?" for _ in range(n)], "completion": [" " + sentence(rng) for _ in range(n)]}), out, "prompt_completion")
    write(datasets.Dataset.from_dict({"prompt": [sentence(rng) for _ in range(n)], "chosen": [" " + sentence(rng) for _ in range(n)], "rejected": [" " + sentence(rng) for _ in range(n)]}), out, "preferences")
    write(datasets.Dataset.from_dict({"prompt": [sentence(rng) for _ in range(n)], "completion": [" " + sentence(rng) for _ in range(n)], "label": [rng.random() < 0.6 for _ in range(n)]}), out, "kto")
    write(datasets.Dataset.from_dict({"chosen": [sentence(rng) for _ in range(n)], "rejected": [sentence(rng) for _ in range(n)], "margin": [rng.uniform(0, 3) for _ in range(n)]}), out, "rewards")

    # .json as datasets writes it (JSON Lines under a .json name) and as a JSON array (Alpaca's files)
    datasets.Dataset.from_json(os.path.join(out, "ner.jsonl")).to_json(os.path.join(out, "ner_lines.json"))
    with open(os.path.join(out, "preferences_array.json"), "w", encoding="utf-8") as f:
        json.dump(datasets.Dataset.from_parquet(os.path.join(out, "preferences.parquet")).to_list(), f, ensure_ascii=False, indent=1)

    # Other writers' choices, all of one table: each codec, data page v2, no dictionary, and a
    # table with nulls, nested structs (chat messages) and int64 values past 2^53
    table = pq.read_table(os.path.join(out, "classification.parquet"))
    for codec in ["none", "snappy", "gzip", "zstd", "brotli", "lz4"]:
        pq.write_table(table, os.path.join(out, f"codec_{codec}.parquet"), compression=codec, row_group_size=9)
    pq.write_table(table, os.path.join(out, "page_v2.parquet"), data_page_version="2.0", use_dictionary=False, compression="zstd")
    chats = pa.table({
        "messages": [[{"role": "user", "content": sentence(rng)}, {"role": "assistant", "content": sentence(rng)}] for _ in range(4)],
        "score": [1.5, None, -2.0, 0.25],
        "big": pa.array([1, 2**53 + 1, -(2**62), 7], type=pa.int64()),
        "note": ["a", None, "c", "d"],
    })
    pq.write_table(chats, os.path.join(out, "nested.parquet"))
    with open(os.path.join(out, "nested.json"), "w", encoding="utf-8") as f:
        # int64 values as strings: JSON numbers cannot hold 2^53 + 1
        rows = [{**r, "big": str(r["big"])} for r in chats.to_pylist()]
        json.dump(rows, f, ensure_ascii=False, indent=0)


if __name__ == "__main__":
    main(sys.argv[1])
