"""Python reference side of scripts/bench/load.ts: GPT-2 from a Hugging Face folder as
transformers 4.x's from_pretrained does it by default (low_cpu_mem_usage off): the model built
with initialisation skipped (its no_init_weights: torch.nn.init's functions and the model's
init_weights made no-ops; memory allocated, untouched), model.safetensors read tensor by tensor
(safetensors' load_file), then load_state_dict copies them in. Prints one JSON line.
  load_ref.py DIR
Also torch.save of the model's state dict (the 'save' bench): load_ref.py --torch-save FILE"""
import json
import os
import resource
import struct
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import gpt2_ref  # noqa: E402

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64, "I64": torch.int64}


def read_safetensors(file):
    out = {}
    with open(file, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        for name, info in header.items():
            if name == "__metadata__":
                continue
            start, end = info["data_offsets"]
            t = torch.empty(info["shape"], dtype=DTYPES[info["dtype"]])
            f.seek(8 + n + start)
            f.readinto(memoryview(t.view(-1).view(torch.uint8).numpy()))
            out[name] = t
    return out


def main(folder):
    torch.set_num_threads(1)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    cfg = json.load(open(os.path.join(folder, "config.json")))
    saved = {name: getattr(torch.nn.init, name) for name in ("normal_", "uniform_", "kaiming_uniform_", "zeros_", "ones_", "constant_")}
    for name in saved:
        setattr(torch.nn.init, name, lambda t, *a, **k: t)
    init_weights = gpt2_ref.GPT2LMHeadModel.init_weights
    gpt2_ref.GPT2LMHeadModel.init_weights = lambda self: None
    try:
        model = gpt2_ref.GPT2LMHeadModel(cfg)
    finally:
        for name, fn in saved.items():
            setattr(torch.nn.init, name, fn)
        gpt2_ref.GPT2LMHeadModel.init_weights = init_weights
    state = read_safetensors(os.path.join(folder, "model.safetensors"))
    state = {k if k.startswith("transformer.") else f"transformer.{k}": v for k, v in state.items()}
    state["lm_head.weight"] = state["transformer.wte.weight"]
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    del state
    ms = (time.perf_counter() - t0) * 1e3
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    params = sum(p.numel() for p in {p.data_ptr(): p for p in model.parameters()}.values())
    print(json.dumps({"ms": ms, "peak_delta_mib": (peak - rss0) / 1024, "params": params}))


def torch_save(file):
    """One torch.save of GPT-2 124M's state dict, timed alone and with an fsync after it; memory =
    peak RSS during it over RSS just before."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = {"vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12}
    model = gpt2_ref.GPT2LMHeadModel(cfg)
    sd = model.state_dict()
    with open("/proc/self/statm") as f:
        rss0 = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024
    t0 = time.perf_counter()
    torch.save(sd, file)
    ms = (time.perf_counter() - t0) * 1e3
    fd = os.open(file, os.O_RDONLY)  # then on disk, as tstorch's save ends (torch.save itself leaves it to the kernel)
    os.fsync(fd)
    os.close(fd)
    ms_synced = (time.perf_counter() - t0) * 1e3
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"ms": ms, "ms_synced": ms_synced, "peak_delta_mib": (peak - rss0) / 1024, "bytes": os.path.getsize(file)}))


if sys.argv[1] == "--torch-save":
    torch_save(sys.argv[2])
else:
    main(sys.argv[1])
