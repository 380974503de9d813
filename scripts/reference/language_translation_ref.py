"""Reference for test/language_translation.test.ts: PyTorch's examples/language_translation
(main.py, src/model.py, src/data.py: a Transformer encoder-decoder - token embeddings, a sinusoidal
PositionalEncoding buffer with dropout, nn.Transformer with its four masks, a vocabulary-sized
output layer - trained with Adam (betas 0.9 / 0.98, eps 1e-9) and cross-entropy ignoring padding),
in PyTorch as written, without argument parsing, logging, tqdm, devices and the Multi30k download:
the sentence pairs come in RUN, split on whitespace (data.py's tokenizer when spaCy's models are
missing, as here). Two changes, both needed to run it: the best / last weights go to OUT_DIR, and
Translator.encode / decode, which main.py's greedy_decode calls, are written as they are meant
(the original passes the masks to PositionalEncoding, which takes one argument, and calls the
decoder without its memory: a TypeError at the first sentence).

Usage: language_translation_ref.py RUN.json OUT_DIR

RUN: train_pairs, valid_pairs ([src, tgt] sentences), epochs, lr, batch, attn_heads, enc_layers,
dec_layers, embed_size, dim_feedforward, dropout, seed, translate (sentences for greedy_decode).
OUT_DIR gets init.safetensors and final.safetensors (state dicts), best.safetensors (torch.load of
best.pt) and out.json: the vocabularies, the first training batch, every epoch's train and
validation loss, the epochs that saved best.pt, and the greedy translations.
"""
import json
import math
import os
import sys
from collections import Counter
from types import SimpleNamespace

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

import st


# ---- src/model.py ----
class PositionalEncoding(nn.Module):
    def __init__(
        self,
        emb_size,
        dropout,
        maxlen=5000
    ):
        super(PositionalEncoding, self).__init__()
        den = torch.exp(- torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
        pos = torch.arange(0, maxlen).reshape(maxlen, 1)
        pos_embedding = torch.zeros((maxlen, emb_size))
        pos_embedding[:, 0::2] = torch.sin(pos * den)
        pos_embedding[:, 1::2] = torch.cos(pos * den)
        pos_embedding = pos_embedding.unsqueeze(-2)

        self.dropout = nn.Dropout(dropout)
        self.register_buffer('pos_embedding', pos_embedding)

    def forward(self, token_embedding):
        return self.dropout(token_embedding + self.pos_embedding[:token_embedding.size(0), :])


class Translator(nn.Module):
    def __init__(
            self,
            num_encoder_layers,
            num_decoder_layers,
            embed_size,
            num_heads,
            src_vocab_size,
            tgt_vocab_size,
            dim_feedforward,
            dropout
    ):
        super(Translator, self).__init__()

        # Output of embedding must be equal (embed_size)
        self.src_embedding = nn.Embedding(src_vocab_size, embed_size)
        self.tgt_embedding = nn.Embedding(tgt_vocab_size, embed_size)

        self.pos_enc = PositionalEncoding(embed_size, dropout)

        self.transformer = nn.Transformer(
            d_model=embed_size,
            nhead=num_heads,
            num_encoder_layers=num_encoder_layers,
            num_decoder_layers=num_decoder_layers,
            dim_feedforward=dim_feedforward,
            dropout=dropout
        )

        self.ff = nn.Linear(embed_size, tgt_vocab_size)

    def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, memory_key_padding_mask):

        src_emb = self.pos_enc(self.src_embedding(src))
        tgt_emb = self.pos_enc(self.tgt_embedding(trg))

        outs = self.transformer(
            src_emb,
            tgt_emb,
            src_mask,
            tgt_mask,
            None,
            src_padding_mask,
            tgt_padding_mask,
            memory_key_padding_mask
        )

        return self.ff(outs)

    def encode(self, src, src_mask):
        embed = self.src_embedding(src)
        # (model.py: self.pos_enc(embed, src_mask), then self.transformer.encoder(pos_enc))
        pos_enc = self.pos_enc(embed)
        return self.transformer.encoder(pos_enc, src_mask)

    def decode(self, tgt, memory, tgt_mask):
        embed = self.tgt_embedding(tgt)
        # (model.py: self.pos_enc(embed, memory, tgt_mask), then self.transformer.decoder(pos_enc))
        pos_enc = self.pos_enc(embed)
        return self.transformer.decoder(pos_enc, memory, tgt_mask)


# ---- src/data.py ----
class Vocabulary:
    def __init__(self, tokens, special_tokens=None):
        if special_tokens is None:
            special_tokens = ["<unk>", "<pad>", "<bos>", "<eos>"]

        self.itos = special_tokens.copy()
        self.stoi = {token: idx for idx, token in enumerate(self.itos)}

        for token in tokens:
            if token not in self.stoi:
                self.stoi[token] = len(self.itos)
                self.itos.append(token)

        self.unk_index = self.stoi.get("<unk>", 0)

    def __len__(self):
        return len(self.itos)

    def __getitem__(self, token):
        return self.stoi.get(token, self.unk_index)

    def __call__(self, tokens):
        if isinstance(tokens, str):
            return self.stoi.get(tokens, self.unk_index)
        return [self.stoi.get(token, self.unk_index) for token in tokens]

    def lookup_tokens(self, indices):
        return [self.itos[idx] if idx < len(self.itos) else "<unk>" for idx in indices]

    def set_default_index(self, index):
        self.unk_index = index


def build_vocab_from_data(data, tokenizer, min_freq=1, special_tokens=None):
    """Build vocabulary from data"""
    counter = Counter()
    for text in data:
        tokens = tokenizer(text)
        counter.update(tokens)

    # Filter by min_freq
    tokens = [token for token, freq in counter.items() if freq >= min_freq]

    return Vocabulary(tokens, special_tokens)


def get_data(opts):
    special_symbols = {"<unk>": 0, "<pad>": 1, "<bos>": 2, "<eos>": 3}
    special_tokens = list(special_symbols.keys())

    # (data.py's fallback when spaCy's models are missing: whitespace)
    src_tokenizer = lambda text: text.split()
    tgt_tokenizer = lambda text: text.split()

    train_data = [tuple(p) for p in opts.train_pairs]
    valid_data = [tuple(p) for p in opts.valid_pairs]

    src_texts = [pair[0] for pair in train_data]
    tgt_texts = [pair[1] for pair in train_data]

    src_vocab = build_vocab_from_data(src_texts, src_tokenizer, min_freq=1, special_tokens=special_tokens)
    tgt_vocab = build_vocab_from_data(tgt_texts, tgt_tokenizer, min_freq=1, special_tokens=special_tokens)

    src_vocab.set_default_index(special_symbols["<unk>"])
    tgt_vocab.set_default_index(special_symbols["<unk>"])

    def create_text_transform(tokenizer, vocab, special_symbols):
        def transform(text):
            tokens = tokenizer(text)
            token_ids = vocab(tokens)
            return torch.cat([
                torch.tensor([special_symbols["<bos>"]], dtype=torch.long),
                torch.tensor(token_ids, dtype=torch.long),
                torch.tensor([special_symbols["<eos>"]], dtype=torch.long)
            ])
        return transform

    src_lang_transform = create_text_transform(src_tokenizer, src_vocab, special_symbols)
    tgt_lang_transform = create_text_transform(tgt_tokenizer, tgt_vocab, special_symbols)

    def collate_fn(batch):
        src_batch, tgt_batch = [], []
        for src_sample, tgt_sample in batch:
            src_batch.append(src_lang_transform(src_sample.rstrip("\n")))
            tgt_batch.append(tgt_lang_transform(tgt_sample.rstrip("\n")))

        src_batch = pad_sequence(src_batch, padding_value=special_symbols["<pad>"])
        tgt_batch = pad_sequence(tgt_batch, padding_value=special_symbols["<pad>"])
        return src_batch, tgt_batch

    train_dataloader = DataLoader(train_data, batch_size=opts.batch, shuffle=True, collate_fn=collate_fn)
    valid_dataloader = DataLoader(valid_data, batch_size=opts.batch, shuffle=False, collate_fn=collate_fn)

    return train_dataloader, valid_dataloader, src_vocab, tgt_vocab, src_lang_transform, tgt_lang_transform, special_symbols


def generate_square_subsequent_mask(size, device):
    mask = (torch.triu(torch.ones((size, size), device=device)) == 1).transpose(0, 1)
    mask = mask.float().masked_fill(mask == 0, float('-inf')).masked_fill(mask == 1, float(0.0))
    return mask


def create_mask(src, tgt, pad_idx, device):
    src_seq_len = src.shape[0]
    tgt_seq_len = tgt.shape[0]

    tgt_mask = generate_square_subsequent_mask(tgt_seq_len, device)
    src_mask = torch.zeros((src_seq_len, src_seq_len), device=device).type(torch.bool)

    src_padding_mask = (src == pad_idx).transpose(0, 1)
    tgt_padding_mask = (tgt == pad_idx).transpose(0, 1)
    return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask


# ---- main.py ----
DEVICE = torch.device("cpu")


def greedy_decode(model, src, src_mask, max_len, start_symbol, end_symbol):
    src = src.to(DEVICE)
    src_mask = src_mask.to(DEVICE)

    memory = model.encode(src, src_mask)

    ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long).to(DEVICE)

    for _ in range(max_len - 1):
        memory = memory.to(DEVICE)
        tgt_mask = (generate_square_subsequent_mask(ys.size(0), DEVICE).type(torch.bool)).to(DEVICE)
        out = model.decode(ys, memory, tgt_mask)

        out = out.transpose(0, 1)

        prob = model.ff(out[:, -1])
        _, next_word = torch.max(prob, dim=1)
        next_word = next_word.item()

        ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=0)
        if next_word == end_symbol:
            break

    return ys


def translate(model, sentence, src_transform, tgt_vocab, special_symbols):
    # (inference()'s loop body for one sentence)
    src = src_transform(sentence).view(-1, 1)
    num_tokens = src.shape[0]
    src_mask = (torch.zeros(num_tokens, num_tokens)).type(torch.bool)
    tgt_tokens = greedy_decode(
        model, src, src_mask, max_len=num_tokens + 5, start_symbol=special_symbols["<bos>"], end_symbol=special_symbols["<eos>"]
    ).flatten()
    output_as_list = list(tgt_tokens.cpu().numpy())
    output_list_words = tgt_vocab.lookup_tokens(output_as_list)
    return " ".join(output_list_words).replace("<bos>", "").replace("<eos>", "")


def train(model, train_dl, loss_fn, optim, special_symbols, opts, log):
    losses = 0
    model.train()
    for src, tgt in train_dl:
        if "first_batch" not in log:
            log["first_batch"] = [src.tolist(), tgt.tolist()]
        src = src.to(DEVICE)
        tgt = tgt.to(DEVICE)

        tgt_input = tgt[:-1, :]

        src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input, special_symbols["<pad>"], DEVICE)

        logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, src_padding_mask)

        optim.zero_grad()

        tgt_out = tgt[1:, :]

        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        loss.backward()

        optim.step()

        losses += loss.item()
        log["train_batches"].append(loss.item())

    return losses / len(list(train_dl))


def validate(model, valid_dl, loss_fn, special_symbols):
    losses = 0
    model.eval()
    for src, tgt in valid_dl:
        src = src.to(DEVICE)
        tgt = tgt.to(DEVICE)

        tgt_input = tgt[:-1, :]

        src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input, special_symbols["<pad>"], DEVICE)

        logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, src_padding_mask)

        tgt_out = tgt[1:, :]
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        losses += loss.item()

    return losses / len(list(valid_dl))


def main(run_path, out_dir):
    with open(run_path) as f:
        opts = SimpleNamespace(**json.load(f))
    torch.manual_seed(opts.seed)
    log = {"train_batches": [], "epochs": [], "saved": []}

    train_dl, valid_dl, src_vocab, tgt_vocab, src_transform, _, special_symbols = get_data(opts)
    log["vocab"] = [src_vocab.itos, tgt_vocab.itos]

    model = Translator(
        num_encoder_layers=opts.enc_layers,
        num_decoder_layers=opts.dec_layers,
        embed_size=opts.embed_size,
        num_heads=opts.attn_heads,
        src_vocab_size=len(src_vocab),
        tgt_vocab_size=len(tgt_vocab),
        dim_feedforward=opts.dim_feedforward,
        dropout=opts.dropout
    ).to(DEVICE)
    st.save(os.path.join(out_dir, "init.safetensors"), {k: v.detach().clone() for k, v in model.state_dict().items()})

    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=special_symbols["<pad>"])
    optim = torch.optim.Adam(model.parameters(), lr=opts.lr, betas=(0.9, 0.98), eps=1e-9)

    best_val_loss = 1e6
    for idx, epoch in enumerate(range(1, opts.epochs + 1)):
        train_loss = train(model, train_dl, loss_fn, optim, special_symbols, opts, log)
        val_loss = validate(model, valid_dl, loss_fn, special_symbols)
        log["epochs"].append([train_loss, val_loss])

        if val_loss < best_val_loss:
            best_val_loss = val_loss
            torch.save(model.state_dict(), os.path.join(out_dir, "best.pt"))
            log["saved"].append(epoch)

        torch.save(model.state_dict(), os.path.join(out_dir, "last.pt"))

    st.save(os.path.join(out_dir, "final.safetensors"), {k: v.detach().clone() for k, v in model.state_dict().items()})
    best = torch.load(os.path.join(out_dir, "best.pt"))
    st.save(os.path.join(out_dir, "best.safetensors"), {k: v.detach().clone() for k, v in best.items()})

    model.eval()
    log["translations"] = [translate(model, s, src_transform, tgt_vocab, special_symbols) for s in opts.translate]
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump(log, f)


if __name__ == "__main__":
    main(*sys.argv[1:3])
