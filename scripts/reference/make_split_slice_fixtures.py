"""Split slicing as Hugging Face `datasets` does it (load_dataset(..., split="train[:10%]+validation[-2:]")):
for test/splits.test.ts, test/fixtures/split_slices/: three small datasets (Parquet shards and a
JSON Lines split; a text file with blank lines; a CSV with quoted newlines) and expected.json, the
rows (or the error) datasets 5's load_dataset gives for each split spec.

Needs `datasets` (not on Debian 12), so CI does not remake it. To remake it:
    python3 -m venv env && env/bin/pip install datasets && env/bin/python make_split_slice_fixtures.py test/fixtures/split_slices
"""
import json
import os
import sys

import datasets

RECORD_SPECS = [
    "train", "train[:10%]", "train[10%:]", "train[-5:]", "train[3:15]", "train[:34%]+validation[-2:]",
    "validation[:-3]", "train[1_0:]", "train[15:5]", "train[50%:40]", "train[:50%](pct1_dropremainder)",
    "train[-110%:]", "train[:5](closest)", "nosuch[:5]", "train[::2]", "train[:33%](closest)",
    "validation[-50%:]", "train[:30]", "train[-30:]", "train[:0]", "train[25%:75%] + validation[:1]",
    "validation[50%:]", "train[:5](pct1)",
]
TEXT_SPECS = ["train[2:6]", "train[-3:]", "train[:50%]", "train[5:]"]
CSV_SPECS = ["train[:25%]", "train[5:]", "train[-2:]"]


def write_layouts(root):
    os.makedirs(os.path.join(root, "records", "data"), exist_ok=True)
    features = datasets.Features({"id": datasets.Value("int64"), "text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])})
    rows = [{"id": i, "text": f"row {i} says {'yes' if i % 3 else 'no'}", "label": i % 2} for i in range(23)]
    datasets.Dataset.from_list(rows[:10], features=features).to_parquet(os.path.join(root, "records", "data", "train-00000-of-00002.parquet"))
    datasets.Dataset.from_list(rows[10:], features=features).to_parquet(os.path.join(root, "records", "data", "train-00001-of-00002.parquet"))
    with open(os.path.join(root, "records", "data", "validation.jsonl"), "w") as f:
        for i in range(7):
            f.write(json.dumps({"id": 100 + i, "text": f"held out {i}", "label": i % 2}) + "\n")
    os.makedirs(os.path.join(root, "text"), exist_ok=True)
    with open(os.path.join(root, "text", "train.txt"), "w", newline="") as f:
        f.write("first line\nsecond line\n\nfourth after a blank\r\nfifth\n\n\nlast but one\nlast\n")
    os.makedirs(os.path.join(root, "csv"), exist_ok=True)
    with open(os.path.join(root, "csv", "train.csv"), "w", newline="") as f:
        f.write("id,text\n")
        for i in range(12):
            text = f'"quoted, with a comma\nand a newline {i}"' if i % 4 == 0 else f"plain {i}"
            f.write(f"{i},{text}\n")


def load(root, builder, data_files, spec):
    try:
        ds = datasets.load_dataset(builder, data_files=data_files, split=spec)
        return {"rows": [dict(r) for r in ds]}
    except Exception as e:  # noqa: BLE001 (the refusals are part of the fixture)
        return {"error": f"{type(e).__name__}: {e}"}


def main():
    root = sys.argv[1]
    write_layouts(root)
    records = {"train": sorted(os.path.join(root, "records", "data", f) for f in os.listdir(os.path.join(root, "records", "data")) if f.startswith("train")),
               "validation": [os.path.join(root, "records", "data", "validation.jsonl")]}
    out = {"records": {}, "text": {}, "csv": {}}
    for spec in RECORD_SPECS:
        # (two builders for one dataset: the parquet train split, the json validation split, read apart and added)
        parts = {}
        try:
            instr = datasets.ReadInstruction.from_spec(spec)
            specs = instr.to_spec().split("+")
        except Exception as e:  # noqa: BLE001
            out["records"][spec] = {"error": f"{type(e).__name__}: {e}"}
            continue
        rows, error = [], None
        for sub in specs:
            name = sub.split("[")[0].split("(")[0]
            builder = "parquet" if name == "train" else "json"
            got = load(root, builder, {name: records[name]} if name in records else {"train": records["train"]}, sub)
            if "error" in got:
                error = got["error"]
                break
            rows += got["rows"]
        out["records"][spec] = {"error": error} if error else {"rows": rows}
    for spec in TEXT_SPECS:
        out["text"][spec] = load(root, "text", {"train": os.path.join(root, "text", "train.txt")}, spec)
    for spec in CSV_SPECS:
        out["csv"][spec] = load(root, "csv", {"train": os.path.join(root, "csv", "train.csv")}, spec)
    out["datasets"] = datasets.__version__
    with open(os.path.join(root, "expected.json"), "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
