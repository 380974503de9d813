"""Reference for test/rnn.test.ts: nn.RNN, nn.LSTM and nn.GRU in PyTorch (float64, dropout 0).

Usage: rnn_ref.py INPUTS.safetensors OUT.safetensors

Each case builds its module right after torch.manual_seed(SEED) (float64 default dtype), writes
its initial state dict (`<case>.init.<name>`), runs forward on `<case>.x` (and the initial
states `<case>.h0` / `<case>.c0` when given), and writes the outputs (`<case>.out<k>`: output,
h_n, c_n) and the gradients of sum_k sum(out_k * w_k) (weights `<case>.w<k>`) for the input
(`<case>.gx`), the initial states (`<case>.gh0`, `<case>.gc0`) and the parameters (`<case>.grad.<name>`).
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402
from weighted import weighted_loss  # noqa: E402

SEED = 8
CASES = {
    "lstm_bidi": lambda: nn.LSTM(5, 4, num_layers=2, batch_first=True, bidirectional=True),
    "lstm_plain": lambda: nn.LSTM(3, 6),
    "gru": lambda: nn.GRU(5, 4, num_layers=2, bias=False),
    "rnn_relu_unbatched": lambda: nn.RNN(3, 5, nonlinearity="relu"),
    "rnn_tanh_bidi": lambda: nn.RNN(4, 3, num_layers=3, bidirectional=True, batch_first=True),
}


# Packed batches (nn.utils.rnn): padded input `<case>.x` with `<case>.lengths`, packed (sorted
# here unless given sorted), run, unpacked; outputs: the padded output, its lengths, the states.
PACKED = {
    "packed_lstm_unsorted": (lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True), False, False),
    "packed_gru_batch_first": (lambda: nn.GRU(3, 5, batch_first=True), True, True),
    "packed_rnn_unsorted_h0": (lambda: nn.RNN(2, 3, nonlinearity="relu", batch_first=True), True, False),
}


# Cells (one step each), run over `<case>.x` (T, N, in) step by step from `<case>.h0` (and
# `<case>.c0`) or zeros: outputs `<case>.out0` (the stacked h), then the last states.
CELLS = {
    "cell_lstm": lambda: nn.LSTMCell(3, 4),
    "cell_gru_nobias": lambda: nn.GRUCell(3, 5, bias=False),
    "cell_rnn_relu": lambda: nn.RNNCell(2, 3, nonlinearity="relu"),
}


def run_cells(t, out):
    for name, make in CELLS.items():
        torch.manual_seed(SEED)
        m = make()
        for k, v in m.state_dict().items():
            out[f"{name}.init.{k}"] = v.clone()
        x, h0, c0 = inputs_of(t, name)
        h, c = h0, c0
        hs = []
        for step in range(x.shape[0]):
            if isinstance(m, nn.LSTMCell):
                h, c = m(x[step], (h, c) if h is not None else None)
            else:
                h = m(x[step], h)
            hs.append(h)
        outs = [torch.stack(hs)] + ([c] if c is not None else [])
        weighted_loss(name, outs, out).backward()
        record_grads(name, m, x, h0, c0, out)


def run_packed(t, out):
    pack, pad = nn.utils.rnn.pack_padded_sequence, nn.utils.rnn.pad_packed_sequence
    for name, (make, batch_first, enforce_sorted) in PACKED.items():
        torch.manual_seed(SEED)
        m = make()
        x, h0, _ = inputs_of(t, name)
        lengths = t[f"{name}.lengths"]
        packed = pack(x, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
        out[f"{name}.batch_sizes"] = packed.batch_sizes
        y, h = m(packed, h0) if h0 is not None else m(packed)
        padded, out_lengths = pad(y, batch_first=batch_first, padding_value=-1.0)
        out[f"{name}.lengths_out"] = out_lengths
        states = list(h) if isinstance(h, tuple) else [h]
        weighted_loss(name, [padded] + states, out).backward()
        record_grads(name, m, x, h0, None, out)


def inputs_of(t, name):
    """x, h0 and c0 of a case (h0 / c0 None when not given), as leaves that need a gradient."""
    leaf = lambda k: t[f"{name}.{k}"].clone().requires_grad_(True) if f"{name}.{k}" in t else None  # noqa: E731
    return leaf("x"), leaf("h0"), leaf("c0")


def record_grads(name, m, x, h0, c0, out):
    out[f"{name}.gx"] = x.grad
    if h0 is not None:
        out[f"{name}.gh0"] = h0.grad
    if c0 is not None:
        out[f"{name}.gc0"] = c0.grad
    for pname, p in m.named_parameters():
        out[f"{name}.grad.{pname}"] = p.grad


def main(inputs_path, out_path):
    torch.set_default_dtype(torch.float64)
    t = st.load(inputs_path)
    out = {}
    for name, make in CASES.items():
        torch.manual_seed(SEED)
        m = make()
        for k, v in m.state_dict().items():
            out[f"{name}.init.{k}"] = v.clone()
        x, h0, c0 = inputs_of(t, name)
        if isinstance(m, nn.LSTM):
            y, (h, c) = m(x, (h0, c0)) if h0 is not None else m(x)
            outs = [y, h, c]
        else:
            y, h = m(x, h0) if h0 is not None else m(x)
            outs = [y, h]
        weighted_loss(name, outs, out).backward()
        record_grads(name, m, x, h0, c0, out)
    run_packed(t, out)
    run_cells(t, out)
    st.save(out_path, out)


if __name__ == "__main__":
    main(*sys.argv[1:3])
