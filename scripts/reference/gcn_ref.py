"""Reference for test/gcn.test.ts: PyTorch's examples/gcn (main.py: Kipf and Welling's graph
convolutional network on Cora), in PyTorch, without argument parsing, device selection and the
Cora download: the graph comes ready as tensors (node features, labels, edges as positions).

Usage: gcn_ref.py RUN.json DATA.safetensors OUT_DIR

RUN: hidden_dim, epochs, lr, l2, dropout_p, include_bias, seed, n_test, n_val. DATA: features
(V, F) of 0/1, labels (V), edges (E, 2) int32. OUT_DIR gets init.safetensors, final.safetensors,
graph.safetensors (the normalised features and adjacency, dense) and out.json: every epoch's train
loss and its train / validation (loss, accuracy), and the test (loss, accuracy).
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import Adam

import st


class GraphConv(nn.Module):
    """
        Graph Convolutional Layer described in "Semi-Supervised Classification with Graph Convolutional Networks".
    """
    def __init__(self, input_dim, output_dim, use_bias=False):
        super(GraphConv, self).__init__()

        # Initialize the weight matrix
        self.kernel = nn.Parameter(torch.Tensor(input_dim, output_dim))
        nn.init.xavier_normal_(self.kernel)  # Initialize the weights using Xavier initialization

        # Initialize the bias (if use_bias is True)
        self.bias = None
        if use_bias:
            self.bias = nn.Parameter(torch.Tensor(output_dim))
            nn.init.zeros_(self.bias)  # Initialize the bias to zeros

    def forward(self, input_tensor, adj_mat):
        support = torch.mm(input_tensor, self.kernel)  # Matrix multiplication between input and weight matrix
        output = torch.spmm(adj_mat, support)  # Sparse matrix multiplication between adjacency matrix and support
        # Add the bias (if bias is not None)
        if self.bias is not None:
            output = output + self.bias

        return output


class GCN(nn.Module):
    """
    Graph Convolutional Network (GCN) as described in the paper `"Semi-Supervised Classification with Graph
    Convolutional Networks" <https://arxiv.org/pdf/1609.02907.pdf>`.
    """
    def __init__(self, input_dim, hidden_dim, output_dim, use_bias=True, dropout_p=0.1):
        super(GCN, self).__init__()

        # Define the Graph Convolution layers
        self.gc1 = GraphConv(input_dim, hidden_dim, use_bias=use_bias)
        self.gc2 = GraphConv(hidden_dim, output_dim, use_bias=use_bias)

        # Define the dropout layer
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input_tensor, adj_mat):
        # Perform the first graph convolutional layer
        x = self.gc1(input_tensor, adj_mat)
        x = F.relu(x)  # Apply ReLU activation function
        x = self.dropout(x)  # Apply dropout regularization

        # Perform the second graph convolutional layer
        x = self.gc2(x, adj_mat)

        # Apply log-softmax activation function for classification
        return F.log_softmax(x, dim=1)


def load_cora(data):
    """The renormalisation trick D^(-1/2) (A + I) D^(-1/2) on the graph; the features row-normalised."""
    # Process features
    features = data["features"].clone()  # Extract feature values
    scale_vector = torch.sum(features, dim=1)  # Compute sum of features for each node
    scale_vector = 1 / scale_vector  # Compute reciprocal of the sums
    scale_vector[scale_vector == float('inf')] = 0  # Handle division by zero cases
    scale_vector = torch.diag(scale_vector).to_sparse()  # Convert the scale vector to a sparse diagonal matrix
    features = scale_vector @ features  # Scale the features using the scale vector

    # Process labels
    labels = data["labels"]

    # Process adjacency matrix
    edges = data["edges"]
    V = len(labels)  # Number of nodes
    E = edges.shape[0]  # Number of edges
    adj_mat = torch.sparse_coo_tensor(edges.T, torch.ones(E), (V, V), dtype=torch.int64)  # Create the initial adjacency matrix as a sparse tensor
    adj_mat = torch.eye(V) + adj_mat  # Add self-loops to the adjacency matrix

    degree_mat = torch.sum(adj_mat, dim=1)  # Compute the sum of each row in the adjacency matrix (degree matrix)
    degree_mat = torch.sqrt(1 / degree_mat)  # Compute the reciprocal square root of the degrees
    degree_mat[degree_mat == float('inf')] = 0  # Handle division by zero cases
    degree_mat = torch.diag(degree_mat).to_sparse()  # Convert the degree matrix to a sparse diagonal matrix

    # (main.py writes degree_mat @ adj_mat @ degree_mat; PyTorch 1.13 has no dense @ sparse, so the
    # right factor is made dense: the same product)
    adj_mat = degree_mat @ adj_mat @ degree_mat.to_dense()  # Apply the renormalization trick

    return features.to_sparse(), labels, adj_mat.to_sparse()


def train_iter(epoch, model, optimizer, criterion, input, target, mask_train, mask_val, log):
    model.train()
    optimizer.zero_grad()

    # Forward pass
    output = model(*input)
    loss = criterion(output[mask_train], target[mask_train])  # Compute the loss using the training mask

    loss.backward()
    optimizer.step()

    # Evaluate the model performance on training and validation sets
    loss_train, acc_train = test(model, criterion, input, target, mask_train)
    loss_val, acc_val = test(model, criterion, input, target, mask_val)
    log.append({"loss": loss.item(), "train": [loss_train, acc_train], "val": [loss_val, acc_val]})


def test(model, criterion, input, target, mask):
    model.eval()
    with torch.no_grad():
        output = model(*input)
        output, target = output[mask], target[mask]

        loss = criterion(output, target)
        acc = (output.argmax(dim=1) == target).float().sum() / len(target)
    return loss.item(), acc.item()


def main(run_path, data_path, out_dir):
    with open(run_path) as f:
        args = json.load(f)
    data = st.load(data_path)
    torch.manual_seed(args["seed"])

    features, labels, adj_mat = load_cora(data)
    st.save(os.path.join(out_dir, "graph.safetensors"), {"features": features.to_dense(), "adj": adj_mat.to_dense()})
    idx = torch.randperm(len(labels))
    idx_test, idx_val, idx_train = idx[:args["n_test"]], idx[args["n_test"]:args["n_test"] + args["n_val"]], idx[args["n_test"] + args["n_val"]:]

    gcn = GCN(features.shape[1], args["hidden_dim"], labels.max().item() + 1, args["include_bias"], args["dropout_p"])
    st.save(os.path.join(out_dir, "init.safetensors"), {k: v.detach().clone() for k, v in gcn.state_dict().items()})
    optimizer = Adam(gcn.parameters(), lr=args["lr"], weight_decay=args["l2"])
    criterion = nn.NLLLoss()

    log = []
    for epoch in range(args["epochs"]):
        train_iter(epoch + 1, gcn, optimizer, criterion, (features, adj_mat), labels, idx_train, idx_val, log)

    loss_test, acc_test = test(gcn, criterion, (features, adj_mat), labels, idx_test)
    st.save(os.path.join(out_dir, "final.safetensors"), {k: v.detach().clone() for k, v in gcn.state_dict().items()})
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump({"log": log, "test": [loss_test, acc_test]}, f)


if __name__ == "__main__":
    main(*sys.argv[1:4])
