"""Datasets saved by Hugging Face's save_to_disk, for test/data.arrow.test.ts: test/fixtures/arrow/
single (Dataset.save_to_disk in two shards) and dict (DatasetDict.save_to_disk: train, validation),
with expected.json: the rows datasets' load_from_disk gives back (int64 past 2^53 as decimal
strings, as tstorch gives them), and the ClassLabel names.

Needs `datasets` (not on Debian 12), so CI does not remake them. To remake:
    python3 -m venv env && env/bin/pip install datasets && env/bin/python make_arrow_fixtures.py test/fixtures/arrow
"""
import json
import os
import shutil
import sys

import datasets


def jsonable(v):
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53:
        return str(v)
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    return v


def main(out):
    shutil.rmtree(out, ignore_errors=True)
    features = datasets.Features({
        "id": datasets.Value("int64"), "text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"]),
        "tags": datasets.Sequence(datasets.ClassLabel(names=["O", "B-PER", "I-PER"])), "score": datasets.Value("float32"),
        "ok": datasets.Value("bool"), "meta": {"source": datasets.Value("string"), "n": datasets.Value("int32")},
        "words": datasets.Sequence(datasets.Value("string")),
    })
    rows = [{"id": i if i != 3 else 2**60 + 1, "text": f"row {i}: é😀, \"quoted\"", "label": i % 2, "tags": [i % 3, 0],
             "score": i / 3, "ok": i % 2 == 0, "meta": {"source": "x" if i != 2 else None, "n": i}, "words": ["a", "b"][: i % 3]} for i in range(7)]
    ds = datasets.Dataset.from_list(rows, features=features)
    ds.save_to_disk(os.path.join(out, "single"), num_shards=2)
    datasets.DatasetDict({"train": ds, "validation": ds.select(range(3))}).save_to_disk(os.path.join(out, "dict"))
    expected = {
        "datasets": datasets.__version__,
        "single": jsonable(datasets.load_from_disk(os.path.join(out, "single")).to_list()),
        "dict": {k: jsonable(v.to_list()) for k, v in datasets.load_from_disk(os.path.join(out, "dict")).items()},
        "class_labels": {"label": features["label"].names, "tags": features["tags"].feature.names},
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
