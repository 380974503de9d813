"""Reference for test/autograd.function.test.ts: custom torch.autograd.Function classes, tensor
hooks and nn.Module hooks in PyTorch (float64). test/autograd.function.test.ts writes the same
classes and hooks in TypeScript; every output, recorded gradient and input gradient must agree.

Usage: autograd_fn_ref.py INPUTS.safetensors OUT.safetensors

Inputs: x, y (5), a, b (scalars), v (6), lin1.weight/bias, lin2.weight/bias, mx (4x3).
Each case writes `<case>.out<k>` (outputs), `<case>.w<k>` (the weights of the loss, as
weighted.py), and the gradients `<case>.g.<input>` plus anything it records.
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402
from weighted import weighted_loss  # noqa: E402


class Exp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * y


class Legendre3(torch.autograd.Function):  # PyTorch's tutorial example: P3(x) = (5x^3 - 3x) / 2
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * (5 * x**3 - 3 * x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 1.5 * (5 * x**2 - 1)


class ScaledProductAndSum(torch.autograd.Function):  # two inputs, a number, two outputs
    @staticmethod
    def forward(ctx, x, y, scale):
        ctx.save_for_backward(x, y)
        ctx.scale = scale
        return x * y * scale, x + y

    @staticmethod
    def backward(ctx, g_prod, g_sum):
        x, y = ctx.saved_tensors
        return g_prod * y * ctx.scale + g_sum, g_prod * x * ctx.scale + g_sum, None


class SortWithIndices(torch.autograd.Function):  # a non-differentiable output
    @staticmethod
    def forward(ctx, x):
        values, indices = x.sort()
        ctx.mark_non_differentiable(indices)
        ctx.save_for_backward(indices)
        return values, indices

    @staticmethod
    def backward(ctx, g_values, g_indices):
        (indices,) = ctx.saved_tensors
        return torch.zeros_like(g_values).scatter(0, indices, g_values)


class DoubleInPlace(torch.autograd.Function):  # an input modified in place (dirty)
    @staticmethod
    def forward(ctx, x):
        x.mul_(2)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g * 2


class TwoOutputsNoMaterialize(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.set_materialize_grads(False)
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g2, g3):
        ctx_record.append(g3 is None)
        gx = g2 * 2
        if g3 is not None:
            gx = gx + g3 * 3
        return gx


class Cube(torch.autograd.Function):  # backward made of differentiable ops: double backward
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


ctx_record = []


def main(inputs_path, out_path):
    t = st.load(inputs_path)
    out = {}

    def leaf(name):
        return t[name].clone().requires_grad_(True)

    x = leaf("x")
    weighted_loss("exp", [Exp.apply(x)], out).backward()
    out["exp.g.x"] = x.grad

    a, b, x = leaf("a"), leaf("b"), t["x"]
    weighted_loss("legendre", [Legendre3.apply(a + b * x)], out).backward()
    out["legendre.g.a"], out["legendre.g.b"] = a.grad, b.grad

    x, y = leaf("x"), leaf("y")
    weighted_loss("two", list(ScaledProductAndSum.apply(x, y, 2.5)), out).backward()
    out["two.g.x"], out["two.g.y"] = x.grad, y.grad

    v = leaf("v")
    values, indices = SortWithIndices.apply(v * 1.0)
    out["sort.indices"] = indices
    weighted_loss("sort", [values], out).backward()
    out["sort.g.v"] = v.grad

    x = leaf("x")
    h = x * 1.0
    weighted_loss("dirty", [DoubleInPlace.apply(h).tanh()], out).backward()
    out["dirty.g.x"] = x.grad

    x = leaf("x")
    p2, _ = TwoOutputsNoMaterialize.apply(x)
    weighted_loss("nomat", [p2], out).backward()
    out["nomat.g.x"] = x.grad
    out["nomat.g3_was_none"] = torch.tensor(ctx_record[-1])

    x = leaf("x")
    (g,) = torch.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    out["cube.g"] = g.detach().clone()
    (g * t["y"]).sum().backward()
    out["cube.gg.x"] = x.grad

    # Tensor hooks: on a leaf (doubling), on an intermediate (adding 1), one that only records.
    x = leaf("x")
    x.register_hook(lambda g: g * 2)
    h = x * 3
    h.register_hook(lambda g: g + 1)
    seen = []
    h.register_hook(lambda g: seen.append(g.clone()))
    weighted_loss("hooks", [h.tanh()], out).backward()
    out["hooks.g.x"] = x.grad
    out["hooks.seen"] = seen[0]

    # Module hooks on a two-layer net: a pre-hook halves the input, a forward hook adds 1 to the
    # first layer's output, a full backward hook on the second layer records its gradients and
    # doubles grad_input.
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(t[f"net.{name}"])
    net[0].register_forward_pre_hook(lambda m, args: (args[0] * 0.5,))
    net[0].register_forward_hook(lambda m, args, output: output + 1)
    recorded = {}

    def backward_hook(m, grad_input, grad_output):
        recorded["gi"], recorded["go"] = grad_input[0].clone(), grad_output[0].clone()
        return (grad_input[0] * 2,)

    net[2].register_full_backward_hook(backward_hook)
    mx = leaf("mx")
    weighted_loss("module", [net(mx)], out).backward()
    out["module.g.mx"] = mx.grad
    out["module.gi"], out["module.go"] = recorded["gi"], recorded["go"]
    for name, p in net.named_parameters():
        out[f"module.g.net.{name}"] = p.grad

    st.save(out_path, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
