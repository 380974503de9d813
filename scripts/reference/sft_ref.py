"""The truth that training on padded examples (TRL's SFT without packing) must reproduce,
computed without any padding: each example runs alone, at its own length, and the loss is the
mean cross-entropy over every predicted token of a step (HF's num_items_in_batch), tokens at
or before the prompt's end excluded, so that no mask, padding or batching is involved.

With "loss_masks" (1 on the tokens learned: the assistant's, TRL's assistant_masks) only those
count; with "loss_type": "dft", each token's loss is TRL's dft_loss term -p.detach() * log p.

usage: sft_ref.py MODEL_DIR SPEC_JSON OUT_SAFETENSORS
  SPEC_JSON: {"examples": [[ids]], "prompt_lengths": [int], "step": [[example index]] (micro-batches),
              optional "loss_masks": [[0|1 per token]], "loss_type": "nll" | "dft"}
  writes: grad.<param> for every parameter after the step's backward, step_loss, and eval_loss
  (the same mean over all examples, no grad)
"""
import json
import sys

import torch

import gpt2_ref
import st


def predicted_ce_sum(model, ids, prompt_length, mask=None, loss_type="nll"):
    """Summed loss of the tokens an example's loss predicts (position k from k - 1, k past the prompt, and in the mask)."""
    x = torch.tensor([ids])
    logits, _, _ = model(x)
    start = max(prompt_length, 1)
    targets = x[0, start:]
    logp = torch.log_softmax(logits[0, start - 1:-1].float(), dim=-1).gather(1, targets.unsqueeze(1)).squeeze(1)
    per_token = -logp if loss_type == "nll" else -logp.exp().detach() * logp
    keep = torch.ones(len(targets), dtype=torch.bool) if mask is None else torch.tensor(mask[start:], dtype=torch.bool)
    return per_token[keep].sum(), int(keep.sum())


def main(model_dir, spec_file, out_file):
    spec = json.load(open(spec_file))
    model = gpt2_ref.from_pretrained(model_dir)
    examples, prompts = spec["examples"], spec["prompt_lengths"]
    masks = spec.get("loss_masks") or [None] * len(examples)
    loss_type = spec.get("loss_type", "nll")
    step = [i for micro in spec["step"] for i in micro]
    total, count = 0.0, 0
    for i in step:
        ce, n = predicted_ce_sum(model, examples[i], prompts[i], masks[i], loss_type)
        total = total + ce
        count += n
    loss = total / count
    loss.backward()
    out = {"grad." + n: p.grad for n, p in model.named_parameters()}
    out["step_loss"] = loss.detach().reshape(1)
    with torch.no_grad():
        # (evaluation reports the cross-entropy whatever the training loss)
        sums = [predicted_ce_sum(model, examples[i], prompts[i], masks[i]) for i in range(len(examples))]
        out["eval_loss"] = (sum(s for s, _ in sums) / sum(n for _, n in sums)).reshape(1)
    st.save(out_file, out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
