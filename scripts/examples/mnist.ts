// PyTorch's examples/mnist (main.py, BSD-3-Clause) ported as written with tstorch: the same Net
// (two convolutions, max pooling, dropout, two linear layers, log_softmax), train() and test(),
// Adadelta with StepLR, and a shuffling DataLoader. No dataset can be downloaded here, so the
// images are synthetic 28×28 "digits" (each class a bright patch in its own place, plus noise);
// test/mnist.test.ts runs it beside the Python original on the same images.
//   node dist/scripts/examples/mnist.js [--epochs 3] [--train 2048]
import * as torch from '../../lib';

const nn = torch.nn;
const F = nn.functional;

export class Net extends nn.Module {
  declare conv1: torch.nn.Conv2d;
  declare conv2: torch.nn.Conv2d;
  declare dropout1: torch.nn.Dropout;
  declare dropout2: torch.nn.Dropout;
  declare fc1: torch.nn.Linear;
  declare fc2: torch.nn.Linear;
  constructor() {
    super();
    this.conv1 = new nn.Conv2d(1, 32, 3, 1);
    this.conv2 = new nn.Conv2d(32, 64, 3, 1);
    this.dropout1 = new nn.Dropout(0.25);
    this.dropout2 = new nn.Dropout(0.5);
    this.fc1 = new nn.Linear(9216, 128);
    this.fc2 = new nn.Linear(128, 10);
  }
  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      x = this.conv1(x);
      x = F.relu(x);
      x = this.conv2(x);
      x = F.relu(x);
      x = F.maxPool2d(x, 2);
      x = this.dropout1(x);
      x = torch.flatten(x, 1);
      x = this.fc1(x);
      x = F.relu(x);
      x = this.dropout2(x);
      x = this.fc2(x);
      const output = F.logSoftmax(x, { dim: 1 });
      return output;
    });
  }
}

type Loader = torch.data.DataLoader<torch.Tensor[], torch.data.TensorDataset>;

/** One epoch; the loss of every batch. */
export function train(model: torch.nn.TensorModule, trainLoader: Loader, optimizer: { zeroGrad(): void; step(): unknown }, epoch: number, log?: (line: string) => void, logInterval = 10): number[] {
  model.train();
  const losses: number[] = [];
  let batchIdx = 0;
  for (const [data, target] of trainLoader) {
    torch.tidy(() => {
      optimizer.zeroGrad();
      const output = model(data);
      const loss = F.nllLoss(output, target);
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
      if (log && batchIdx % logInterval === 0) {
        log(`Train Epoch: ${epoch} [${batchIdx * data.size(0)}/${trainLoader.dataset.length} (${((100 * batchIdx) / trainLoader.length).toFixed(0)}%)]\tLoss: ${loss.item().toFixed(6)}`);
      }
    });
    for (const t of [data, target]) t.dispose();
    batchIdx++;
  }
  return losses;
}

/** The summed loss over the test set, per example, and the number of correct predictions. */
export function test(model: torch.nn.TensorModule, testLoader: Loader, log?: (line: string) => void): { testLoss: number; correct: number } {
  model.eval();
  let testLoss = 0;
  let correct = 0;
  torch.noGrad(() => {
    for (const [data, target] of testLoader) {
      torch.tidy(() => {
        const output = model(data);
        testLoss += F.nllLoss(output, target, { reduction: 'sum' }).item(); // sum up batch loss
        const pred = output.argmax({ dim: 1, keepdim: true }); // get the index of the max log-probability
        correct += pred.eq(target.viewAs(pred)).sum().item();
      });
      for (const t of [data, target]) t.dispose();
    }
  });
  testLoss /= testLoader.dataset.length;
  log?.(`\nTest set: Average loss: ${testLoss.toFixed(4)}, Accuracy: ${correct}/${testLoader.dataset.length} (${((100 * correct) / testLoader.dataset.length).toFixed(0)}%)\n`);
  return { testLoss, correct };
}

/**
 * n synthetic 28×28 digits, normalized as main.py's transforms.Normalize((0.1307,), (0.3081,)):
 * class c is a bright 8×5 patch in cell c of a 2×5 grid, on uniform noise of half its brightness; labels 0..9 in turn.
 */
export function syntheticDigits(n: number, seed: number): [torch.Tensor, torch.Tensor] {
  return torch.tidy(() => {
    const gen = new torch.Generator().manualSeed(seed);
    const images = torch.rand([n, 1, 28, 28], { generator: gen }).mul(0.5);
    const labels = torch.arange(n).remainder(10);
    for (let i = 0; i < n; i++) {
      const c = i % 10, top = 3 + 13 * Math.floor(c / 5), left = 1 + 5 * (c % 5);
      images.indexPut_([i, 0, `${top}:${top + 8}`, `${left}:${left + 5}`], 1);
    }
    return [images.sub(0.1307).div(0.3081), labels] as [torch.Tensor, torch.Tensor];
  });
}

export interface MainOptions {
  trainImages: torch.Tensor;
  trainLabels: torch.Tensor;
  testImages: torch.Tensor;
  testLabels: torch.Tensor;
  batchSize?: number;
  testBatchSize?: number;
  epochs?: number;
  lr?: number;
  gamma?: number;
  seed?: number;
  log?: (line: string) => void;
}

/**
 * main.py's main(): seed, loaders, Net, Adadelta, StepLR, then train / test / scheduler.step() per
 * epoch. (examples/mnist_rnn's main is the same with its own Net: makeModel.)
 */
export function main<M extends torch.nn.TensorModule = Net>(o: MainOptions & { makeModel?: () => M }): { model: M; trainLosses: number[]; tests: { testLoss: number; correct: number }[] } {
  torch.manualSeed(o.seed ?? 1);
  const dataset1 = new torch.data.TensorDataset(o.trainImages, o.trainLabels);
  const dataset2 = new torch.data.TensorDataset(o.testImages, o.testLabels);
  const trainLoader = new torch.data.DataLoader(dataset1, { batchSize: o.batchSize ?? 64, shuffle: true });
  const testLoader = new torch.data.DataLoader(dataset2, { batchSize: o.testBatchSize ?? 1000 });

  const model = o.makeModel ? o.makeModel() : (new Net() as unknown as M);
  const optimizer = new torch.optim.Adadelta(model.parameters(), { lr: o.lr ?? 1.0 });

  const scheduler = new torch.optim.lrScheduler.StepLR(optimizer, { stepSize: 1, gamma: o.gamma ?? 0.7 });
  const trainLosses: number[] = [];
  const tests: { testLoss: number; correct: number }[] = [];
  for (let epoch = 1; epoch <= (o.epochs ?? 14); epoch++) {
    trainLosses.push(...train(model, trainLoader, optimizer, epoch, o.log));
    tests.push(test(model, testLoader, o.log));
    scheduler.step();
  }
  optimizer.dispose();
  return { model, trainLosses, tests };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const flag = (name: string, dflt: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const [trainImages, trainLabels] = syntheticDigits(flag('train', 2048), 0);
  const [testImages, testLabels] = syntheticDigits(1000, 1);
  main({ trainImages, trainLabels, testImages, testLabels, epochs: flag('epochs', 3), log: console.log });
}
