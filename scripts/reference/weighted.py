"""The loss the parity tests differentiate: sum_k sum(out_k * w_k) with fixed weights w_k (a
linspace), so that every output element's gradient path is checked, not only their sum."""
import torch


def weighted_loss(name, outs, out):
    """Records every output as `<name>.out<k>` and, for those that need a gradient, its weights as
    `<name>.w<k>`; returns their weighted sum (None when no output needs a gradient)."""
    loss = None
    for k, y in enumerate(outs):
        out[f"{name}.out{k}"] = y.detach().clone()
        if y.requires_grad:
            w = torch.linspace(-1.0, 1.5, y.numel(), dtype=torch.float64).reshape(y.shape).to(y.dtype)
            out[f"{name}.w{k}"] = w
            term = (y * w).sum()
            loss = term if loss is None else loss + term
    return loss
