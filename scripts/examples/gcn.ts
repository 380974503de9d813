// PyTorch's examples/gcn (main.py, BSD-3-Clause) ported as written with tstorch: Kipf and
// Welling's (2017) graph convolutional network, node classification over a citation graph whose
// row-normalised features and renormalised adjacency D^-1/2 (A + I) D^-1/2 are sparse COO
// tensors (torch.sparse_coo_tensor from an int32 edge list, torch.mm / torch.spmm of sparse by
// dense, with autograd to the dense side). No dataset can be downloaded here, so the graph is
// synthetic (communities linked mostly within); test/gcn.test.ts runs it beside the Python
// original on the same graph.
//   node dist/scripts/examples/gcn.js [--epochs 200]
import * as torch from '../../lib';

const nn = torch.nn;
const F = nn.functional;
type Tensor = torch.Tensor;

/** Graph Convolutional Layer described in "Semi-Supervised Classification with Graph Convolutional Networks". */
export class GraphConv extends nn.Module {
  kernel: Tensor;
  bias: Tensor | null;
  constructor(inputDim: number, outputDim: number, useBias = false) {
    super();
    // Initialize the weight matrix
    this.kernel = nn.Parameter(torch.empty([inputDim, outputDim]));
    nn.init.xavierNormal_(this.kernel); // Initialize the weights using Xavier initialization

    // Initialize the bias (if use_bias is True)
    this.bias = null;
    if (useBias) {
      this.bias = nn.Parameter(torch.empty([outputDim]));
      nn.init.zeros_(this.bias); // Initialize the bias to zeros
    }
  }
  forward(inputTensor: Tensor, adjMat: Tensor): Tensor {
    return torch.tidy(() => {
      const support = torch.mm(inputTensor, this.kernel); // Matrix multiplication between input and weight matrix
      let output = torch.spmm(adjMat, support); // Sparse matrix multiplication between adjacency matrix and support
      // Add the bias (if bias is not None)
      if (this.bias !== null) output = output.add(this.bias);
      return output;
    });
  }
}

/** Graph Convolutional Network (GCN) as described in "Semi-Supervised Classification with Graph Convolutional Networks" (https://arxiv.org/pdf/1609.02907.pdf). */
export class GCN extends nn.Module {
  gc1: GraphConv;
  gc2: GraphConv;
  dropout: torch.nn.Dropout;
  constructor(inputDim: number, hiddenDim: number, outputDim: number, useBias = true, dropoutP = 0.1) {
    super();
    // Define the Graph Convolution layers
    this.gc1 = new GraphConv(inputDim, hiddenDim, useBias);
    this.gc2 = new GraphConv(hiddenDim, outputDim, useBias);
    // Define the dropout layer
    this.dropout = new nn.Dropout(dropoutP);
  }
  forward(inputTensor: Tensor, adjMat: Tensor): Tensor {
    return torch.tidy(() => {
      // Perform the first graph convolutional layer
      let x = this.gc1(inputTensor, adjMat);
      x = F.relu(x); // Apply ReLU activation function
      x = this.dropout(x); // Apply dropout regularization
      // Perform the second graph convolutional layer
      x = this.gc2(x, adjMat);
      // Apply log-softmax activation function for classification
      return F.logSoftmax(x, { dim: 1 });
    });
  }
}

/**
 * load_cora's processing of a graph given as tensors (features (V, F), labels (V), edges (E, 2)
 * as node positions): the features row-normalised, the renormalisation trick on A + I; both sparse.
 */
export function loadCora(data: { features: Tensor; labels: Tensor; edges: Tensor }): [Tensor, Tensor, Tensor] {
  return torch.tidy(() => {
    // Process features
    let features = data.features.clone(); // Extract feature values
    let scaleVector = torch.sum(features, { dim: 1 }); // Compute sum of features for each node
    scaleVector = scaleVector.reciprocal(); // Compute reciprocal of the sums
    scaleVector.indexPut_([scaleVector.eq(Infinity)], 0); // Handle division by zero cases
    scaleVector = torch.diag(scaleVector).toSparse(); // Convert the scale vector to a sparse diagonal matrix
    features = scaleVector.matmul(features); // Scale the features using the scale vector

    // Process labels
    const labels = data.labels.clone();

    // Process adjacency matrix
    const edges = data.edges;
    const V = labels.size(0); // Number of nodes
    const E = edges.shape[0]; // Number of edges
    let adjMat = torch.sparseCooTensor(edges.T, torch.ones([E]), [V, V], { dtype: 'int64' }); // Create the initial adjacency matrix as a sparse tensor
    adjMat = torch.eye(V).add(adjMat); // Add self-loops to the adjacency matrix

    let degreeMat = torch.sum(adjMat, { dim: 1 }); // Compute the sum of each row in the adjacency matrix (degree matrix)
    degreeMat = torch.sqrt(degreeMat.reciprocal()); // Compute the reciprocal square root of the degrees
    degreeMat.indexPut_([degreeMat.eq(Infinity)], 0); // Handle division by zero cases
    degreeMat = torch.diag(degreeMat).toSparse(); // Convert the degree matrix to a sparse diagonal matrix

    // (main.py writes degree_mat @ adj_mat @ degree_mat; libtorch 1.13 has no dense @ sparse, so the
    // right factor is made dense: the same product)
    adjMat = degreeMat.matmul(adjMat).matmul(degreeMat.toDense()); // Apply the renormalization trick

    return [features.toSparse(), labels, adjMat.toSparse()] as [Tensor, Tensor, Tensor];
  });
}

export interface EpochLog { loss: number; train: [number, number]; val: [number, number] }

function trainIter(model: GCN, optimizer: torch.optim.Adam, criterion: torch.nn.NLLLoss, input: [Tensor, Tensor], target: Tensor, maskTrain: Tensor, maskVal: Tensor, log: EpochLog[]): void {
  torch.tidy(() => {
    model.train();
    optimizer.zeroGrad();

    // Forward pass
    const output = model(...input);
    const loss = criterion(output.index(maskTrain), target.index(maskTrain)); // Compute the loss using the training mask

    loss.backward();
    optimizer.step();

    // Evaluate the model performance on training and validation sets
    const train = test(model, criterion, input, target, maskTrain);
    const val = test(model, criterion, input, target, maskVal);
    log.push({ loss: loss.item(), train, val });
  });
}

export function test(model: GCN, criterion: torch.nn.NLLLoss, input: [Tensor, Tensor], target: Tensor, mask: Tensor): [number, number] {
  model.eval();
  return torch.noGrad(() => torch.tidy(() => {
    let output = model(...input);
    [output, target] = [output.index(mask), target.index(mask)];

    const loss = criterion(output, target);
    const acc = output.argmax({ dim: 1 }).eq(target).float().sum().div(target.size(0));
    return [loss.item(), acc.item()] as [number, number];
  }));
}

export interface GCNArgs { hiddenDim: number; epochs: number; lr: number; l2: number; dropoutP: number; includeBias: boolean; seed: number; nTest: number; nVal: number; log?: (line: string) => void }

/** main.py's main(): the graph, a random split, GCN, Adam with weight decay, NLLLoss, the epochs, the test. */
export function main(data: { features: Tensor; labels: Tensor; edges: Tensor }, args: GCNArgs): { gcn: GCN; graph: [Tensor, Tensor, Tensor]; log: EpochLog[]; test: [number, number] } {
  torch.manualSeed(args.seed);

  const [features, labels, adjMat] = loadCora(data);
  const idx = torch.randperm(labels.size(0));
  const [idxTest, idxVal, idxTrain] = [idx.index(`:${args.nTest}`), idx.index(`${args.nTest}:${args.nTest + args.nVal}`), idx.index(`${args.nTest + args.nVal}:`)];

  const numClasses = torch.tidy(() => labels.max().item()) + 1;
  const gcn = new GCN(features.shape[1], args.hiddenDim, numClasses, args.includeBias, args.dropoutP);
  const optimizer = new torch.optim.Adam(gcn.parameters(), { lr: args.lr, weightDecay: args.l2 });
  const criterion = new nn.NLLLoss();

  const log: EpochLog[] = [];
  for (let epoch = 0; epoch < args.epochs; epoch++) {
    trainIter(gcn, optimizer, criterion, [features, adjMat], labels, idxTrain, idxVal, log);
    const e = log[log.length - 1];
    if ((epoch + 1) % 10 === 0) args.log?.(`Epoch: ${String(epoch + 1).padStart(4, '0')} loss_train: ${e.train[0].toFixed(4)} acc_train: ${e.train[1].toFixed(4)} loss_val: ${e.val[0].toFixed(4)} acc_val: ${e.val[1].toFixed(4)}`);
  }

  const result = test(gcn, criterion, [features, adjMat], labels, idxTest);
  args.log?.(`Test set results: loss ${result[0].toFixed(4)} accuracy ${result[1].toFixed(4)}`);
  for (const t of [idx, idxTest, idxVal, idxTrain]) t.dispose();
  optimizer.dispose();
  return { gcn, graph: [features, labels, adjMat], log, test: result };
}

/**
 * A synthetic citation graph: n nodes in k communities, 0/1 bag-of-words features drawn mostly
 * from their community's words, edges mostly within a community (int32, as np.genfromtxt reads them).
 */
export function syntheticGraph(n: number, k: number, nFeatures: number, nEdges: number, seed: number): { features: Tensor; labels: Tensor; edges: Tensor } {
  return torch.tidy(() => {
    const gen = new torch.Generator().manualSeed(seed);
    const labels = torch.arange(n).remainder(k);
    const wordClass = torch.arange(nFeatures).remainder(k);
    const own = labels.unsqueeze(1).eq(wordClass.unsqueeze(0));
    const p = own.float().mul(0.3).add(0.03);
    const features = torch.rand([n, nFeatures], { generator: gen }).lt(p).float();
    const src = torch.randint(0, n, [nEdges], { generator: gen });
    const sameCommunity = torch.rand([nEdges], { generator: gen }).lt(0.8);
    const other = torch.randint(0, n, [nEdges], { generator: gen });
    // within a community: another node of src's class (src + k * j, wrapped)
    const within = src.add(torch.randint(1, Math.floor(n / k), [nEdges], { generator: gen }).mul(k)).remainder(n);
    const dst = torch.where(sameCommunity, within, other);
    const edges = torch.stack([src, dst], 1).to('int32');
    return { features, labels, edges };
  });
}

if (require.main === module) {
  const i = process.argv.indexOf('--epochs');
  const data = syntheticGraph(2708, 7, 1433, 5429, 0);
  const { gcn, graph } = main(data, { hiddenDim: 16, epochs: i >= 0 ? Number(process.argv[i + 1]) : 200, lr: 0.01, l2: 5e-4, dropoutP: 0.5, includeBias: false, seed: 42, nTest: 1000, nVal: 500, log: console.log });
  gcn.dispose();
  for (const t of [...graph, ...Object.values(data)]) t.dispose();
}
