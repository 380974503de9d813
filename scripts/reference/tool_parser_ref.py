"""Tool calls read out of a reply as vLLM's tool-call parsers read them, in plain Python.

vLLM's entrypoints/openai/tool_parsers: Hermes2ProToolParser.extract_tool_calls (hermes) and
Llama3JsonToolParser.extract_tool_calls (llama3_json), transcribed from vLLM 0.11 (the JSON
found by its regex and split at ';'; the arguments written by json.dumps(..., ensure_ascii=False)
after json.loads). vLLM uses the regex module, here re (the same for these patterns). vLLM is not
on Debian 12; Python's json module is what decides.

stdin: [{"parser": "hermes" | "llama3_json", "text": reply}]; stdout: [{"tools_called", "content",
"calls": [{"name", "arguments"}]}].
"""
import json
import re
import sys

HERMES_REGEX = re.compile(r"<tool_call>(.*?)</tool_call>|<tool_call>(.*)", re.DOTALL)


def hermes(model_output):
    if "<tool_call>" not in model_output:
        return False, model_output, []
    try:
        function_call_tuples = HERMES_REGEX.findall(model_output)
        raw_function_calls = [json.loads(match[0] if match[0] else match[1]) for match in function_call_tuples]
        calls = [{"name": check_name(c["name"]), "arguments": json.dumps(c["arguments"], ensure_ascii=False)} for c in raw_function_calls]
        content = model_output[:model_output.find("<tool_call>")]
        return True, content if content else None, calls
    except Exception:
        return False, model_output, []


LLAMA_REGEX = re.compile(r"{[^{}]*(?:{[^{}]*}[^{}]*)*}(?:\s*;\s*{[^{}]*(?:{[^{}]*}[^{}]*)*})*", re.DOTALL)


def llama3_json(model_output):
    if not ("<|python_tag|>" in model_output or "{" in model_output):
        return False, model_output, []
    match = LLAMA_REGEX.search(model_output)
    if not match:
        return False, model_output, []
    try:
        json_objects = [obj.strip() for obj in match.group(0).split(";")]
        calls = []
        for json_obj in json_objects:
            if not json_obj:
                continue
            obj = json.loads(json_obj)
            calls.append({"name": check_name(obj["name"]),
                          "arguments": json.dumps(obj["arguments"] if "arguments" in obj else obj["parameters"], ensure_ascii=False)})
        return True, None, calls
    except Exception:
        return False, model_output, []


def check_name(name):
    """vLLM's FunctionCall(name=...) is a pydantic model: a name that is not a string fails there."""
    if not isinstance(name, str):
        raise TypeError("name must be a string")
    return name


def main():
    out = []
    for case in json.load(sys.stdin):
        called, content, calls = (hermes if case["parser"] == "hermes" else llama3_json)(case["text"])
        out.append({"tools_called": called, "content": content, "calls": calls})
    json.dump(out, sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
