"""Which files make each split of a dataset repository, as Hugging Face `datasets` decides it:
for test/hub.test.ts, each layout (files, and a README.md whose YAML may name configs) with the
split -> files that datasets 5's load_dataset_builder(folder, config) resolves.

Needs `datasets` (not on Debian 12), so CI does not remake it; the output is committed as
test/fixtures/dataset_splits.json. To remake it:
    python3 -m venv env && env/bin/pip install datasets && env/bin/python make_split_fixtures.py OUT.json
"""
import json
import os
import sys
import tempfile

import datasets

LAYOUTS = [
    # push_to_hub's shards: data/{split}-NNNNN-of-NNNNN.parquet
    {"name": "sharded", "files": ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet", "data/validation-00000-of-00001.parquet", "data/test-00000-of-00001.parquet", "README.md", ".gitattributes"]},
    # split names in file names, with datasets' synonyms (dev -> validation, eval -> test)
    {"name": "keywords", "files": ["train.jsonl", "dev.jsonl", "eval.jsonl", "notes.txt"]},
    {"name": "keywords-nested", "files": ["corpus/my_train_part1.csv", "corpus/my-train-part2.csv", "corpus/valid.csv", "corpus/trainer.csv"]},
    # split names as folders
    {"name": "folders", "files": ["train/a.jsonl", "train/b.jsonl", "validation/a.jsonl", "test/x/a.jsonl"]},
    # no split names: everything is train; hidden and special files are not data
    {"name": "plain", "files": ["a.jsonl", "b/c.jsonl", ".hidden/d.jsonl", "__pycache__/e.jsonl", "dataset_info.json"]},
    # gzipped data files: the kind is the extension before .gz (c4's json.gz shards)
    {"name": "gzipped", "files": ["data/train-00000-of-00002.jsonl.gz", "data/train-00001-of-00002.jsonl.gz", "data/validation-00000-of-00001.jsonl.gz", "notes.txt"]},
    {"name": "gzipped-c4", "files": ["en/c4-train.00000-of-00002.json.gz", "en/c4-train.00001-of-00002.json.gz", "en/c4-validation.00000-of-00001.json.gz", "README.md"]},
    # README YAML configs (push_to_hub with config names; glue's layout)
    {"name": "configs", "files": ["sst2/train-00000-of-00001.parquet", "sst2/validation-00000-of-00001.parquet", "cola/train-00000-of-00001.parquet", "cola/test-00000-of-00001.parquet"],
     "readme": "---\nconfigs:\n- config_name: cola\n  data_files:\n  - split: train\n    path: cola/train-*\n  - split: test\n    path: cola/test-*\n- config_name: sst2\n  data_files:\n  - split: train\n    path: sst2/train-*\n  - split: validation\n    path: sst2/validation-*\n  default: true\n---\n# A card\n",
     "configs": [None, "cola", "sst2"]},
    # data_files as a string, a list of patterns, splits with lists of patterns; data_dir; none named: an error
    {"name": "configs-forms", "files": ["x/one.jsonl", "x/two.jsonl", "y/train.jsonl", "y/test.jsonl", "z/all.jsonl"],
     "readme": "---\nconfigs:\n- config_name: listed\n  data_files:\n  - x/two.jsonl\n  - x/one.jsonl\n- config_name: mapped\n  data_files:\n  - split: train\n    path: [x/*.jsonl, z/all.jsonl]\n  - split: test\n    path: y/test.jsonl\n- config_name: dir\n  data_dir: y\n- config_name: single\n  data_files: z/*.jsonl\n---\n",
     "configs": ["listed", "mapped", "dir", "single", None, "nope"]},
]


def resolve(root, config):
    builder = datasets.load_dataset_builder(root, config)
    files = builder.config.data_files or {}
    return {str(split): [os.path.relpath(f, root) for f in fs] for split, fs in files.items()}


def main(out):
    result = []
    for layout in LAYOUTS:
        with tempfile.TemporaryDirectory() as root:
            for f in layout["files"]:
                path = os.path.join(root, f)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as fh:
                    # a row the extension's loader reads (the builder only looks at names)
                    fh.write({"jsonl": '{"text": "a"}\n', "csv": "text\na\n", "txt": "a\n", "json": "{}"}.get(f.rsplit(".", 1)[-1], ""))
            if "readme" in layout:
                with open(os.path.join(root, "README.md"), "w") as fh:
                    fh.write(layout["readme"])
            for config in layout.get("configs", [None]):
                try:
                    expect = resolve(root, config)
                except Exception as e:  # noqa: BLE001 - the refusal is the answer
                    expect = {"error": type(e).__name__}
                result.append({"name": layout["name"], "files": layout["files"], "readme": layout.get("readme"), "config": config, "expect": expect})
    with open(out, "w") as fh:
        json.dump({"datasets": datasets.__version__, "layouts": result}, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
