"""Tool calls read out of a reply as vLLM's tool-call parsers read them, in plain Python.

vLLM's entrypoints/openai/tool_parsers: Hermes2ProToolParser.extract_tool_calls (hermes) and
Llama3JsonToolParser.extract_tool_calls (llama3_json), transcribed (vLLM 0.6 to 0.8; the
arguments written by json.dumps(..., ensure_ascii=False) after json.loads). vLLM is not on
Debian 12; Python's json module is what decides.

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


def llama3_json(model_output):
    bot_token = "<|python_tag|>"
    if not (model_output.startswith(bot_token) or model_output.startswith("{")):
        return False, model_output, []
    try:
        dec = json.JSONDecoder()
        function_call_arr = []
        start_idx = len(bot_token) if model_output.startswith(bot_token) else 0
        while start_idx < len(model_output):
            (obj, end_idx) = dec.raw_decode(model_output[start_idx:])
            start_idx += end_idx + len("; ")
            function_call_arr.append(obj)
        calls = [{"name": check_name(c["name"]),
                  "arguments": json.dumps(c["arguments"] if "arguments" in c else c["parameters"], ensure_ascii=False)}
                 for c in function_call_arr]
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
