"""Assistant masks as transformers makes them: test/fixtures/assistant_masks.json.

For each chat template with {% generation %} blocks (TRL 1.13's training templates in
test/fixtures/chat_templates, and the templates below), conversation and option set, what
transformers' tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True,
return_assistant_tokens_mask=True) gives with GPT-2's tokenizer (and with GPT-2's tokenizer plus
two added special tokens): the rendered text, the generation indices (code points), input_ids and
assistant_masks; or the error it raises.

transformers is not on Debian 12, so CI does not remake this file; run it in a virtual
environment with transformers 5.x (tokenizers backend; torch not needed):

    node -e "require('./dist/lib').tokenizer.savePretrained('/tmp/gpt2-tokenizer')"
    python make_assistant_mask_fixtures.py /tmp/gpt2-tokenizer > test/fixtures/assistant_masks.json
"""
import json
import os
import shutil
import sys
import tempfile

import transformers
from transformers import AutoTokenizer
from transformers.utils.chat_template_utils import render_jinja_template

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE_DIR = os.path.join(HERE, "..", "..", "test", "fixtures", "chat_templates")

# tstorch's CHATML_TRAINING_TEMPLATE (lib/models/tokenizer.ts), kept equal by the test
CHATML_TRAINING = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n'}}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' + '\\n' }}{% endgeneration %}"
    "{% else %}{{ message['content'] + '<|im_end|>' + '\\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# whitespace controls around the tags, a leading newline and indented tags, a block opening on a space
EDGES = (
    "\n  {% if messages[0].role == 'system' %}[{{ messages[0].content }}]\n  {% endif %}\n"
    "{% for m in messages if m.role != 'system' %}\n"
    "  {% if m.role == 'assistant' %}\n"
    "A:  {%- generation -%}   {{ ' ' + m.content }}{% if loop.last %}!{% endif %}\n{%- endgeneration %}\n"
    "  {% else %}\nU: {{ m.content }}\n  {% endif %}\n"
    "{% endfor %}"
)
# two blocks per reply, one of them empty where the reply is
SPLIT = (
    "{% for m in messages %}<{{ m.role }}>"
    "{% if m.role == 'assistant' %}{% generation %}{{ m.content[:3] }}{% endgeneration %}~"
    "{% generation %}{{ m.content[3:] }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}</{{ m.role }}>{% endfor %}"
)

CHATS = {
    "two_turns": [
        {"role": "user", "content": "Bonjour, ça va ?"},
        {"role": "assistant", "content": "Très bien 😀 merci."},
        {"role": "user", "content": "And in English?"},
        {"role": "assistant", "content": "Very well,\nthank you! 🎉"},
    ],
    "system": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Name a color."},
        {"role": "assistant", "content": " Blue "},
    ],
    "user_last": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Tell me a joke."},
    ],
    "assistant_last": [
        {"role": "user", "content": "Complete: the cat"},
        {"role": "assistant", "content": "sat on the mat"},
    ],
    "empty_reply": [
        {"role": "user", "content": "Say nothing."},
        {"role": "assistant", "content": ""},
    ],
}
OPTIONS = {
    "plain": {},
    "generation_prompt": {"add_generation_prompt": True},
    "continue": {"continue_final_message": True},
}
OFFSET_TEXTS = [
    " hello  world é😀x",
    "<|im_start|>user\nnaïve café 東京 🎉🎉<|im_end|>\n<|endoftext|>tail",
    "\n\n  indented\ttab  ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and 'll 've's",
]
SPECIAL = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}


def tokenizers(gpt2_dir):
    """GPT-2's tokenizer, and the same with <|im_start|> and <|im_end|> added as special tokens (ids 50257, 50258)."""
    plain = AutoTokenizer.from_pretrained(gpt2_dir)
    added_dir = tempfile.mkdtemp()
    for f in os.listdir(gpt2_dir):
        shutil.copy(os.path.join(gpt2_dir, f), added_dir)
    with open(os.path.join(added_dir, "tokenizer_config.json")) as f:
        config = json.load(f)
    config["added_tokens_decoder"] = {
        **config.get("added_tokens_decoder", {}),
        "50257": {"content": "<|im_start|>", "special": True, "lstrip": False, "rstrip": False, "normalized": False, "single_word": False},
        "50258": {"content": "<|im_end|>", "special": True, "lstrip": False, "rstrip": False, "normalized": False, "single_word": False},
    }
    with open(os.path.join(added_dir, "tokenizer_config.json"), "w") as f:
        json.dump(config, f)
    added = AutoTokenizer.from_pretrained(added_dir)
    assert added.convert_tokens_to_ids("<|im_end|>") == 50258, "the added tokens did not get ids 50257, 50258"
    return {"gpt2": plain, "gpt2+chatml_tokens": added}


def main():
    toks = tokenizers(sys.argv[1])
    templates = {"chatml_training": CHATML_TRAINING, "edges": EDGES, "split": SPLIT}
    for f in sorted(os.listdir(TEMPLATE_DIR)):
        if f.endswith(".jinja"):
            with open(os.path.join(TEMPLATE_DIR, f), encoding="utf-8") as fh:
                templates[f[: -len(".jinja")]] = fh.read()
    cases = []
    for tname, template in templates.items():
        for cname, chat in CHATS.items():
            for oname, opts in OPTIONS.items():
                if oname == "continue" and chat[-1]["role"] != "assistant":
                    continue
                for kname, tok in toks.items():
                    if kname != "gpt2" and tname not in ("chatml_training", "qwen2_5_training"):
                        continue
                    case = {"template": tname, "chat": cname, "options": oname, "tokenizer": kname}
                    try:
                        out = tok.apply_chat_template(chat, chat_template=template, tokenize=True, return_dict=True,
                                                      return_assistant_tokens_mask=True, **SPECIAL, **opts)
                        text = tok.apply_chat_template(chat, chat_template=template, tokenize=False, **SPECIAL, **opts)
                        _, indices = render_jinja_template(conversations=[chat], chat_template=template,
                                                           return_assistant_tokens_mask=True, **SPECIAL, **opts)
                        case.update(text=text, generation_indices=[list(p) for p in indices[0]],
                                    input_ids=list(out["input_ids"]), assistant_masks=list(out["assistant_masks"]))
                    except Exception as e:  # noqa: BLE001 (the reference's refusals are part of the fixture)
                        case["error"] = f"{type(e).__name__}: {e}"
                    cases.append(case)
    # offset mappings: what the masks are made from
    offsets = []
    for text in OFFSET_TEXTS:
        for kname, tok in toks.items():
            enc = tok(text, return_offsets_mapping=True)
            offsets.append({"tokenizer": kname, "text": text, "input_ids": enc["input_ids"], "offset_mapping": [list(o) for o in enc["offset_mapping"]]})
    head = {"transformers": transformers.__version__, "special": SPECIAL, "chats": CHATS, "options": OPTIONS,
            "templates": {k: v for k, v in templates.items() if k in ("chatml_training", "edges", "split")}, "offsets": offsets}
    # (one case a line: a readable diff when remade)
    out = json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "cases": [\n'
    out += ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n ]\n}\n"
    sys.stdout.write(out)


if __name__ == "__main__":
    main()
