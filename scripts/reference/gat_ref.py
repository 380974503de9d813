"""Reference for test/gat.test.ts: PyTorch's examples/gat main.py (its GraphAttentionLayer, GAT,
train_iter and test, without argument parsing, device selection and the Cora download: the
graph comes ready as tensors), in PyTorch.

Usage: gat_ref.py RUN.json DATA.safetensors OUT_DIR

RUN: epochs, lr, l2, hidden_dim, num_heads, concat_heads, dropout_p, seed, n_test, n_val.
DATA: features, labels, adj_mat. OUT_DIR gets init.safetensors, final.safetensors and out.json:
each epoch's training and validation loss and accuracy, and the test loss and accuracy.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

import st


class GraphAttentionLayer(nn.Module):
    def __init__(self, in_features: int, out_features: int, n_heads: int, concat: bool = False, dropout: float = 0.4, leaky_relu_slope: float = 0.2):
        super(GraphAttentionLayer, self).__init__()
        self.n_heads = n_heads
        self.concat = concat
        self.dropout = dropout
        if concat:
            self.out_features = out_features
            assert out_features % n_heads == 0
            self.n_hidden = out_features // n_heads
        else:
            self.n_hidden = out_features
        self.W = nn.Parameter(torch.empty(size=(in_features, self.n_hidden * n_heads)))
        self.a = nn.Parameter(torch.empty(size=(n_heads, 2 * self.n_hidden, 1)))
        self.leakyrelu = nn.LeakyReLU(leaky_relu_slope)
        self.softmax = nn.Softmax(dim=1)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.xavier_normal_(self.W)
        nn.init.xavier_normal_(self.a)

    def _get_attention_scores(self, h_transformed: torch.Tensor):
        source_scores = torch.matmul(h_transformed, self.a[:, :self.n_hidden, :])
        target_scores = torch.matmul(h_transformed, self.a[:, self.n_hidden:, :])
        e = source_scores + target_scores.mT
        return self.leakyrelu(e)

    def forward(self, h: torch.Tensor, adj_mat: torch.Tensor):
        n_nodes = h.shape[0]
        h_transformed = torch.mm(h, self.W)
        h_transformed = F.dropout(h_transformed, self.dropout, training=self.training)
        h_transformed = h_transformed.view(n_nodes, self.n_heads, self.n_hidden).permute(1, 0, 2)
        e = self._get_attention_scores(h_transformed)
        connectivity_mask = -9e16 * torch.ones_like(e)
        e = torch.where(adj_mat > 0, e, connectivity_mask)
        attention = F.softmax(e, dim=-1)
        attention = F.dropout(attention, self.dropout, training=self.training)
        h_prime = torch.matmul(attention, h_transformed)
        if self.concat:
            h_prime = h_prime.permute(1, 0, 2).contiguous().view(n_nodes, self.out_features)
        else:
            h_prime = h_prime.mean(dim=0)
        return h_prime


class GAT(nn.Module):
    def __init__(self, in_features, n_hidden, n_heads, num_classes, concat=False, dropout=0.4, leaky_relu_slope=0.2):
        super(GAT, self).__init__()
        self.gat1 = GraphAttentionLayer(in_features=in_features, out_features=n_hidden, n_heads=n_heads, concat=concat, dropout=dropout, leaky_relu_slope=leaky_relu_slope)
        self.gat2 = GraphAttentionLayer(in_features=n_hidden, out_features=num_classes, n_heads=1, concat=False, dropout=dropout, leaky_relu_slope=leaky_relu_slope)

    def forward(self, input_tensor: torch.Tensor, adj_mat: torch.Tensor):
        x = self.gat1(input_tensor, adj_mat)
        x = F.elu(x)
        x = self.gat2(x, adj_mat)
        return F.log_softmax(x, dim=1)


def test(model, criterion, input, target, mask):
    model.eval()
    with torch.no_grad():
        output = model(*input)
        output, target = output[mask], target[mask]
        loss = criterion(output, target)
        acc = (output.argmax(dim=1) == target).float().sum() / len(target)
    return loss.item(), acc.item()


def train_iter(model, optimizer, criterion, input, target, mask_train, mask_val):
    model.train()
    optimizer.zero_grad()
    output = model(*input)
    loss = criterion(output[mask_train], target[mask_train])
    loss.backward()
    optimizer.step()
    loss_train, acc_train = test(model, criterion, input, target, mask_train)
    loss_val, acc_val = test(model, criterion, input, target, mask_val)
    return {"lossTrain": loss_train, "accTrain": acc_train, "lossVal": loss_val, "accVal": acc_val}


def main(run_path, data_path, out_dir):
    with open(run_path) as f:
        args = json.load(f)
    data = st.load(data_path)
    features, labels, adj_mat = data["features"], data["labels"], data["adj_mat"]
    torch.manual_seed(args["seed"])
    idx = torch.randperm(len(labels))
    n_test, n_val = args["n_test"], args["n_val"]
    idx_test, idx_val, idx_train = idx[:n_test], idx[n_test:n_test + n_val], idx[n_test + n_val:]
    gat_net = GAT(in_features=features.shape[1], n_hidden=args["hidden_dim"], n_heads=args["num_heads"], num_classes=labels.max().item() + 1,
                  concat=args["concat_heads"], dropout=args["dropout_p"], leaky_relu_slope=0.2)
    st.save(os.path.join(out_dir, "init.safetensors"), {k: v.clone() for k, v in gat_net.state_dict().items()})
    optimizer = torch.optim.Adam(gat_net.parameters(), lr=args["lr"], weight_decay=args["l2"])
    criterion = nn.NLLLoss()
    history = [train_iter(gat_net, optimizer, criterion, (features, adj_mat), labels, idx_train, idx_val) for _ in range(args["epochs"])]
    loss_test, acc_test = test(gat_net, criterion, (features, adj_mat), labels, idx_test)
    st.save(os.path.join(out_dir, "final.safetensors"), {k: v.clone() for k, v in gat_net.state_dict().items()})
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump({"history": history, "loss_test": loss_test, "acc_test": acc_test}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
