"""On the GPU machine: the real transformers GPT2LMHeadModel and peft LoRA on CUDA, for the
same checkpoint, adapter and ids that tstorch used; writes logits, loss and grads to compare,
and with STEPS the losses and final adapter weights of STEPS LoRA training steps (AdamW lr 1e-3,
weight decay 0.01, gradients clipped to 1, dropout off) from that adapter.
  parity_transformers.py MODEL_DIR ADAPTER_DIR IDS_JSON OUT.safetensors [STEPS]"""
import json
import sys

import torch
from safetensors.torch import save_file
from transformers import GPT2LMHeadModel

model_dir, adapter_dir, ids_json, out = sys.argv[1:5]
dev = "cuda"
model = GPT2LMHeadModel.from_pretrained(model_dir, attn_implementation="eager").to(dev)
model.eval()
ids = torch.tensor(json.load(open(ids_json)), device=dev)
res = {}
out1 = model(ids, labels=ids)
out1.loss.backward()
res["base.logits"] = out1.logits.detach().float().cpu()
res["base.loss"] = out1.loss.detach().reshape(1).cpu()
for n, p in model.named_parameters():
    res["base.grad." + n] = p.grad.detach().float().cpu()
if adapter_dir != "-":
    from peft import PeftModel
    model.zero_grad(set_to_none=True)
    pm = PeftModel.from_pretrained(model, adapter_dir).to(dev)
    pm.eval()
    out2 = pm(input_ids=ids, labels=ids)
    res["lora.logits"] = out2.logits.detach().float().cpu()
    res["lora.loss"] = out2.loss.detach().reshape(1).cpu()
    steps = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    if steps:
        base = GPT2LMHeadModel.from_pretrained(model_dir, attn_implementation="eager").to(dev)
        pm = PeftModel.from_pretrained(base, adapter_dir, is_trainable=True).to(dev)
        pm.eval()  # dropout off: the steps are deterministic on both sides
        params = [p for p in pm.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
        losses = []
        for _ in range(steps):
            loss = pm(input_ids=ids, labels=ids).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.item())
        res["train.losses"] = torch.tensor(losses, dtype=torch.float64)
        for n, p in pm.named_parameters():
            if p.requires_grad:  # base_model.model.X.lora_A.default.weight -> X.lora_A.weight
                res["train." + n.replace("base_model.model.", "", 1).replace(".default.", ".")] = p.detach().float().cpu()
save_file({k: v.contiguous() for k, v in res.items()}, out)
print("ok")
