"""Writes every parity fixture the tests read: python3 make_fixtures.py OUT_DIR.

Run with Debian's /usr/bin/python3 (torch 1.13, the same libtorch the addon links). CI runs it
into a temporary folder and compares with the committed test/fixtures (check-fixtures.sh).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import core_grads  # noqa: E402
import gpt2_ref  # noqa: E402
import st  # noqa: E402
import train_ref  # noqa: E402

torch.set_num_threads(1)

# Several shapes on purpose: odd vocab and widths, one head and several, a custom n_inner, the
# attention variants of scale_attn_by_inverse_layer_idx and reorder_and_upcast_attn, and
# both key layouts Hugging Face files come in (with/without "transformer.", with/without the
# attn.bias / attn.masked_bias buffers and a redundant lm_head.weight).
GPT2_CONFIGS = {
    "tiny": dict(cfg=dict(vocab_size=101, n_positions=32, n_embd=32, n_layer=2, n_head=4), prefix=True, buffers=False, seq=12),
    "odd_hub_layout": dict(cfg=dict(vocab_size=257, n_positions=24, n_embd=36, n_layer=3, n_head=3), prefix=False, buffers=True, seq=10),
    "one_head_inner": dict(cfg=dict(vocab_size=50, n_positions=16, n_embd=24, n_layer=1, n_head=1, n_inner=40), prefix=True, buffers=False, seq=16),
    # Mistral / Megatron-style attention: scores also / (layer + 1), q·kᵀ and softmax in float32
    "layer_scaled": dict(cfg=dict(vocab_size=64, n_positions=16, n_embd=32, n_layer=3, n_head=2, scale_attn_by_inverse_layer_idx=True,
                                  reorder_and_upcast_attn=True), prefix=True, buffers=False, seq=12, attn_gain=10),
    # an lm_head of its own (tie_word_embeddings false): saved as lm_head.weight, its gradient apart from wte's
    "untied": dict(cfg=dict(vocab_size=80, n_positions=16, n_embd=32, n_layer=2, n_head=2, tie_word_embeddings=False), prefix=True, buffers=False, seq=12),
}


def full_config(cfg):
    c = dict(
        activation_function="gelu_new", attn_pdrop=0.1, embd_pdrop=0.1, resid_pdrop=0.1,
        layer_norm_epsilon=1e-5, initializer_range=0.02, bos_token_id=cfg["vocab_size"] - 1,
        eos_token_id=cfg["vocab_size"] - 1, model_type="gpt2", architectures=["GPT2LMHeadModel"],
        n_inner=None, tie_word_embeddings=True, scale_attn_weights=True,
    )
    c.update(cfg)
    return c


def write_gpt2(out_dir, name, spec, seed):
    torch.manual_seed(seed)
    cfg = full_config(spec["cfg"])
    model = gpt2_ref.GPT2LMHeadModel(cfg)
    # Perturb LayerNorms and biases so that every parameter matters to the comparison.
    with torch.no_grad():
        for n, p in model.named_parameters():
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.1)
            # sharper attention where the fixture is about attention's scaling (at init it is near uniform)
            if n.endswith("attn.c_attn.weight"):
                p.mul_(spec.get("attn_gain", 1))
    model.eval()
    d = os.path.join(out_dir, "gpt2", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    sd = model.hf_state_dict(prefix=spec["prefix"])
    if spec["buffers"]:
        n = cfg["n_positions"]
        for i in range(cfg["n_layer"]):
            sd[f"h.{i}.attn.bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n)
            sd[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
        sd["lm_head.weight"] = model.lm_head.weight.detach().clone()
    st.save(os.path.join(d, "model.safetensors"), sd, {"format": "pt"})

    B, T, V = 2, spec["seq"], cfg["vocab_size"]
    ids = torch.randint(0, V, (B, T))
    labels = ids.clone()
    labels[0, 3] = -100
    labels[1, -1] = -100
    logits, loss, _ = model(ids, labels=labels)
    loss.backward()
    exp = {"input_ids": ids, "labels": labels, "logits": logits.detach(), "loss": loss.detach().reshape(1)}
    for n, p in model.named_parameters():
        exp["grad." + n] = p.grad
    # Left padding on the second row: the additive finfo.min mask path.
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, :3] = 0
    with torch.no_grad():
        mlogits, mloss, _ = model(ids, labels=labels, attention_mask=mask)
    exp["attention_mask"] = mask
    exp["masked_logits"] = mlogits
    exp["masked_loss"] = mloss.reshape(1)
    st.save(os.path.join(d, "expected.safetensors"), exp)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    core_grads.main(os.path.join(out_dir, "core_grads.json"))
    for i, (name, spec) in enumerate(GPT2_CONFIGS.items()):
        write_gpt2(out_dir, name, spec, seed=100 + i)
    train_ref.main(out_dir, out_dir)


if __name__ == "__main__":
    main(sys.argv[1])
