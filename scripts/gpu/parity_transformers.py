"""On the GPU machine: the real transformers GPT2LMHeadModel and peft LoRA on CUDA, for the
same checkpoint, adapter and ids that tstorch used; writes logits, loss and grads to compare.
  parity_transformers.py MODEL_DIR ADAPTER_DIR IDS_JSON OUT.safetensors"""
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
save_file({k: v.contiguous() for k, v in res.items()}, out)
print("ok")
