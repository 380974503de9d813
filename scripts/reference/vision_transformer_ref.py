"""Reference for test/vision_transformer.test.ts: PyTorch's examples/vision_transformer (main.py: a
Vision Transformer - patches by unfold, a linear projection, a class token and positional
embedding, pre-norm encoder blocks of nn.MultiheadAttention and a GELU MLP, an MLP head - trained
with Adam (weight decay) and cross-entropy, the best weights by validation loss saved with
torch.save), in PyTorch as written, without argument parsing, tqdm, the CIFAR10 download and its
Resize: the images come ready as tensors of img_size.

Usage: vision_transformer_ref.py RUN.json DATA.safetensors OUT_DIR

RUN: patch_size, latent_size, n_channels, num_heads, num_encoders, dropout, num_classes, epochs,
lr, weight_decay, batch_size, dry_run, seed. DATA: train_images, train_labels, valid_images,
valid_labels. OUT_DIR gets init.safetensors and final.safetensors (the state dict), best.safetensors
(what torch.load reads back from best-weights.pt) and out.json: every batch's loss (train and
valid), each epoch's mean losses, the epochs whose weights were saved, and the best losses.
"""
import json
import os
import sys
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn as nn
from torch import optim
from torch.utils.data import DataLoader, TensorDataset

import st


class PatchExtractor(nn.Module):
    def __init__(self, patch_size=16):
        super().__init__()
        self.patch_size = patch_size

    def forward(self, input_data):
        batch_size, channels, height, width = input_data.size()
        assert height % self.patch_size == 0 and width % self.patch_size == 0, \
            f"Input height ({height}) and width ({width}) must be divisible by patch size ({self.patch_size})"

        num_patches_h = height // self.patch_size
        num_patches_w = width // self.patch_size
        num_patches = num_patches_h * num_patches_w

        patches = input_data.unfold(2, self.patch_size, self.patch_size). \
            unfold(3, self.patch_size, self.patch_size). \
            permute(0, 2, 3, 1, 4, 5). \
            contiguous(). \
            view(batch_size, num_patches, -1)

        return patches


class InputEmbedding(nn.Module):

    def __init__(self, args):
        super(InputEmbedding, self).__init__()
        self.patch_size = args.patch_size
        self.n_channels = args.n_channels
        self.latent_size = args.latent_size
        self.device = torch.device("cpu")
        self.batch_size = args.batch_size
        self.input_size = self.patch_size * self.patch_size * self.n_channels

        # Linear projection
        self.LinearProjection = nn.Linear(self.input_size, self.latent_size)
        # Class token
        self.class_token = nn.Parameter(torch.randn(self.batch_size, 1, self.latent_size).to(self.device))
        # Positional embedding
        self.pos_embedding = nn.Parameter(torch.randn(self.batch_size, 1, self.latent_size).to(self.device))

    def forward(self, input_data):
        input_data = input_data.to(self.device)
        # Patchifying the Image
        patchify = PatchExtractor(patch_size=self.patch_size)
        patches = patchify(input_data)

        linear_projection = self.LinearProjection(patches).to(self.device)
        b, n, _ = linear_projection.shape
        linear_projection = torch.cat((self.class_token, linear_projection), dim=1)
        pos_embed = self.pos_embedding[:, :n + 1, :]
        linear_projection += pos_embed

        return linear_projection


class EncoderBlock(nn.Module):

    def __init__(self, args):
        super(EncoderBlock, self).__init__()

        self.latent_size = args.latent_size
        self.num_heads = args.num_heads
        self.dropout = args.dropout
        self.norm = nn.LayerNorm(self.latent_size)
        self.attention = nn.MultiheadAttention(self.latent_size, self.num_heads, dropout=self.dropout)
        self.enc_MLP = nn.Sequential(
            nn.Linear(self.latent_size, self.latent_size * 4),
            nn.GELU(),
            nn.Dropout(self.dropout),
            nn.Linear(self.latent_size * 4, self.latent_size),
            nn.Dropout(self.dropout)
        )

    def forward(self, emb_patches):
        first_norm = self.norm(emb_patches)
        attention_out = self.attention(first_norm, first_norm, first_norm)[0]
        first_added = attention_out + emb_patches
        second_norm = self.norm(first_added)
        mlp_out = self.enc_MLP(second_norm)
        output = mlp_out + first_added

        return output


class ViT(nn.Module):
    def __init__(self, args):
        super(ViT, self).__init__()

        self.num_encoders = args.num_encoders
        self.latent_size = args.latent_size
        self.num_classes = args.num_classes
        self.dropout = args.dropout

        self.embedding = InputEmbedding(args)
        # Encoder Stack
        self.encoders = nn.ModuleList([EncoderBlock(args) for _ in range(self.num_encoders)])
        self.MLPHead = nn.Sequential(
            nn.LayerNorm(self.latent_size),
            nn.Linear(self.latent_size, self.latent_size),
            nn.Linear(self.latent_size, self.num_classes),
        )

    def forward(self, test_input):
        enc_output = self.embedding(test_input)
        for enc_layer in self.encoders:
            enc_output = enc_layer(enc_output)

        class_token_embed = enc_output[:, 0]
        return self.MLPHead(class_token_embed)


class TrainEval:
    # (tqdm's progress bar is left out; each batch's loss is recorded instead)

    def __init__(self, args, model, train_dataloader, val_dataloader, optimizer, criterion, device, out_dir, log):
        self.model = model
        self.train_dataloader = train_dataloader
        self.val_dataloader = val_dataloader
        self.optimizer = optimizer
        self.criterion = criterion
        self.epoch = args.epochs
        self.device = device
        self.args = args
        self.out_dir = out_dir
        self.log = log

    def train_fn(self, current_epoch):
        self.model.train()
        total_loss = 0.0

        for t, data in enumerate(self.train_dataloader):
            images, labels = data
            images, labels = images.to(self.device), labels.to(self.device)
            self.optimizer.zero_grad()
            logits = self.model(images)
            loss = self.criterion(logits, labels)
            loss.backward()
            self.optimizer.step()

            total_loss += loss.item()
            self.log["train_batches"].append(loss.item())
            if self.args.dry_run:
                break

        return total_loss / len(self.train_dataloader)

    def eval_fn(self, current_epoch):
        self.model.eval()
        total_loss = 0.0

        for t, data in enumerate(self.val_dataloader):
            images, labels = data
            images, labels = images.to(self.device), labels.to(self.device)

            logits = self.model(images)
            loss = self.criterion(logits, labels)

            total_loss += loss.item()
            self.log["valid_batches"].append(loss.item())
            if self.args.dry_run:
                break

        return total_loss / len(self.val_dataloader)

    def train(self):
        best_valid_loss = np.inf
        best_train_loss = np.inf
        for i in range(self.epoch):
            train_loss = self.train_fn(i)
            val_loss = self.eval_fn(i)
            self.log["epochs"].append([train_loss, val_loss])

            if val_loss < best_valid_loss:
                torch.save(self.model.state_dict(), os.path.join(self.out_dir, "best-weights.pt"))
                self.log["saved"].append(i)
                best_valid_loss = val_loss
                best_train_loss = train_loss
        self.log["best"] = [best_train_loss, best_valid_loss]


def main(run_path, data_path, out_dir):
    with open(run_path) as f:
        args = SimpleNamespace(**json.load(f))
    data = st.load(data_path)
    torch.manual_seed(args.seed)
    device = torch.device("cpu")

    train_loader = DataLoader(TensorDataset(data["train_images"], data["train_labels"]), batch_size=args.batch_size, shuffle=True)
    valid_loader = DataLoader(TensorDataset(data["valid_images"], data["valid_labels"]), batch_size=args.batch_size, shuffle=True)

    model = ViT(args).to(device)
    st.save(os.path.join(out_dir, "init.safetensors"), {k: v.detach().clone() for k, v in model.state_dict().items()})

    optimizer = optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    criterion = nn.CrossEntropyLoss()

    log = {"train_batches": [], "valid_batches": [], "epochs": [], "saved": []}
    TrainEval(args, model, train_loader, valid_loader, optimizer, criterion, device, out_dir, log).train()

    st.save(os.path.join(out_dir, "final.safetensors"), {k: v.detach().clone() for k, v in model.state_dict().items()})
    best = torch.load(os.path.join(out_dir, "best-weights.pt"))
    st.save(os.path.join(out_dir, "best.safetensors"), {k: v.detach().clone() for k, v in best.items()})
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump(log, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
