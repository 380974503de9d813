"""PEFT-layout interop check, called by test/lora.test.ts:
  peft_interop.py MODEL_DIR ADAPTER_DIR IDS_JSON OUT.safetensors [WRITE_ADAPTER_DIR]
Loads the base GPT-2 and the adapter folder (adapter_config.json + adapter_model.safetensors,
PEFT's key names; DoRA too, use_dora; LoRA on wte, lora_embedding_A/B) with plain PyTorch, writes the logits for the given ids,
and the loss (labels = ids, dropout off) with the gradients of every adapter tensor (grad.<key>);
optionally writes a fresh random adapter of its own in the same layout for tstorch to load."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_ref  # noqa: E402
import lora_ref  # noqa: E402
import st  # noqa: E402


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
    layer = lora_ref.PeftDoraConv1D if ac.get("use_dora") else lora_ref.PeftLoraConv1D
    lora_ref.wrap(model, lambda m: layer(m, ac["r"], ac["lora_alpha"], use_rslora=ac.get("use_rslora", False)),
                  targets=tuple(ac["target_modules"]))
    if "wte" in ac["target_modules"]:  # (lm_head stays tied to the base table)
        model.transformer.wte = lora_ref.PeftLoraEmbedding(model.transformer.wte, ac["r"], ac["lora_alpha"], use_rslora=ac.get("use_rslora", False))
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
    out = {"logits": logits.detach(), "loss": loss.detach().reshape(1)}
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
        json.dump(dict(ac, lora_alpha=ac["lora_alpha"] * 2), open(os.path.join(write_dir, "adapter_config.json"), "w"))
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
