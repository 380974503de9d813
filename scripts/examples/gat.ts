// PyTorch's examples/gat (main.py, BSD-3-Clause) ported as written with tstorch: a graph
// attention network (Veličković et al., 2018) over a dense adjacency matrix — multi-head
// attention scores through .mT, masking with torch.where, dropout on features and attention,
// ELU, log_softmax — trained with Adam and weight decay on the training nodes, tested on the
// rest. No dataset can be downloaded here (Cora), so the graph is synthetic: a stochastic block
// model whose blocks are the classes; test/gat.test.ts runs it beside the Python original.
//   node dist/scripts/examples/gat.js [--epochs 100]
import * as torch from '../../lib';

const nn = torch.nn;
const F = nn.functional;

/** Graph Attention Layer (GAT) as described in the paper `"Graph Attention Networks" <https://arxiv.org/pdf/1710.10903.pdf>`. */
export class GraphAttentionLayer extends nn.Module {
  declare W: torch.Tensor;
  declare a: torch.Tensor;
  declare leakyrelu: torch.nn.LeakyReLU;
  declare softmax: torch.nn.Softmax;
  readonly nHeads: number;
  readonly concat: boolean;
  readonly dropout: number;
  readonly outFeatures: number;
  readonly nHidden: number;
  constructor(o: { inFeatures: number; outFeatures: number; nHeads: number; concat?: boolean; dropout?: number; leakyReluSlope?: number }) {
    super();
    const { inFeatures, outFeatures, nHeads, concat = false, dropout = 0.4, leakyReluSlope = 0.2 } = o;
    this.nHeads = nHeads; // Number of attention heads
    this.concat = concat; // whether to concatenate the final attention heads
    this.dropout = dropout; // Dropout rate
    this.outFeatures = outFeatures;
    if (concat) { // concatenating the attention heads
      if (outFeatures % nHeads !== 0) throw new Error('Ensure that out_features is a multiple of n_heads');
      this.nHidden = outFeatures / nHeads;
    } else { // averaging output over the attention heads (Used in the main paper)
      this.nHidden = outFeatures;
    }
    // A shared linear transformation, parametrized by a weight matrix W is applied to every node
    // Initialize the weight matrix W
    this.W = nn.Parameter(torch.empty([inFeatures, this.nHidden * nHeads]));
    // Initialize the attention weights a
    this.a = nn.Parameter(torch.empty([nHeads, 2 * this.nHidden, 1]));
    this.leakyrelu = new nn.LeakyReLU(leakyReluSlope); // LeakyReLU activation function
    this.softmax = new nn.Softmax({ dim: 1 }); // softmax activation function to the attention coefficients
    this.resetParameters(); // Reset the parameters
  }
  /** Reinitialize learnable parameters. */
  resetParameters(): void {
    nn.init.xavierNormal_(this.W);
    nn.init.xavierNormal_(this.a);
  }
  /** Attention scores for each pair of nodes, (n_heads, n_nodes, n_nodes), as in the paper. */
  private getAttentionScores(hTransformed: torch.Tensor): torch.Tensor {
    const sourceScores = torch.matmul(hTransformed, this.a.index(':', `:${this.nHidden}`, ':'));
    const targetScores = torch.matmul(hTransformed, this.a.index(':', `${this.nHidden}:`, ':'));
    // broadcast add: (n_heads, n_nodes, 1) + (n_heads, 1, n_nodes) = (n_heads, n_nodes, n_nodes)
    const e = sourceScores.add(targetScores.mT);
    return this.leakyrelu(e);
  }
  /** h (n_nodes, in_features), adjMat (n_nodes, n_nodes): the output features (n_nodes, out_features). */
  forward(h: torch.Tensor, adjMat: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      const nNodes = h.shape[0];
      // Apply linear transformation to node feature -> W h
      let hTransformed = torch.mm(h, this.W);
      hTransformed = F.dropout(hTransformed, this.dropout, { training: this.training });
      // splitting the heads by reshaping the tensor and putting heads dim first
      hTransformed = hTransformed.view(nNodes, this.nHeads, this.nHidden).permute(1, 0, 2);
      // getting the attention scores
      let e = this.getAttentionScores(hTransformed);
      // Set the attention score for non-existent edges to -9e15 (MASKING NON-EXISTENT EDGES)
      const connectivityMask = torch.onesLike(e).mul(-9e16);
      e = torch.where(adjMat.gt(0), e, connectivityMask); // masked attention scores
      // attention coefficients are computed as a softmax over the rows
      let attention = F.softmax(e, { dim: -1 });
      attention = F.dropout(attention, this.dropout, { training: this.training });
      // final node embeddings are computed as a weighted average of the features of its neighbors
      let hPrime = torch.matmul(attention, hTransformed);
      // concatenating/averaging the attention heads
      if (this.concat) hPrime = hPrime.permute(1, 0, 2).contiguous().view(nNodes, this.outFeatures);
      else hPrime = hPrime.mean({ dim: 0 });
      return hPrime;
    });
  }
}

/** Graph Attention Network (GAT) as described in the paper. */
export class GAT extends nn.Module {
  declare gat1: GraphAttentionLayer;
  declare gat2: GraphAttentionLayer;
  constructor(o: { inFeatures: number; nHidden: number; nHeads: number; numClasses: number; concat?: boolean; dropout?: number; leakyReluSlope?: number }) {
    super();
    const { dropout = 0.4, leakyReluSlope = 0.2 } = o;
    // Define the Graph Attention layers
    this.gat1 = new GraphAttentionLayer({ inFeatures: o.inFeatures, outFeatures: o.nHidden, nHeads: o.nHeads, concat: o.concat ?? false, dropout, leakyReluSlope });
    this.gat2 = new GraphAttentionLayer({ inFeatures: o.nHidden, outFeatures: o.numClasses, nHeads: 1, concat: false, dropout, leakyReluSlope });
  }
  forward(inputTensor: torch.Tensor, adjMat: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      // Apply the first Graph Attention layer
      let x = this.gat1(inputTensor, adjMat);
      x = F.elu(x); // Apply ELU activation function to the output of the first layer
      // Apply the second Graph Attention layer
      x = this.gat2(x, adjMat);
      return F.logSoftmax(x, { dim: 1 }); // Apply log softmax activation function
    });
  }
}

type Criterion = torch.nn.NLLLoss;

/** test(): the loss and accuracy on the nodes of mask. */
export function test(model: GAT, criterion: Criterion, input: [torch.Tensor, torch.Tensor], target: torch.Tensor, mask: torch.Tensor): [number, number] {
  model.eval();
  return torch.noGrad(() => torch.tidy(() => {
    let output = model(...input);
    output = output.index(mask);
    const t = target.index(mask);
    const loss = criterion(output, t);
    const acc = output.argmax({ dim: 1 }).eq(t).float().sum().div(t.size(0));
    return [loss.item(), acc.item()] as [number, number];
  }));
}

/** train_iter(): one step on the training nodes, then the training and validation loss and accuracy. */
export function trainIter(model: GAT, optimizer: torch.optim.Adam, criterion: Criterion, input: [torch.Tensor, torch.Tensor], target: torch.Tensor, maskTrain: torch.Tensor, maskVal: torch.Tensor) {
  model.train();
  torch.tidy(() => {
    optimizer.zeroGrad();
    // Forward pass
    const output = model(...input);
    // Compute the loss using the training mask
    const loss = criterion(output.index(maskTrain), target.index(maskTrain));
    loss.backward();
    optimizer.step();
  });
  // Evaluate the model performance on training and validation sets
  const [lossTrain, accTrain] = test(model, criterion, input, target, maskTrain);
  const [lossVal, accVal] = test(model, criterion, input, target, maskVal);
  return { lossTrain, accTrain, lossVal, accVal };
}

export interface GATOptions { epochs?: number; lr?: number; l2?: number; hiddenDim?: number; numHeads?: number; concatHeads?: boolean; dropoutP?: number; seed?: number; nTest?: number; nVal?: number; log?: (line: string) => void }

/** main.py from the seed on: split the nodes with torch.randperm, train, test. */
export function main(features: torch.Tensor, labels: torch.Tensor, adjMat: torch.Tensor, o: GATOptions = {}) {
  torch.manualSeed(o.seed ?? 13);
  // Split the dataset into training, validation, and test sets
  const idx = torch.randperm(labels.size(0));
  const nTest = o.nTest ?? 1000, nVal = o.nVal ?? 500;
  const [idxTest, idxVal, idxTrain] = [idx.index(`:${nTest}`), idx.index(`${nTest}:${nTest + nVal}`), idx.index(`${nTest + nVal}:`)];
  // Create the model: the GAT model has 2 GAT layers, the second with one head
  const gatNet = new GAT({ inFeatures: features.shape[1], nHidden: o.hiddenDim ?? 64, nHeads: o.numHeads ?? 8, numClasses: torch.tidy(() => labels.max().item()) + 1, concat: o.concatHeads ?? false, dropout: o.dropoutP ?? 0.6, leakyReluSlope: 0.2 });
  // configure the optimizer and loss function
  const optimizer = new torch.optim.Adam(gatNet.parameters(), { lr: o.lr ?? 0.005, weightDecay: o.l2 ?? 5e-4 });
  const criterion = new nn.NLLLoss();
  const history: ReturnType<typeof trainIter>[] = [];
  for (let epoch = 0; epoch < (o.epochs ?? 300); epoch++) {
    history.push(trainIter(gatNet, optimizer, criterion, [features, adjMat], labels, idxTrain, idxVal));
    const h = history[history.length - 1];
    if (o.log && (epoch + 1) % 20 === 0) o.log(`epoch ${epoch + 1}: train loss ${h.lossTrain.toFixed(4)} acc ${h.accTrain.toFixed(3)}, val loss ${h.lossVal.toFixed(4)} acc ${h.accVal.toFixed(3)}`);
  }
  const [lossTest, accTest] = test(gatNet, criterion, [features, adjMat], labels, idxTest);
  o.log?.(`Test set results: loss ${lossTest.toFixed(4)} accuracy ${accTest.toFixed(4)}`);
  for (const t of [idx, idxTest, idxVal, idxTrain]) t.dispose();
  optimizer.dispose();
  return { model: gatNet, history, lossTest, accTest };
}

/**
 * A synthetic citation-like graph: n nodes in k classes, an edge within a class with probability
 * pIn and across with pOut (symmetric, with self-loops), and features that are noisy class
 * prototypes.
 */
export function blockGraph(n: number, k: number, nFeatures: number, seed: number, pIn = 0.15, pOut = 0.01): { features: torch.Tensor; labels: torch.Tensor; adjMat: torch.Tensor } {
  return torch.tidy(() => {
    const gen = new torch.Generator().manualSeed(seed);
    const labels = torch.arange(n).remainder(k);
    const same = labels.view(n, 1).eq(labels.view(1, n));
    const p = torch.where(same, torch.full([n, n], pIn), torch.full([n, n], pOut));
    const upper = torch.rand([n, n], { generator: gen }).lt(p).triu(1);
    const adjMat = upper.logicalOr(upper.t()).logicalOr(torch.eye(n, { dtype: 'bool' })).float();
    const prototypes = torch.randn([k, nFeatures], { generator: gen });
    const features = prototypes.index(labels).add(torch.randn([n, nFeatures], { generator: gen }).mul(2));
    return { features, labels, adjMat };
  });
}

if (require.main === module) {
  const i = process.argv.indexOf('--epochs');
  const { features, labels, adjMat } = blockGraph(600, 7, 50, 0);
  main(features, labels, adjMat, { epochs: i >= 0 ? Number(process.argv[i + 1]) : 100, nTest: 200, nVal: 100, log: console.log });
}
