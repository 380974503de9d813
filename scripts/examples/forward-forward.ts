// PyTorch's examples/mnist_forward_forward (main.py, BSD-3-Clause) ported as written with tstorch:
// Hinton's (2022) forward-forward algorithm. The label is written into an image's first 10
// pixels; each layer (an nn.Linear subclass with its own Adam) is trained on its own, without
// backpropagation through the others, to give such positive images a high goodness (mean squared
// activation) and images with a wrong label a low one; prediction tries every label and takes the
// one with the most goodness. No dataset can be downloaded here, so the digits are synthetic
// (mnist.ts's); test/forward_forward.test.ts runs it beside the Python original on the same digits.
//   node dist/scripts/examples/forward-forward.js [--epochs 1000]
import * as torch from '../../lib';
import { syntheticDigits } from './mnist';

const nn = torch.nn;
type Tensor = torch.Tensor;

export interface FFArgs { dims: number[]; epochs: number; lr: number; threshold: number; trainBatchSize: number; testBatchSize: number; seed: number; log?: (line: string) => void }

function mnistLoaders(data: { trainImages: Tensor; trainLabels: Tensor; testImages: Tensor; testLabels: Tensor }, trainBatchSize = 50000, testBatchSize = 10000) {
  const trainLoader = new torch.data.DataLoader(new torch.data.TensorDataset(data.trainImages, data.trainLabels), { batchSize: trainBatchSize, shuffle: true });
  const testLoader = new torch.data.DataLoader(new torch.data.TensorDataset(data.testImages, data.testLabels), { batchSize: testBatchSize, shuffle: false });
  return [trainLoader, testLoader] as const;
}

/** Replace the first 10 pixels of data x with one-hot-encoded label y. */
export function overlayYOnX(x: Tensor, y: Tensor | number): Tensor {
  return torch.tidy(() => {
    const x_ = x.clone();
    x_.index(':', ':10').mul_(0.0);
    x_.indexPut_([torch.arange(x.shape[0]), y], x.max());
    return x_;
  });
}

export class Net extends nn.Module {
  // (a plain array, as main.py's list: the layers are not the Net's children; each trains itself)
  layers: Layer[] = [];
  log?: (line: string) => void;
  constructor(dims: number[], args: FFArgs) {
    super();
    this.log = args.log;
    for (let d = 0; d < dims.length - 1; d++) {
      this.layers.push(new Layer(dims[d], dims[d + 1], args));
    }
  }
  // (main.py's Net defines no forward, only predict; a Module here has one: the prediction)
  forward(x: Tensor): Tensor {
    return this.predict(x);
  }
  predict(x: Tensor): Tensor {
    return torch.tidy(() => {
      const goodnessPerLabel: Tensor[] = [];
      for (let label = 0; label < 10; label++) {
        let h = overlayYOnX(x, label);
        const goodness: Tensor[] = [];
        for (const layer of this.layers) {
          h = layer(h);
          goodness.push(h.pow(2).mean(1));
        }
        goodnessPerLabel.push(sum(goodness).unsqueeze(1));
      }
      return torch.cat(goodnessPerLabel, 1).argmax(1);
    });
  }
  /** Python's Net.train(x_pos, x_neg), which overrides nn.Module.train; here train(mode) stays Module's. */
  trainLayers(xPos: Tensor, xNeg: Tensor): void {
    let [hPos, hNeg] = [xPos, xNeg];
    this.layers.forEach((layer, i) => {
      this.log?.(`training layer ${i} ...`);
      const next = layer.trainLayer(hPos, hNeg);
      if (i > 0) [hPos, hNeg].forEach((t) => t.dispose());
      [hPos, hNeg] = next;
    });
    [hPos, hNeg].forEach((t) => t.dispose());
  }
}

export class Layer extends nn.Linear {
  relu = new nn.ReLU();
  opt: torch.optim.Adam;
  threshold: number;
  numEpochs: number;
  losses: number[] = [];
  constructor(inFeatures: number, outFeatures: number, args: FFArgs, bias = true, { device, dtype }: { device?: torch.Device; dtype?: torch.DType } = {}) {
    super(inFeatures, outFeatures, bias, { device, dtype });
    this.opt = new torch.optim.Adam(this.parameters(), { lr: args.lr });
    this.threshold = args.threshold;
    this.numEpochs = args.epochs;
  }
  override forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const xDirection = x.div(x.norm(2, 1, true).add(1e-4));
      return this.relu(
        torch.mm(xDirection, this.weight.T).add(
        this.bias!.unsqueeze(0)));
    });
  }
  /** Python's Layer.train(x_pos, x_neg) (an override of nn.Module.train there). */
  trainLayer(xPos: Tensor, xNeg: Tensor): [Tensor, Tensor] {
    for (let i = 0; i < this.numEpochs; i++) {
      torch.tidy(() => {
        const gPos = this.forward(xPos).pow(2).mean(1);
        const gNeg = this.forward(xNeg).pow(2).mean(1);
        // The following loss pushes pos (neg) samples to
        // values larger (smaller) than the self.threshold.
        const loss = torch.log(torch.exp(torch.cat([
          gPos.neg().add(this.threshold),
          gNeg.sub(this.threshold)])).add(1)).mean();
        this.opt.zeroGrad();
        // this backward just compute the derivative and hence
        // is not considered backpropagation.
        loss.backward();
        this.opt.step();
        this.losses.push(loss.item());
      });
    }
    return torch.tidy(() => [this.forward(xPos).detach(), this.forward(xNeg).detach()]);
  }
  override dispose(): void {
    this.opt.dispose();
    super.dispose();
  }
}

// (Python's built-in sum: 0 + a + b + ...)
const sum = (ts: Tensor[]): Tensor => ts.slice(1).reduce((acc, t) => acc.add(t), ts[0].add(0));

export interface FFData { trainImages: Tensor; trainLabels: Tensor; testImages: Tensor; testLabels: Tensor }

/** main.py's flow: loaders, Net, one shuffled training batch, its positive and negative data, training, train and test error. */
export function main(data: FFData, args: FFArgs): { net: Net; batch: { x: Tensor; y: Tensor; xPos: Tensor; xNeg: Tensor }; trainError: number; testError: number } {
  torch.manualSeed(args.seed);
  const [trainLoader, testLoader] = mnistLoaders(data, args.trainBatchSize, args.testBatchSize);

  const net = new Net(args.dims, args);
  const [x, y] = trainLoader[Symbol.iterator]().next().value!;
  const xPos = overlayYOnX(x, y);
  const rnd = torch.randperm(x.size(0));
  const xNeg = torch.tidy(() => overlayYOnX(x, y.index(rnd)));
  rnd.dispose();

  net.trainLayers(xPos, xNeg);

  const trainError = 1.0 - torch.tidy(() => net.predict(x).eq(y).float().mean().item());
  args.log?.(`train error: ${trainError}`);

  const [xTe, yTe] = testLoader[Symbol.iterator]().next().value!;

  const testError = 1.0 - torch.tidy(() => net.predict(xTe).eq(yTe).float().mean().item());
  args.log?.(`test error: ${testError}`);
  xTe.dispose(); yTe.dispose();
  return { net, batch: { x, y, xPos, xNeg }, trainError, testError };
}

/** n synthetic digits flattened to (n, 784), as main.py's Lambda(lambda x: torch.flatten(x)) gives them. */
export function flatDigits(n: number, seed: number): [Tensor, Tensor] {
  const [images, labels] = syntheticDigits(n, seed);
  const flat = images.flatten(1);
  images.dispose();
  return [flat, labels];
}

if (require.main === module) {
  const i = process.argv.indexOf('--epochs');
  const [trainImages, trainLabels] = flatDigits(2000, 0), [testImages, testLabels] = flatDigits(500, 1);
  const { net } = main({ trainImages, trainLabels, testImages, testLabels }, { dims: [784, 500, 500], epochs: i >= 0 ? Number(process.argv[i + 1]) : 1000, lr: 0.03, threshold: 2.0, trainBatchSize: 2000, testBatchSize: 500, seed: 1234, log: console.log });
  for (const layer of net.layers) layer.dispose();
}
