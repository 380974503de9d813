"""Python side of scripts/bench/layers: the same models and steps in PyTorch eager, one thread.

Usage: layers_ref.py CASE ITERS -> one JSON line {ms, peak_delta_mib}
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

case, iters = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(1)
torch.manual_seed(0)
if case == "cnn_step":
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    model = net
    x, y = torch.randn(32, 3, 32, 32), torch.randint(0, 10, (32,))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = lambda: F.cross_entropy(net(x), y)
    before_step = lambda: None
elif case == "lstm_step":
    embed, lstm, head = nn.Embedding(80, 64), nn.LSTM(64, 256, batch_first=True), nn.Linear(256, 80)
    model = nn.ModuleList([embed, lstm, head])
    params = list(model.parameters())
    x, y = torch.randint(0, 80, (32, 64)), torch.randint(0, 80, (32 * 64,))
    opt = torch.optim.Adam(params, lr=1e-3)
    loss_fn = lambda: F.cross_entropy(head(lstm(embed(x))[0]).reshape(-1, 80), y)
    before_step = lambda: torch.nn.utils.clip_grad_norm_(params, 1.0)
else:
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, batch_first=True), 2, enable_nested_tensor=False)
    model = enc
    x, y = torch.randn(16, 64, 128), torch.randn(16, 64, 128)
    opt = torch.optim.AdamW(enc.parameters(), lr=1e-3)
    loss_fn = lambda: F.mse_loss(enc(x), y)
    before_step = lambda: None
model.train()
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def step():
    opt.zero_grad()
    loss_fn().backward()
    before_step()
    opt.step()


step()
times = []
for _ in range(iters):
    t0 = time.perf_counter()
    step()
    times.append((time.perf_counter() - t0) * 1e3)
times.sort()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"ms": times[len(times) // 2], "peak_delta_mib": (peak - rss0) / 1024}))
