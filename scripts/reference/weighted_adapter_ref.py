"""PEFT's add_weighted_adapter (LoraModel.add_weighted_adapter, combination_type cat / linear /
svd) over adapter folders, in plain PyTorch, for test/lora.test.ts.

Usage: weighted_adapter_ref.py SPEC.json OUT.safetensors
SPEC: {"adapters": [folder, ...], "weights": [float, ...], "combination_type": "cat" | "linear" | "svd",
       "svd_rank": int | null, "svd_clamp": float | null}
Writes, under PEFT's saved names, the new adapter's lora_A / lora_B for every layer any of the
adapters wraps. Each adapter's scaling per layer is lora_alpha / r (rsLoRA: / sqrt(r)) with its
rank_pattern / alpha_pattern, as PEFT's _create_and_replace gives it.
"""
import json
import math
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402


def pattern_key(keys, key):
    for k in keys:
        if re.match(rf"(.*\.)?({k})$", key):
            return k
    return key


def load(folder):
    cfg = json.load(open(os.path.join(folder, "adapter_config.json")))
    tensors = st.load(os.path.join(folder, "adapter_model.safetensors"))
    layers = {}
    for k, t in tensors.items():
        m = re.match(r"base_model\.model\.(.*)\.lora_([AB])\.weight$", k)
        if m:
            layers.setdefault(m.group(1), {})[m.group(2)] = t
    for name, f in layers.items():
        r = cfg.get("rank_pattern", {}).get(pattern_key(cfg.get("rank_pattern", {}).keys(), name), cfg["r"])
        alpha = cfg.get("alpha_pattern", {}).get(pattern_key(cfg.get("alpha_pattern", {}).keys(), name), cfg["lora_alpha"])
        f["scaling"] = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
    return cfg, layers


def main(spec_file, out_file):
    spec = json.load(open(spec_file))
    loaded = [load(d) for d in spec["adapters"]]
    weights = spec["weights"]
    kind = "linear" if len(loaded) == 1 else spec["combination_type"]
    ranks = [c["r"] if not c.get("rank_pattern") else max(c["r"], *c["rank_pattern"].values()) for c, _ in loaded]
    new_rank = ranks[0] if kind == "linear" else sum(ranks) if kind == "cat" else (spec.get("svd_rank") or max(ranks))
    out = {}
    for name in sorted({n for _, layers in loaded for n in layers}):
        present = [(layers[name], w) for (_, layers), w in zip(loaded, weights) if name in layers]
        out_features, in_features = present[0][0]["B"].shape[0], present[0][0]["A"].shape[1]
        A = torch.zeros(new_rank, in_features)
        B = torch.zeros(out_features, new_rank)
        if kind == "cat":
            loras_A = torch.cat([f["A"] * w * f["scaling"] for f, w in present], dim=0)
            loras_B = torch.cat([f["B"] for f, _ in present], dim=1)
            A[: loras_A.shape[0], :] = loras_A
            B[:, : loras_B.shape[1]] = loras_B
        elif kind == "linear":
            wa, wb = [], []
            for f, w in present:
                ws = w * f["scaling"]
                sign = 1 if ws >= 0 else -1
                wa.append(math.sqrt(abs(ws)) * sign)
                wb.append(math.sqrt(abs(ws)))
            A = sum(f["A"] * a for (f, _), a in zip(present, wa))
            B = sum(f["B"] * b for (f, _), b in zip(present, wb))
        else:
            # get_delta_weight (scaling in) weighted by weight * scaling, transposed back from fan_in_fan_out
            delta = sum((f["B"] @ f["A"]) * f["scaling"] * (w * f["scaling"]) for f, w in present)
            U, S, Vh = torch.linalg.svd(delta, full_matrices=True)
            U = U[:, :new_rank] @ torch.diag(S[:new_rank])
            Vh = Vh[:new_rank, :]
            if spec.get("svd_clamp") is not None:
                dist = torch.cat([U.flatten(), Vh.flatten()])
                hi = torch.quantile(dist, spec["svd_clamp"])
                U, Vh = U.clamp(-hi, hi), Vh.clamp(-hi, hi)
            A, B = Vh, U
        out[f"base_model.model.{name}.lora_A.weight"] = A.contiguous()
        out[f"base_model.model.{name}.lora_B.weight"] = B.contiguous()
    st.save(out_file, out)


if __name__ == "__main__":
    main(*sys.argv[1:3])
