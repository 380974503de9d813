"""PEFT-layout interop check, called by test/lora.test.ts:
  peft_interop.py MODEL_DIR ADAPTER_DIR IDS_JSON OUT.safetensors [WRITE_ADAPTER_DIR]
Loads the base GPT-2 and the adapter folder (adapter_config.json + adapter_model.safetensors,
PEFT's key names; DoRA too, use_dora; LoRA on wte, lora_embedding_A/B; PEFT's layer selection and
per-layer ranks: target_modules, exclude_modules, layers_to_transform / layers_pattern,
rank_pattern / alpha_pattern) with plain PyTorch, writes the logits for the given ids,
and the loss (labels = ids, dropout off) with the gradients of every adapter tensor (grad.<key>);
optionally writes a fresh random adapter of its own in the same layout for tstorch to load."""
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_ref  # noqa: E402
import lora_ref  # noqa: E402
import st  # noqa: E402


def check_target_module_exists(ac, key):
    """PEFT's check (peft.tuners.tuners_utils): exclude_modules, modules_to_save, then target_modules
    (a regular expression to match whole, or names / suffixes) and layers_to_transform / layers_pattern."""
    ex = ac.get("exclude_modules")
    if ex:
        if isinstance(ex, str):
            if re.fullmatch(ex, key):
                return False
        elif key in ex or any(key.endswith(f".{e}") for e in ex):
            return False
    if any(re.match(rf"(^|.*\.){m}($|\..*)", key) for m in ac.get("modules_to_save") or []):
        return False
    targets = ac["target_modules"]
    if isinstance(targets, str):
        return re.fullmatch(targets, key) is not None
    if key in targets:
        return True
    found = any(key.endswith(f".{t}") for t in targets)
    layers, pattern = ac.get("layers_to_transform"), ac.get("layers_pattern")
    using = layers is not None and (len(layers) != 0 if isinstance(layers, list) else True)
    if using and found:
        index = None
        if pattern is None or len(pattern) == 0:
            index = re.match(r".*\.[^.]*\.(\d+)\.", key)
        else:
            for p in [pattern] if isinstance(pattern, str) else pattern:
                index = re.match(rf".*\.{p}\.(\d+)\.", key)
                if index is not None:
                    break
        if index is None:
            return False
        i = int(index.group(1))
        return i == layers if isinstance(layers, int) else i in layers
    return found


def get_pattern_key(keys, key):
    """PEFT's get_pattern_key (peft.utils.other)."""
    for k in keys:
        if re.match(rf"(.*\.)?({k})$", key):
            return k
    return key


def inject(model, ac):
    """PEFT's inject_adapter: every matching Conv1D (and the token embedding) wrapped, with its own
    r and lora_alpha from rank_pattern / alpha_pattern. lm_head stays tied to the base table."""
    layer = lora_ref.PeftDoraConv1D if ac.get("use_dora") else lora_ref.PeftLoraConv1D
    rank_pattern, alpha_pattern = ac.get("rank_pattern") or {}, ac.get("alpha_pattern") or {}
    for key, module in list(model.named_modules()):
        if not isinstance(module, (gpt2_ref.Conv1D, torch.nn.Embedding)) or not check_target_module_exists(ac, key):
            continue
        r = rank_pattern.get(get_pattern_key(rank_pattern.keys(), key), ac["r"])
        alpha = alpha_pattern.get(get_pattern_key(alpha_pattern.keys(), key), ac["lora_alpha"])
        parent = model.get_submodule(key.rsplit(".", 1)[0])
        if isinstance(module, torch.nn.Embedding):
            wrapped = lora_ref.PeftLoraEmbedding(module, r, alpha, use_rslora=ac.get("use_rslora", False))
        else:
            wrapped = layer(module, r, alpha, use_rslora=ac.get("use_rslora", False), init_lora_weights=ac.get("init_lora_weights", True))
        setattr(parent, key.rsplit(".", 1)[1], wrapped)


def main(model_dir, adapter_dir, ids_json, out_file, write_dir=None):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    model = gpt2_ref.GPT2LMHeadModel(cfg)
    sd = st.load(os.path.join(model_dir, "model.safetensors"))
    sd = {k if k.startswith("transformer.") else "transformer." + k: v for k, v in sd.items()
          if not k.endswith((".attn.bias", ".attn.masked_bias")) and k != "lm_head.weight"}
    sd["lm_head.weight"] = sd["transformer.wte.weight"]
    model.load_state_dict(sd)
    ac = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    assert ac["peft_type"] == "LORA" and ac["fan_in_fan_out"] is True
    inject(model, ac)
    # what the init left (PiSSA: A, B and the base's residual), before the adapter's weights come in
    initial = {"init." + n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n or n.endswith(".base_layer.weight")}
    weights = st.load(os.path.join(adapter_dir, "adapter_model.safetensors"))
    own = dict(model.named_parameters())
    for k, v in weights.items():
        name = k[len("base_model.model."):]
        with torch.no_grad():
            own[name].copy_(v)
    model.eval()
    ids = torch.tensor(json.load(open(ids_json)))
    logits, loss, _ = model(ids, labels=ids)
    loss.backward()
    out = {"logits": logits.detach(), "loss": loss.detach().reshape(1), **initial}
    for k in weights:
        out["grad." + k] = own[k[len("base_model.model."):]].grad
    st.save(out_file, out)
    if write_dir:
        os.makedirs(write_dir, exist_ok=True)
        torch.manual_seed(3)
        t = {}
        for n, p in model.named_parameters():
            if "lora_" in n:
                t["base_model.model." + n] = torch.randn_like(p) * 0.05
        st.save(os.path.join(write_dir, "adapter_model.safetensors"), t, {"format": "pt"})
        json.dump(dict(ac, lora_alpha=ac["lora_alpha"] * 2, alpha_pattern={k: v * 2 for k, v in (ac.get("alpha_pattern") or {}).items()}), open(os.path.join(write_dir, "adapter_config.json"), "w"))
        for k, v in t.items():
            with torch.no_grad():
                own[k[len("base_model.model."):]].copy_(v)
        for m in model.modules():
            if isinstance(m, (lora_ref.PeftLoraConv1D, lora_ref.PeftLoraEmbedding)):
                m.scaling *= 2
        with torch.no_grad():
            logits2, _, _ = model(ids)
        st.save(os.path.join(write_dir, "expected_logits.safetensors"), {"logits": logits2})


if __name__ == "__main__":
    main(*sys.argv[1:])
