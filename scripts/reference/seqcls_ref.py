"""Reference for tstorch's GPT2ForSequenceClassification (test/sequence_classification.test.ts):
transformers' GPT2ForSequenceClassification in plain PyTorch, after modeling_gpt2.py: score (a
bias-free Linear) applied to every position's final hidden state, the logits of each row's last
non-pad token taken ((arange * (ids != pad)).argmax(-1)), and the loss of config.problem_type
(inferred as HF does: 1 label regression with MSELoss on the squeezed logits, integer labels
CrossEntropyLoss, else BCEWithLogitsLoss). Training is HF's Trainer with a PEFT LoRA model of
task_type SEQ_CLS (LoRA on c_attn, c_proj, c_fc; score trained in full as PEFT's modules_to_save):
AdamW over the decay groups, a linear schedule with warmup, clip_grad_norm_(1.0), batches in the
given order, right-padded with the pad token, each step's loss the batch mean. Also
GPT2ForTokenClassification (a label per token, PEFT's TOKEN_CLS) and TRL's RewardTrainer.

Usage: seqcls_ref.py SPEC.json INPUTS.safetensors OUT.safetensors
SPEC: {"model_dir", "pad",
       "forward": [{"name", "num_labels", "ids": [[...]], "mask": [[...]] | null, "labels", "float_labels", "problem_type": null | str}],
       "train": null | {"num_labels", "examples": [{"ids", "label"}], "eval_examples": [...], "batches": [[index, ...], ...],
                        "lr", "weight_decay", "warmup", "label_smoothing"},
       "reward": null | {"pairs": [{"chosen", "rejected", "margin"?}], "eval_pairs", "batches", "lr", "weight_decay", "warmup", "center"},
       "token": null | {"num_labels", "forward": {"ids", "mask", "labels"}, "examples": [{"ids", "labels"}], "eval_examples", "batches", "lr", "weight_decay", "warmup"}}
INPUTS: score<L>: the head for L labels; tok.classifier.weight / .bias: the token classifier's head;
init.<name>: the trained tensors' starting values.
Written: <name>.logits, <name>.loss, <name>.grad.<param> (every parameter, full backward);
train.losses, train.eval (loss, accuracy after training), train.final.<name>; reward.losses, reward.eval, reward.final.<name>;
token.logits, token.loss, token.grad.<param>, token.losses, token.eval, token.final.<name>; with
"tag_names" in token, token.entities (run_ner's seqeval scores on the eval set: precision, recall,
f1, accuracy, predicted and gold entity counts).
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import gpt2_ref  # noqa: E402
import lora_ref  # noqa: E402
import st  # noqa: E402
import seqeval_ref  # noqa: E402
import train_ref  # noqa: E402


class GPT2ForSequenceClassification(nn.Module):
    def __init__(self, cfg, num_labels, pad, problem_type=None):
        super().__init__()
        self.transformer = gpt2_ref.Transformer(cfg)
        self.score = nn.Linear(cfg["n_embd"], num_labels, bias=False)
        self.num_labels, self.pad, self.problem_type = num_labels, pad, problem_type

    def forward(self, input_ids, attention_mask=None, labels=None):
        hidden, _ = self.transformer(input_ids, attention_mask)
        logits = self.score(hidden)
        B = input_ids.shape[0]
        non_pad_mask = (input_ids != self.pad).to(torch.int32)
        token_indices = torch.arange(input_ids.shape[-1], dtype=torch.int32)
        last_non_pad_token = (token_indices * non_pad_mask).argmax(-1)
        pooled_logits = logits[torch.arange(B), last_non_pad_token]
        loss = None
        if labels is not None:
            if self.problem_type is None:
                if self.num_labels == 1:
                    self.problem_type = "regression"
                elif labels.dtype in (torch.long, torch.int):
                    self.problem_type = "single_label_classification"
                else:
                    self.problem_type = "multi_label_classification"
            if self.problem_type == "regression":
                loss = F.mse_loss(pooled_logits.squeeze(), labels.squeeze()) if self.num_labels == 1 else F.mse_loss(pooled_logits, labels)
            elif self.problem_type == "single_label_classification":
                loss = F.cross_entropy(pooled_logits.view(-1, self.num_labels), labels.view(-1))
            else:
                loss = F.binary_cross_entropy_with_logits(pooled_logits, labels)
        return pooled_logits, loss


class GPT2ForTokenClassification(nn.Module):
    """transformers' GPT2ForTokenClassification: dropout (classifier_dropout) then a Linear with
    bias at every position; CrossEntropyLoss (ignore_index -100) over the flattened positions."""

    def __init__(self, cfg, num_labels):
        super().__init__()
        self.transformer = gpt2_ref.Transformer(cfg)
        self.dropout = nn.Dropout(cfg["classifier_dropout"] if cfg.get("classifier_dropout") is not None else 0.1)
        self.classifier = nn.Linear(cfg["n_embd"], num_labels)
        self.num_labels = num_labels

    def forward(self, input_ids, attention_mask=None, labels=None):
        hidden, _ = self.transformer(input_ids, attention_mask)
        logits = self.classifier(self.dropout(hidden))
        loss = None if labels is None else F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return logits, loss


def load(spec, inputs, num_labels, problem_type=None):
    d = spec["model_dir"]
    cfg = json.load(open(os.path.join(d, "config.json")))
    model = GPT2ForSequenceClassification(cfg, num_labels, spec["pad"], problem_type)
    sd = {(k if k.startswith("transformer.") else "transformer." + k): v for k, v in st.load(os.path.join(d, "model.safetensors")).items()}
    sd["score.weight"] = inputs[f"score{num_labels}"]
    model.load_state_dict(sd)
    return model.eval()


def label_tensor(labels):
    t = torch.tensor(labels)
    return t if t.dtype == torch.long else t.to(torch.float32)


def collate(examples, pad):
    T = max(len(e["ids"]) for e in examples)
    ids = torch.tensor([e["ids"] + [pad] * (T - len(e["ids"])) for e in examples])
    mask = torch.tensor([[1] * len(e["ids"]) + [0] * (T - len(e["ids"])) for e in examples])
    return ids, mask, label_tensor([e["label"] for e in examples])


def forward_case(spec, case, inputs):
    model = load(spec, inputs, case["num_labels"], case.get("problem_type"))
    ids = torch.tensor(case["ids"])
    mask = torch.tensor(case["mask"]) if case.get("mask") else None
    labels = torch.tensor(case["labels"], dtype=torch.float32 if case["float_labels"] else torch.long)
    logits, loss = model(ids, mask, labels)
    loss.backward()
    out = {f"{case['name']}.logits": logits.detach(), f"{case['name']}.loss": loss.detach().reshape(1)}
    for n, p in model.named_parameters():
        out[f"{case['name']}.grad.{n}"] = p.grad
    return out


def load_token(spec, inputs, num_labels):
    d = spec["model_dir"]
    model = GPT2ForTokenClassification(json.load(open(os.path.join(d, "config.json"))), num_labels)
    sd = {(k if k.startswith("transformer.") else "transformer." + k): v for k, v in st.load(os.path.join(d, "model.safetensors")).items()}
    sd["classifier.weight"], sd["classifier.bias"] = inputs["tok.classifier.weight"], inputs["tok.classifier.bias"]
    model.load_state_dict(sd)
    return model.eval()


def peft_seqcls(spec, inputs, num_labels, problem_type=None, token=False):
    """The classifier with PEFT LoRA (r 4, alpha 8) on c_attn, c_proj and c_fc, task_type SEQ_CLS
    (TOKEN_CLS with token): the head trained in full (a module to save); every trained tensor from
    inputs' init.<name>."""
    model = load_token(spec, inputs, num_labels) if token else load(spec, inputs, num_labels, problem_type)
    lora_ref.wrap(model, lambda m: lora_ref.PeftLoraConv1D(m, r=4, alpha=8))
    for n, p in model.named_parameters():
        p.requires_grad = "lora_" in n or n.startswith(("score.", "classifier."))
    params = dict(model.named_parameters())
    with torch.no_grad():
        for k, v in inputs.items():
            if k.startswith("init."):
                params[k[5:]].copy_(v)
    return model


def train(spec, inputs):
    t = spec["train"]
    model = peft_seqcls(spec, inputs, t["num_labels"])
    opt, sched, groups, trainable = train_ref.hf_optimizer(model, t["lr"], t["weight_decay"], len(t["batches"]), t["warmup"])
    losses = []
    for batch in t["batches"]:
        ids, mask, labels = collate([t["examples"][i] for i in batch], spec["pad"])
        logits, loss = model(ids, mask, labels)
        if t.get("label_smoothing"):
            # HF's LabelSmoother on the model's logits (the model's own loss unused)
            loss = F.cross_entropy(logits, labels, label_smoothing=t["label_smoothing"])
        losses.append(train_ref.hf_step(loss, trainable, opt, sched))
    with torch.no_grad():
        ids, mask, labels = collate(t["eval_examples"], spec["pad"])
        logits, loss = model(ids, mask, labels)
        accuracy = (logits.argmax(-1) == labels).float().mean()
    return {"train.losses": torch.tensor(losses, dtype=torch.float64), "train.eval": torch.stack([loss, accuracy]),
            **train_ref.final_tensors("train", groups)}


def pad(seqs, pad_id):
    T = max(len(x) for x in seqs)
    ids = torch.tensor([x + [pad_id] * (T - len(x)) for x in seqs])
    mask = torch.tensor([[1] * len(x) + [0] * (T - len(x)) for x in seqs])
    return ids, mask


def reward(spec, inputs):
    """TRL's RewardTrainer with a PEFT SEQ_CLS model: chosen and rejected padded and scored
    apart (its collator), -logsigmoid(r_c - r_r - margin) per pair, averaged, plus
    center_rewards_coefficient * mean((r_c + r_r)^2)."""
    t = spec["reward"]
    model = peft_seqcls(spec, inputs, 1, "regression")
    opt, sched, groups, trainable = train_ref.hf_optimizer(model, t["lr"], t["weight_decay"], len(t["batches"]), t["warmup"])

    def loss_of(pairs):
        rc = model(*pad([p["chosen"] for p in pairs], spec["pad"]))[0].squeeze(-1)
        rr = model(*pad([p["rejected"] for p in pairs], spec["pad"]))[0].squeeze(-1)
        margin = torch.tensor([p.get("margin", 0.0) for p in pairs])
        loss = -F.logsigmoid(rc - rr - margin).mean()
        if t["center"] is not None:
            loss = loss + t["center"] * torch.mean((rc + rr) ** 2)
        return loss, (rc > rr).float().mean()

    losses = []
    for batch in t["batches"]:
        loss, _ = loss_of([t["pairs"][i] for i in batch])
        losses.append(train_ref.hf_step(loss, trainable, opt, sched))
    with torch.no_grad():
        eval_loss, accuracy = loss_of(t["eval_pairs"])
    return {"reward.losses": torch.tensor(losses, dtype=torch.float64), "reward.eval": torch.stack([eval_loss, accuracy]),
            **train_ref.final_tensors("reward", groups)}


def token(spec, inputs):
    """GPT2ForTokenClassification: one forward and backward (logits, loss, every gradient), then
    HF's Trainer with a PEFT TOKEN_CLS model on the given batches (right-padded, labels -100)."""
    t = spec["token"]
    model = load_token(spec, inputs, t["num_labels"])
    f = t["forward"]
    logits, loss = model(torch.tensor(f["ids"]), torch.tensor(f["mask"]), torch.tensor(f["labels"]))
    loss.backward()
    out = {"token.logits": logits.detach(), "token.loss": loss.detach().reshape(1)}
    out.update({f"token.grad.{n}": p.grad for n, p in model.named_parameters()})
    model = peft_seqcls(spec, inputs, t["num_labels"], token=True)
    opt, sched, groups, trainable = train_ref.hf_optimizer(model, t["lr"], t["weight_decay"], len(t["batches"]), t["warmup"])

    def batch(examples):
        T = max(len(e["ids"]) for e in examples)
        ids = torch.tensor([e["ids"] + [spec["pad"]] * (T - len(e["ids"])) for e in examples])
        mask = torch.tensor([[1] * len(e["ids"]) + [0] * (T - len(e["ids"])) for e in examples])
        labels = torch.tensor([e["labels"] + [-100] * (T - len(e["labels"])) for e in examples])
        return ids, mask, labels

    losses = []
    for b in t["batches"]:
        losses.append(train_ref.hf_step(model(*batch([t["examples"][i] for i in b]))[1], trainable, opt, sched))
    with torch.no_grad():
        ids, mask, labels = batch(t["eval_examples"])
        logits, eval_loss = model(ids, mask, labels)
        labelled = labels != -100
        accuracy = (logits.argmax(-1) == labels)[labelled].float().mean()
    if t.get("tag_names"):
        # run_ner's compute_metrics: each sentence's labelled tags and predictions by name, through seqeval
        names = t["tag_names"]
        preds = logits.argmax(-1).tolist()
        gold = [[names[l] for l in row if l != -100] for row in labels.tolist()]
        guess = [[names[p] for p, l in zip(prow, lrow) if l != -100] for prow, lrow in zip(preds, labels.tolist())]
        o = seqeval_ref.report(gold, guess)["overall"]
        out["token.entities"] = torch.tensor([o["precision"], o["recall"], o["f1"], o["accuracy"], o["predicted"], o["gold"]], dtype=torch.float64)
    out.update({"token.losses": torch.tensor(losses, dtype=torch.float64), "token.eval": torch.stack([eval_loss, accuracy]), **train_ref.final_tensors("token", groups)})
    return out


if __name__ == "__main__":
    torch.set_num_threads(1)
    spec_path, inputs_path, out_path = sys.argv[1:4]
    spec = json.load(open(spec_path))
    inputs = st.load(inputs_path)
    out = {}
    for case in spec["forward"]:
        out.update(forward_case(spec, case, inputs))
    if spec.get("train"):
        out.update(train(spec, inputs))
    if spec.get("reward"):
        out.update(reward(spec, inputs))
    if spec.get("token"):
        out.update(token(spec, inputs))
    st.save(out_path, out)
