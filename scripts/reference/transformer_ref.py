"""Reference for test/transformer.test.ts: nn.MultiheadAttention, the Transformer encoder and
decoder layers and stacks, and nn.Transformer in PyTorch (float64, train mode, dropout 0).

Usage: transformer_ref.py INPUTS.safetensors OUT.safetensors

Each case builds its module right after torch.manual_seed(SEED) with float64 as the default
dtype, writes its initial state dict (`<case>.init.<name>`), runs forward on the inputs
(`<case>.in<k>`; those listed in `<case>.needs_grad` require a gradient) and writes the outputs (`<case>.out<k>`), and the gradients of
sum_k sum(out_k * w_k) (weights `<case>.w<k>`, fixed here) for the float inputs (`<case>.gin<k>`)
and the parameters (`<case>.grad.<name>`).
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402
from weighted import weighted_loss  # noqa: E402

SEED = 21


def cases():
    enc_layer = lambda: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    return {
        "mha_self": (lambda: nn.MultiheadAttention(8, 2),
                     lambda m, x, causal, kpm: m(x, x, x, attn_mask=causal, key_padding_mask=kpm)),
        "mha_cross": (lambda: nn.MultiheadAttention(8, 4, batch_first=True),
                      lambda m, q, kv, fmask: m(q, kv, kv, attn_mask=fmask, average_attn_weights=False)),
        "mha_unbatched": (lambda: nn.MultiheadAttention(6, 3, bias=False),
                          lambda m, q, k, v: m(q, k, v)),
        "mha_kvdim": (lambda: nn.MultiheadAttention(8, 2, kdim=5, vdim=3, batch_first=True),
                      lambda m, q, k, v, kpm: m(q, k, v, key_padding_mask=kpm)),
        "enc_post": (lambda: nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0),
                     lambda m, x, fmask, kpm: m(x, src_mask=fmask, src_key_padding_mask=kpm)),
        "enc_pre_gelu": (lambda: nn.TransformerEncoderLayer(8, 4, dim_feedforward=12, dropout=0.0, activation="gelu", batch_first=True, norm_first=True),
                         lambda m, x: m(x)),
        "encoder": (lambda: nn.TransformerEncoder(enc_layer(), 2, norm=nn.LayerNorm(8), enable_nested_tensor=False),
                    lambda m, x, kpm: m(x, src_key_padding_mask=kpm)),
        "dec_post": (lambda: nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0),
                     lambda m, tgt, mem, causal, kpm: m(tgt, mem, tgt_mask=causal, memory_key_padding_mask=kpm)),
        "dec_pre_gelu": (lambda: nn.TransformerDecoderLayer(8, 4, dim_feedforward=12, dropout=0.0, activation="gelu", batch_first=True, norm_first=True),
                         lambda m, tgt, mem, fmask, tkpm: m(tgt, mem, tgt_mask=nn.Transformer.generate_square_subsequent_mask(4), memory_mask=fmask, tgt_key_padding_mask=tkpm)),
        "transformer": (lambda: nn.Transformer(8, 2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0, batch_first=True),
                        lambda m, src, tgt, skpm: m(src, tgt, tgt_mask=nn.Transformer.generate_square_subsequent_mask(4), src_key_padding_mask=skpm,
                                                    memory_key_padding_mask=skpm)),
    }


def main(inputs_path, out_path):
    torch.set_default_dtype(torch.float64)
    t = st.load(inputs_path)
    out = {}
    for name, (make, run) in cases().items():
        torch.manual_seed(SEED)
        m = make()
        m.train()
        for k, v in m.state_dict().items():
            out[f"{name}.init.{k}"] = v.clone()
        xs = []
        need_grad = t[f"{name}.needs_grad"].tolist()
        while f"{name}.in{len(xs)}" in t:
            x = t[f"{name}.in{len(xs)}"].clone()
            xs.append(x.requires_grad_(True) if len(xs) in need_grad else x)
        res = run(m, *xs)
        outs = [o for o in res if o is not None] if isinstance(res, tuple) else [res]
        weighted_loss(name, outs, out).backward()
        for i, x in enumerate(xs):
            if x.requires_grad:
                out[f"{name}.gin{i}"] = x.grad
        for pname, p in m.named_parameters():
            out[f"{name}.grad.{pname}"] = p.grad
    st.save(out_path, out)


if __name__ == "__main__":
    main(*sys.argv[1:3])
