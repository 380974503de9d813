"""A chat reply's reasoning read out of it as vLLM's reasoning parsers read it, in plain Python.

vLLM's reasoning/basic_parsers.py BaseThinkingReasoningParser.extract_reasoning (deepseek_r1 is that
parser with <think> and </think>) and qwen3_reasoning_parser.py Qwen3ReasoningParser.extract_reasoning
(enable_thinking from chat_template_kwargs; a <tool_call> followed by <function=...> ends the
reasoning), transcribed; then, as vLLM's chat serving does for a whole reply, the tool calls read in
what follows the reasoning (tool_parser_ref.py's hermes) and the message's content chosen.
vLLM is not on Debian 12; these are its rules written out.

stdin: [{"parser": "deepseek_r1" | "qwen3", "thinking": bool, "text": reply, "tools": bool}];
stdout: [{"reasoning", "content", "tool_calls": [{"name", "arguments"}] | null}].
"""
import json
import re
import sys

from tool_parser_ref import hermes

START, END = "<think>", "</think>"
RE_FUNCTION_OPEN = re.compile(r"<function[\s=]")


def deepseek_r1(model_output):
    parts = model_output.partition(START)
    model_output = parts[2] if parts[1] else parts[0]
    if END not in model_output:
        return model_output, None
    reasoning, _, content = model_output.partition(END)
    return reasoning, content or None


def qwen3(model_output, thinking_enabled):
    parts = model_output.partition(START)
    model_output = parts[2] if parts[1] else parts[0]
    if END in model_output:
        reasoning, _, content = model_output.partition(END)
        return reasoning, content or None
    if not thinking_enabled:
        return None, model_output
    tool_call_index = model_output.find("<tool_call>")
    if tool_call_index != -1:
        after_tc = model_output[tool_call_index + len("<tool_call>"):]
        if RE_FUNCTION_OPEN.match(after_tc.lstrip()):
            reasoning = model_output[:tool_call_index]
            content = model_output[tool_call_index:]
            return reasoning or None, content or None
    return model_output, None


def message(case):
    if case["parser"] == "deepseek_r1":
        reasoning, content = deepseek_r1(case["text"])
    else:
        reasoning, content = qwen3(case["text"], case["thinking"])
    if not case.get("tools"):
        return {"reasoning": reasoning, "content": content, "tool_calls": None}
    called, tool_content, calls = hermes(content if content is not None else "")
    if called:
        return {"reasoning": reasoning, "content": tool_content, "tool_calls": calls}
    # (serving_chat: the tool parser's content where it gave some, else the reasoning parser's)
    return {"reasoning": reasoning, "content": tool_content if tool_content else content, "tool_calls": None}


def main():
    json.dump([message(case) for case in json.load(sys.stdin)], sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
