"""Sliding-window perplexity, as Hugging Face's guide "Perplexity of fixed-length models" computes
it, in plain PyTorch: the reference for ExampleDataset.slidingWindows with evaluate().

The guide's loop, one window at a time: windows of max_length tokens every stride tokens, the
labels of tokens an earlier window already predicted set to -100. The loss here is the exact mean
over every predicted token (each window's summed cross-entropy over its own count); the guide
weights each window's mean by its label count minus one, which is one token short for every window
after the first: that figure is written too, as hf_guide_loss.

usage: perplexity_ref.py MODEL_DIR SPEC_JSON OUT_JSON
  SPEC_JSON: {"ids": [token ids], "max_length": int, "strides": [int]}
  writes: [{"stride", "loss", "predicted", "windows", "hf_guide_loss", "correct"}] one per stride
  (correct: the predicted tokens whose label is the argmax of the logits before it)
"""
import json
import sys

import torch
import torch.nn.functional as F

import gpt2_ref


def sliding(model, ids, max_length, stride):
    seq_len = ids.size(1)
    nll_sum, n_tokens, prev_end_loc, windows, correct = 0.0, 0, 0, 0, 0
    guide_sum, guide_tokens = 0.0, 0
    for begin_loc in range(0, seq_len, stride):
        end_loc = min(begin_loc + max_length, seq_len)
        trg_len = end_loc - prev_end_loc
        input_ids = ids[:, begin_loc:end_loc]
        target_ids = input_ids.clone()
        target_ids[:, :-trg_len] = -100
        logits, loss, _ = model(input_ids, labels=target_ids)
        shift_logits, shift_labels = logits[0, :-1], target_ids[0, 1:]
        nll_sum += F.cross_entropy(shift_logits, shift_labels, ignore_index=-100, reduction="sum").item()
        n_tokens += (shift_labels != -100).sum().item()
        # next-token accuracy (run_clm's compute_metrics, over the predicted tokens)
        correct += ((shift_logits.argmax(-1) == shift_labels) & (shift_labels != -100)).sum().item()
        num_loss_tokens = (target_ids != -100).sum().item() - target_ids.size(0)
        guide_sum += loss.item() * num_loss_tokens
        guide_tokens += num_loss_tokens
        windows += 1
        prev_end_loc = end_loc
        if end_loc == seq_len:
            break
    return {"loss": nll_sum / n_tokens, "predicted": n_tokens, "windows": windows, "hf_guide_loss": guide_sum / guide_tokens, "correct": correct}


def main(model_dir, spec_file, out_file):
    spec = json.load(open(spec_file))
    model = gpt2_ref.from_pretrained(model_dir)
    ids = torch.tensor([spec["ids"]])
    with torch.no_grad():
        out = [dict(stride=s, **sliding(model, ids, spec["max_length"], s)) for s in spec["strides"]]
    # (the guide's figure is NaN where a window has no label left, its mean loss being 0 / 0: null)
    out = [{k: (None if isinstance(v, float) and v != v else v) for k, v in o.items()} for o in out]
    json.dump(out, open(out_file, "w"))


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(*sys.argv[1:])
