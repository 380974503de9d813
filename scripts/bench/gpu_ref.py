"""Python side of scripts/bench/gpu.ts: GPT-2 LoRA training steps with PyTorch eager.

On the GPU machine this is transformers' GPT2LMHeadModel (sdpa attention) with peft's LoRA on
c_attn, c_proj and c_fc; where those are not installed (a dry run on a CPU machine), the plain
PyTorch reference of scripts/reference (HF's GPT-2 and PEFT's LoRA line for line, eager attention).
  gpu_ref.py DEVICE PRECISION B T STEPS SIZE      (PRECISION fp32 | bf16, SIZE 124m | tiny)
Prints one JSON line: median step ms, tokens/s, peak memory, and which reference ran."""
import json
import os
import resource
import sys
import time

import torch

device, precision, B, T, steps, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
cuda = device.startswith("cuda")
if not cuda:
    torch.set_num_threads(1)  # the CPU dry run: one thread on both sides
torch.manual_seed(0)
cfg = dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12) if size == "124m" else \
    dict(vocab_size=256, n_positions=64, n_embd=32, n_layer=2, n_head=2)
TARGETS = ["c_attn", "c_proj", "c_fc"]

try:
    from peft import LoraConfig, get_peft_model
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(**cfg)
    try:
        base = GPT2LMHeadModel._from_config(config, attn_implementation="sdpa")
    except Exception:  # older/newer transformers: the default is sdpa where torch has it
        base = GPT2LMHeadModel(config)
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=TARGETS, fan_in_fan_out=True))
    reference = "transformers+peft, attention " + str(getattr(base.config, "_attn_implementation", "?"))

    def loss_of(ids):
        return model(input_ids=ids, labels=ids).loss
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
    import gpt2_ref  # noqa: E402
    import lora_ref  # noqa: E402

    model = gpt2_ref.GPT2LMHeadModel(cfg)
    lora_ref.wrap(model, lambda m: lora_ref.PeftLoraConv1D(m, 8, 16, dropout=0.05), TARGETS)
    lora_ref.freeze_for_peft(model)
    reference = "plain PyTorch reference (no transformers/peft here), eager attention"

    def loss_of(ids):
        return model(ids, labels=ids)[1]

model.to(device)
model.train()
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-4)
ids = torch.randint(0, cfg["vocab_size"], (B, T), device=device)


def sync():
    if cuda:
        torch.cuda.synchronize()


def step():
    with torch.autocast(device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        loss = loss_of(ids)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)


for _ in range(3):  # warm-up: optimizer state, cuBLAS/oneDNN plans, the caching allocator
    step()
sync()
if cuda:
    torch.cuda.reset_peak_memory_stats()
times = []
for _ in range(steps):
    t0 = time.perf_counter()
    step()
    sync()
    times.append(time.perf_counter() - t0)
times.sort()
med = times[len(times) // 2]
peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"ms": med * 1e3, "tokens_per_s": B * T / med, "peak_mib": peak, "reference": reference,
                  "tf32": torch.backends.cuda.matmul.allow_tf32}))
