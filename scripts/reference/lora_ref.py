"""LoRA references in plain PyTorch: the notebook's LoRAConv1DWrapper verbatim (seed mode) and
PEFT's LoRA Linear layer semantics for a Conv1D base with fan_in_fan_out=True (peft mode)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class LoRAConv1DWrapper(nn.Module):
    """Copied from the seed notebook (comments and prints removed)."""

    def __init__(self, module, rank):
        super().__init__()
        self.base_module = module
        out_features, in_features = self.base_module.weight.shape
        self.lora_rank = rank
        if self.lora_rank > 0:
            self.W_A = nn.Parameter(torch.zeros((self.lora_rank, in_features)), requires_grad=True)
            self.W_B = nn.Parameter(torch.zeros((out_features, self.lora_rank)), requires_grad=True)
            self.base_module.weight.requires_grad = False
            if self.base_module.bias is not None:
                self.base_module.bias.requires_grad = False
        self.reset_parameters()

    def reset_parameters(self):
        if self.lora_rank > 0:
            nn.init.kaiming_uniform_(self.W_A, a=math.sqrt(5))
            nn.init.zeros_(self.W_B)

    def forward(self, x):
        if self.lora_rank > 0:
            adapted_weight = self.base_module.weight + self.W_B @ self.W_A
            return F.linear(x, adapted_weight.T, self.base_module.bias)
        return F.linear(x, self.base_module.weight, self.base_module.bias)


class PeftLoraConv1D(nn.Module):
    """PEFT's lora.Linear over a Conv1D: result = base(x) + lora_B(lora_A(dropout(x))) * scaling."""

    def __init__(self, base, r, alpha, dropout=0.0, use_rslora=False, init_lora_weights=True):
        super().__init__()
        self.base_layer = base
        in_features, out_features = base.weight.shape  # Conv1D: (in, out), fan_in_fan_out=True
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.lora_A = nn.Linear(in_features, r, bias=False)
        self.lora_B = nn.Linear(r, out_features, bias=False)
        self.scaling = alpha / math.sqrt(r) if use_rslora else alpha / r
        if init_lora_weights == "pissa":
            self.pissa_init(r)
        else:
            nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
            nn.init.zeros_(self.lora_B.weight)

    @torch.no_grad()
    def pissa_init(self, r):
        """PEFT's LoraLayer.pissa_init (exact SVD) for a fan_in_fan_out weight."""
        weight = self.base_layer.weight
        dtype = weight.dtype
        weight = weight.to(torch.float32).T  # transpose(weight, fan_in_fan_out)
        V, S, Uh = torch.linalg.svd(weight.data, full_matrices=False)
        Vr = V[:, :r]
        Sr = S[:r]
        Sr /= self.scaling
        Uhr = Uh[:r]
        lora_A = torch.diag(torch.sqrt(Sr)) @ Uhr
        lora_B = Vr @ torch.diag(torch.sqrt(Sr))
        self.lora_A.weight.data = lora_A
        self.lora_B.weight.data = lora_B
        weight = weight.data - self.scaling * lora_B @ lora_A
        self.base_layer.weight.data = weight.to(dtype).T.contiguous()

    def forward(self, x):
        return self.base_layer(x) + self.lora_B(self.lora_A(self.lora_dropout(x))) * self.scaling

    def delta_weight(self):
        return (self.lora_B.weight @ self.lora_A.weight).T * self.scaling


class PeftDoraConv1D(PeftLoraConv1D):
    """PEFT's lora.Linear with use_dora=True over a Conv1D (fan_in_fan_out), as peft/tuners/lora/dora.py
    computes it: magnitude m = ||W + s*BA|| per output at init; n = that norm now, detached;
    result = base(x) + (m/n - 1) * x~W + (m/n) * lora_B(lora_A(x~)) * s, x~ = dropout(x)
    (with dropout off, x~W is base(x) minus the bias)."""

    def __init__(self, base, r, alpha, dropout=0.0, use_rslora=False, init_lora_weights=True):
        super().__init__(base, r, alpha, dropout, use_rslora, init_lora_weights)
        self.lora_magnitude_vector = nn.Parameter(self.weight_norm().detach())

    def weight_norm(self):
        lora_weight = self.lora_B.weight @ self.lora_A.weight  # (out, in)
        weight = self.base_layer.weight.T + self.scaling * lora_weight.detach()
        return torch.linalg.norm(weight, dim=1)

    def forward(self, x):
        result = self.base_layer(x)
        if isinstance(self.lora_dropout, nn.Identity) or not self.training:
            base_result = result - self.base_layer.bias
        else:
            x = self.lora_dropout(x)
            base_result = x @ self.base_layer.weight
        mag_norm_scale = (self.lora_magnitude_vector / self.weight_norm().detach()).view(1, -1)
        lora_result = self.lora_B(self.lora_A(x))
        return result + (mag_norm_scale - 1) * base_result + mag_norm_scale * lora_result * self.scaling

    def merged_weight(self):
        """PEFT's merge: (m / ||W + dW||) * (W + dW), per output column of Conv1D's (in, out) weight."""
        w = self.base_layer.weight + self.delta_weight()
        return w * (self.lora_magnitude_vector / torch.linalg.norm(w, dim=0)).view(1, -1)


class PeftLoraEmbedding(nn.Module):
    """PEFT's lora.Embedding: result = base(x) + (embedding(x, A.T) @ B.T) * scaling, no dropout;
    A (r, num) and B (dim, r) drawn with randn, then A zeroed and B redrawn normal (PEFT's
    update_layer, then reset_lora_parameters)."""

    def __init__(self, base, r, alpha, use_rslora=False):
        super().__init__()
        self.base_layer = base
        num, dim = base.weight.shape
        self.lora_embedding_A = nn.Parameter(torch.randn((r, num)))
        self.lora_embedding_B = nn.Parameter(torch.randn((dim, r)))
        self.scaling = alpha / math.sqrt(r) if use_rslora else alpha / r
        nn.init.zeros_(self.lora_embedding_A)
        nn.init.normal_(self.lora_embedding_B)

    @property
    def weight(self):
        return self.base_layer.weight

    def forward(self, x):
        b = self.base_layer
        after_a = F.embedding(x, self.lora_embedding_A.T, b.padding_idx, b.max_norm, b.norm_type, b.scale_grad_by_freq, b.sparse)
        return b(x) + (after_a @ self.lora_embedding_B.T) * self.scaling

    def delta_weight(self):
        return (self.lora_embedding_B @ self.lora_embedding_A).T * self.scaling


def wrap(model, make, targets=("c_attn", "c_proj", "c_fc")):
    for block in model.transformer.h:
        for parent, name in ((block.attn, "c_attn"), (block.attn, "c_proj"), (block.mlp, "c_fc"), (block.mlp, "c_proj")):
            if name in targets:
                setattr(parent, name, make(getattr(parent, name)))
    return model


def freeze_for_peft(model, bias="none"):
    for n, p in model.named_parameters():
        p.requires_grad = "lora_" in n or (bias == "all" and n.endswith("bias"))


def hf_decay_groups(model, weight_decay):
    """HF Trainer: no weight decay for biases and LayerNorm weights."""
    ln = {id(m.weight) for m in model.modules() if isinstance(m, nn.LayerNorm)}
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if (n.endswith("bias") or id(p) in ln) else decay).append((n, p))
    return [
        {"params": [p for _, p in decay], "names": [n for n, _ in decay], "weight_decay": weight_decay},
        {"params": [p for _, p in no_decay], "names": [n for n, _ in no_decay], "weight_decay": 0.0},
    ]
