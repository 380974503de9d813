"""Chat templates as Hugging Face renders them, and TRL's conversational data, in plain Python.

transformers' apply_chat_template (utils/chat_template_utils.py, transformers 5.x: Jinja2's
ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, raise_exception, strftime_now,
its tojson; the special tokens as variables; continue_final_message by a tag) and TRL's
data_utils (is_conversational, maybe_extract_prompt, apply_chat_template), transcribed; checked
against transformers 5.17 by hand. transformers is not on Debian 12; Jinja2 is (python3-jinja2).

stdin: {"render": [{template, messages, special, add_generation_prompt, continue_final_message,
kwargs}], "rows": [{template, special, row}]}; stdout: {"render": [text | {"error"}], "rows":
[row | {"error"}]}.
"""
import json
import sys
from copy import deepcopy
from datetime import datetime
from itertools import takewhile

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


class AssistantTracker(jinja2.ext.Extension):
    """transformers' {% generation %} ... {% endgeneration %} tag: renders its body (transformers
    also records where, for the assistant mask; the text is the same)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def compile_template(chat_template):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(chat_template)


def render(chat_template, chat, special, add_generation_prompt=False, continue_final_message=False, tools=None, documents=None, **kwargs):
    """tokenizer.apply_chat_template(chat, tokenize=False, ...) for one conversation."""
    if not chat:
        raise ValueError("Cannot apply chat template to an empty conversation. Provide at least one message.")
    if continue_final_message and add_generation_prompt:
        raise ValueError("continue_final_message and add_generation_prompt are not compatible.")
    template_kwargs = {**special, **kwargs}
    compiled = compile_template(chat_template)
    tag = "CONTINUE_FINAL_MESSAGE_TAG "
    if continue_final_message:
        chat = deepcopy(chat)
        field = continue_final_message if isinstance(continue_final_message, str) else "content"
        if (final_message := chat[-1].get(field)) is None:
            raise ValueError(f'continue_final_message is set but the final message has no "{field}" to continue!')
        if field not in chat_template:
            raise ValueError(f'continue_final_message is set to "{field}" but this is not an accepted field in the chat_template')
        elif isinstance(final_message, (list, tuple)):
            for block in reversed(final_message):
                if "text" in block:
                    final_message = block["text"]
                    block["text"] = block["text"] + tag
                    break
            else:
                raise ValueError("continue_final_message is set but we could not find any text to continue in the final message!")
        else:
            chat[-1][field] = chat[-1][field] + tag
    rendered = compiled.render(messages=chat, tools=tools, documents=documents, add_generation_prompt=add_generation_prompt, **template_kwargs)
    if continue_final_message:
        if final_message.strip() not in rendered or tag.strip() not in rendered:
            raise ValueError("continue_final_message is set but the final message does not appear in the chat after applying the chat template!")
        loc = rendered.rindex(tag.strip())
        rendered = rendered[:loc] if rendered[loc: loc + len(tag)] == tag else rendered[:loc].rstrip()
    return rendered


# --- TRL's data_utils ---

def is_conversational(example):
    # (TRL pops a key from a set: any one of them; here the first, in the row's order)
    keys = [k for k in example.keys() if k in ["prompt", "chosen", "rejected", "completion", "messages"]]
    if keys:
        value = example[keys[0]]
        if isinstance(value, list) and value and isinstance(value[0], dict) and "role" in value[0]:
            return True
    return False


def extract_prompt(example):
    for idx in range(min(len(example["chosen"]), len(example["rejected"]))):
        if example["chosen"][idx] != example["rejected"][idx]:
            if example["chosen"][idx - 1] == " ":
                idx -= 1
            break
    return {"prompt": example["chosen"][:idx], "chosen": example["chosen"][idx:], "rejected": example["rejected"][idx:]}


def maybe_extract_prompt(example):
    if "chosen" not in example or "rejected" not in example:
        return example
    if "prompt" in example:
        chosen_conv = is_conversational({"chosen": example["chosen"]})
        prompt_conv = is_conversational({"prompt": example["prompt"]})
        if (chosen_conv and prompt_conv) or (not chosen_conv and not prompt_conv):
            return example
    return extract_prompt({"chosen": example["chosen"], "rejected": example["rejected"]})


def apply_chat_template(example, t):
    keys = {k for k in example.keys() if k in ["prompt", "chosen", "rejected", "completion", "messages", "label"]}
    if keys not in [{"messages"}, {"prompt"}, {"prompt", "completion"}, {"prompt", "chosen", "rejected"}, {"chosen", "rejected"}, {"prompt", "completion", "label"}]:
        raise KeyError(f"Invalid keys in the example: {keys}")
    # (SFT's tokenizing passes each row's tools column, as TRL's SFTTrainer: tools=example.get("tools"))
    kw = {**example.get("chat_template_kwargs", {}), "tools": example.get("tools")}
    if "messages" in example:
        messages = t(example["messages"], **kw)
    if "prompt" in example:
        last_role = example["prompt"][-1]["role"]
        if last_role in ["user", "tool"]:
            agp, cfm = True, False
        elif last_role == "assistant":
            agp, cfm = False, True
        else:
            raise ValueError(f"Invalid role in the last message: {last_role}")
        prompt = t(example["prompt"], continue_final_message=cfm, add_generation_prompt=agp, **kw)
    common = lambda a, b: "".join(x for x, _ in takewhile(lambda x: x[0] == x[1], zip(a, b)))
    if "prompt" in example:
        if "chosen" in example:
            prompt_chosen = t(example["prompt"] + example["chosen"], **kw)
            prompt = common(prompt, prompt_chosen)
        if "rejected" in example:
            prompt_rejected = t(example["prompt"] + example["rejected"], **kw)
            prompt = common(prompt, prompt_rejected)
        if "completion" in example:
            prompt_completion = t(example["prompt"] + example["completion"], **kw)
            prompt = common(prompt, prompt_completion)
        if "chosen" in example:
            chosen = prompt_chosen[len(prompt):]
        if "rejected" in example:
            rejected = prompt_rejected[len(prompt):]
        if "completion" in example:
            completion = prompt_completion[len(prompt):]
    else:
        if "chosen" in example:
            chosen = t(example["chosen"], **kw)
        if "rejected" in example:
            rejected = t(example["rejected"], **kw)
    out = {}
    if "messages" in example:
        out["text"] = messages
    if "prompt" in example:
        out["prompt"] = prompt
    if "chosen" in example:
        out["chosen"] = chosen
    if "rejected" in example:
        out["rejected"] = rejected
    if "completion" in example:
        out["completion"] = completion
    if "label" in example:
        out["label"] = example["label"]
    return out


def trl_row(template, special, row):
    """What TRL's trainers make of a row: maybe_extract_prompt, then maybe_apply_chat_template."""
    row = {**row, **maybe_extract_prompt(row)}  # (datasets' map updates the row: its other columns stay)
    if not is_conversational(row):
        return row
    return apply_chat_template(row, lambda chat, **kw: render(template, chat, special, **kw))


def attempt(f):
    try:
        return f()
    except Exception as e:  # noqa: BLE001 - the error's text is the answer
        return {"error": f"{type(e).__name__}: {e}"}


def main():
    job = json.load(sys.stdin)
    out = {
        "render": [attempt(lambda c=c: render(c["template"], c["messages"], c.get("special", {}), c.get("add_generation_prompt", False),
                                              c.get("continue_final_message", False), c.get("tools"), c.get("documents"), **c.get("kwargs", {})))
                   for c in job.get("render", [])],
        "rows": [attempt(lambda r=r: trl_row(r["template"], r.get("special", {}), r["row"])) for r in job.get("rows", [])],
    }
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
