"""The argument fields of Hugging Face's TrainingArguments and of TRL's SFTConfig, DPOConfig,
ModelConfig, ScriptArguments and DatasetMixtureConfig, for test/cli.recipes.test.ts (test/fixtures/hf_fields/): every
one must be a tstorch flag or a field lib/cli/hf_fields.ts knows (taken, or refused with what to do),
so that a recipe never stops at "unknown flag". Also TrainingArguments' own JSON dump
(to_json_string: every field at its default), which `tstorch train --config` must run as it is.

Needs transformers and trl (not on Debian 12), so CI does not remake it. To remake it:
    python3 -m venv env && env/bin/pip install transformers trl && env/bin/python make_hf_fields_fixture.py test/fixtures/hf_fields
The field names are read from the sources (dataclass fields), so that trl need not import (it needs torch).
"""
import json
import os
import re
import sys

import transformers


def fields_of(source_file, class_name=None):
    src = open(source_file).read()
    if class_name:
        src = src[src.index(f"class {class_name}"):]
        src = src[:src.find("\nclass ", 1)] if "\nclass " in src[1:] else src
    return re.findall(r"^    ([a-z_0-9]+): [^=\n]+= field\(", src, re.M)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    tf = os.path.dirname(transformers.__file__)
    import importlib.util
    trl = os.path.dirname(importlib.util.find_spec("trl").origin)
    fields = {
        f"transformers {transformers.__version__} TrainingArguments": fields_of(os.path.join(tf, "training_args.py"), "TrainingArguments"),
    }
    from importlib.metadata import version
    for rel, name in [("trainer/sft_config.py", "SFTConfig"), ("trainer/dpo_config.py", "DPOConfig"), ("trainer/model_config.py", "ModelConfig"),
                      ("scripts/utils.py", "ScriptArguments"), ("scripts/utils.py", "DatasetMixtureConfig")]:
        fields[f"trl {version('trl')} {name}"] = fields_of(os.path.join(trl, rel), name)
    with open(os.path.join(out_dir, "fields.json"), "w") as f:
        json.dump(fields, f, indent=1)
    with open(os.path.join(out_dir, "training_args.json"), "w") as f:
        f.write(transformers.TrainingArguments(output_dir="OUT").to_json_string())


if __name__ == "__main__":
    main(sys.argv[1])
