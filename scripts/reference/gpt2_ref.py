"""GPT-2 with Hugging Face's exact semantics (GPT2LMHeadModel, eager attention) in plain PyTorch.

There is no `transformers` on this machine, so this file re-implements what the parity fixtures
need, line for line after transformers' modeling_gpt2.py: Conv1D as addmm with (in, out)
weights, q/k/v split, scores / sqrt(head_dim) (and / (layer + 1) with
scale_attn_by_inverse_layer_idx; reorder_and_upcast_attn's float32 baddbmm), causal mask filled with finfo.min via
torch.where, additive padding mask, softmax, gelu_new in its tanh form, pre-LN blocks, tied
lm_head (or its own, with tie_word_embeddings false), and the shifted cross-entropy loss with ignore_index -100.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


class Conv1D(nn.Module):
    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, cfg, layer_idx=0):
        super().__init__()
        self.layer_idx = layer_idx
        self.scale_attn_weights = cfg.get("scale_attn_weights", True)
        self.scale_attn_by_inverse_layer_idx = cfg.get("scale_attn_by_inverse_layer_idx", False)
        self.reorder_and_upcast_attn = cfg.get("reorder_and_upcast_attn", False)
        n = cfg["n_positions"]
        self.register_buffer("bias", torch.tril(torch.ones((n, n), dtype=torch.bool)).view(1, 1, n, n), persistent=False)
        self.embed_dim = cfg["n_embd"]
        self.num_heads = cfg["n_head"]
        self.head_dim = self.embed_dim // self.num_heads
        self.c_attn = Conv1D(3 * self.embed_dim, self.embed_dim)
        self.c_proj = Conv1D(self.embed_dim, self.embed_dim)
        self.attn_dropout = nn.Dropout(cfg.get("attn_pdrop", 0.1))
        self.resid_dropout = nn.Dropout(cfg.get("resid_pdrop", 0.1))

    def _split(self, x):
        return x.view(x.size()[:-1] + (self.num_heads, self.head_dim)).permute(0, 2, 1, 3)

    def forward(self, h, attention_mask=None, layer_past=None):
        query, key, value = self.c_attn(h).split(self.embed_dim, dim=2)
        query, key, value = self._split(query), self._split(key), self._split(value)
        if layer_past is not None:
            key = torch.cat((layer_past[0], key), dim=-2)
            value = torch.cat((layer_past[1], value), dim=-2)
        present = (key, value)
        if self.reorder_and_upcast_attn:
            return self._upcast_and_reordered_attn(query, key, value, attention_mask), present
        attn_weights = torch.matmul(query, key.transpose(-1, -2))
        if self.scale_attn_weights:
            attn_weights = attn_weights / torch.full([], value.size(-1) ** 0.5, dtype=attn_weights.dtype)
        if self.scale_attn_by_inverse_layer_idx:
            attn_weights = attn_weights / float(self.layer_idx + 1)
        q_len, k_len = query.size(-2), key.size(-2)
        causal_mask = self.bias[:, :, k_len - q_len: k_len, :k_len]
        mask_value = torch.full([], torch.finfo(attn_weights.dtype).min, dtype=attn_weights.dtype)
        attn_weights = torch.where(causal_mask, attn_weights, mask_value)
        if attention_mask is not None:
            attn_weights = attn_weights + attention_mask
        attn_weights = F.softmax(attn_weights, dim=-1)
        attn_weights = self.attn_dropout(attn_weights)
        self.last_weights = attn_weights  # (HF's output_attentions: the weights after dropout)
        out = torch.matmul(attn_weights, value)
        out = out.permute(0, 2, 1, 3).contiguous()
        out = out.view(out.size()[:-2] + (self.embed_dim,))
        return self.resid_dropout(self.c_proj(out)), present

    def _upcast_and_reordered_attn(self, query, key, value, attention_mask):
        """HF's reorder_and_upcast_attn: the scale folded into a float32 baddbmm (autocast off),
        softmax in float32, the probabilities cast back to the values' dtype."""
        bsz, num_heads, q_len, dk = query.size()
        k_len = key.size(-2)
        attn_weights = torch.empty(bsz * num_heads, q_len, k_len, dtype=torch.float32)
        scale_factor = 1.0
        if self.scale_attn_weights:
            scale_factor /= float(value.size(-1)) ** 0.5
        if self.scale_attn_by_inverse_layer_idx:
            scale_factor /= float(self.layer_idx + 1)
        q, k = query.reshape(-1, q_len, dk), key.transpose(-1, -2).reshape(-1, dk, k_len)
        attn_weights = torch.baddbmm(attn_weights, q.float(), k.float(), beta=0, alpha=scale_factor)
        attn_weights = attn_weights.reshape(bsz, num_heads, q_len, k_len)
        causal_mask = self.bias[:, :, k_len - q_len: k_len, :k_len]
        mask_value = torch.tensor(torch.finfo(attn_weights.dtype).min, dtype=attn_weights.dtype)
        attn_weights = torch.where(causal_mask, attn_weights, mask_value)
        if attention_mask is not None:
            attn_weights = attn_weights + attention_mask
        attn_weights = F.softmax(attn_weights, dim=-1).type(value.dtype)
        attn_weights = self.attn_dropout(attn_weights)
        self.last_weights = attn_weights
        out = torch.matmul(attn_weights, value).permute(0, 2, 1, 3).contiguous()
        out = out.view(out.size()[:-2] + (self.embed_dim,))
        return self.resid_dropout(self.c_proj(out))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        inner = cfg.get("n_inner") or 4 * cfg["n_embd"]
        self.c_fc = Conv1D(inner, cfg["n_embd"])
        self.c_proj = Conv1D(cfg["n_embd"], inner)
        self.dropout = nn.Dropout(cfg.get("resid_pdrop", 0.1))

    def forward(self, x):
        return self.dropout(self.c_proj(gelu_new(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, cfg, layer_idx=0):
        super().__init__()
        eps = cfg.get("layer_norm_epsilon", 1e-5)
        self.ln_1 = nn.LayerNorm(cfg["n_embd"], eps=eps)
        self.attn = Attention(cfg, layer_idx)
        self.ln_2 = nn.LayerNorm(cfg["n_embd"], eps=eps)
        self.mlp = MLP(cfg)

    def forward(self, x, attention_mask=None, layer_past=None):
        a, present = self.attn(self.ln_1(x), attention_mask, layer_past)
        x = x + a
        return x + self.mlp(self.ln_2(x)), present


class Transformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg["vocab_size"], cfg["n_embd"])
        self.wpe = nn.Embedding(cfg["n_positions"], cfg["n_embd"])
        self.drop = nn.Dropout(cfg.get("embd_pdrop", 0.1))
        self.h = nn.ModuleList([Block(cfg, i) for i in range(cfg["n_layer"])])
        self.ln_f = nn.LayerNorm(cfg["n_embd"], eps=cfg.get("layer_norm_epsilon", 1e-5))

    def forward(self, input_ids, attention_mask=None, past_key_values=None, position_ids=None, hidden_states=None):
        """GPT2Model: the final hidden states (after ln_f) and each layer's keys and values; a list given
        as hidden_states gets HF's output_hidden_states: each block's input, then the final output."""
        B, T = input_ids.shape
        past_len = 0 if past_key_values is None else past_key_values[0][0].size(-2)
        pos = torch.arange(past_len, past_len + T, dtype=torch.long).unsqueeze(0) if position_ids is None else position_ids
        h = self.drop(self.wte(input_ids) + self.wpe(pos))
        if attention_mask is not None:
            attention_mask = attention_mask.view(B, -1)[:, None, None, :].to(h.dtype)
            attention_mask = (1.0 - attention_mask) * torch.finfo(h.dtype).min
        presents = []
        for i, block in enumerate(self.h):
            if hidden_states is not None:
                hidden_states.append(h)
            h, present = block(h, attention_mask, None if past_key_values is None else past_key_values[i])
            presents.append(present)
        h = self.ln_f(h)
        if hidden_states is not None:
            hidden_states.append(h)
        return h, presents


class GPT2LMHeadModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.config = cfg
        self.transformer = Transformer(cfg)
        self.lm_head = nn.Linear(cfg["n_embd"], cfg["vocab_size"], bias=False)
        self.tied = cfg.get("tie_word_embeddings", True)
        if self.tied:
            self.lm_head.weight = self.transformer.wte.weight
        self.init_weights()

    def init_weights(self):
        std = self.config.get("initializer_range", 0.02)
        for name, p in self.named_parameters():
            if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                nn.init.ones_(p)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)
            elif name.endswith("c_proj.weight"):
                nn.init.normal_(p, std=std / math.sqrt(2 * self.config["n_layer"]))
            else:
                nn.init.normal_(p, std=std)

    def forward(self, input_ids, labels=None, attention_mask=None, past_key_values=None, logits_to_keep=0, position_ids=None):
        h, presents = self.transformer(input_ids, attention_mask, past_key_values, position_ids)
        # HF's logits_to_keep: 0 keeps every position; k > 0 only the last k (generate asks for 1).
        logits = self.lm_head(h[:, -logits_to_keep:, :] if logits_to_keep else h)
        loss = None
        if labels is not None:
            # transformers' ForCausalLMLoss: the labels shifted (padded with -100), not the logits.
            shift_labels = F.pad(labels, (0, 1), value=-100)[..., 1:].contiguous()
            loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), shift_labels.view(-1), ignore_index=-100)
        return logits, loss, presents

    def hf_state_dict(self, prefix=True):
        """The tensors Hugging Face's save_pretrained writes (lm_head dropped where tied)."""
        out = {}
        for k, v in self.state_dict().items():
            if k == "lm_head.weight":
                if not self.tied:
                    out[k] = v
                continue
            out[k if prefix else k[len("transformer."):]] = v
        return out


def from_pretrained(model_dir):
    """A Hugging Face GPT-2 folder (config.json, model.safetensors) as this model, in eval mode (no dropout)."""
    import st

    model = GPT2LMHeadModel(json.load(open(os.path.join(model_dir, "config.json"))))
    sd = st.load(os.path.join(model_dir, "model.safetensors"))
    if model.tied:
        sd["lm_head.weight"] = sd["transformer.wte.weight"]
    model.load_state_dict(sd)
    return model.eval()
