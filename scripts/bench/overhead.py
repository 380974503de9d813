"""Python eager side of scripts/bench/overhead: same loops, same libtorch, one thread."""
import json
import sys
import time

import torch

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
torch.set_num_threads(1)
torch.manual_seed(0)


def us_per_iter(count, f):
    for _ in range(count // 10):
        f()
    t0 = time.perf_counter()
    for _ in range(count):
        f()
    return (time.perf_counter() - t0) * 1e6 / count


a, b = torch.randn(16), torch.randn(16)
add = us_per_iter(n, lambda: torch.add(a, b))
# The same op with results freed in batches of 100, as tidy() frees a scope.
add_batch = us_per_iter(n // 100, lambda: [torch.add(a, b) for _ in range(100)]) / 100
x = torch.randn(4, 4).requires_grad_(True)
w = torch.randn(4, 4)


def step():
    y = x.matmul(w).tanh().sum()
    y.backward()
    x.grad


s = us_per_iter(n // 10, step)


class TanhFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.tanh()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)


def fn_step():
    y = TanhFn.apply(x.matmul(w)).sum()
    y.backward()
    x.grad


fn_s = us_per_iter(n // 10, fn_step)
m = torch.randn(8, 16)
index = us_per_iter(n, lambda: m[1:3, None, ::2])
mul_number = us_per_iter(n, lambda: a * 2.5)
print(json.dumps({"add_us": add, "add_batch_us": add_batch, "step_us": s, "fn_step_us": fn_s, "index_us": index, "mul_number_us": mul_number}))
