// PyTorch's examples/siamese_network (main.py, BSD-3-Clause) ported as written with tstorch: a
// Siamese network for image similarity. torchvision's resnet18 (resnet.ts's port), its first
// convolution replaced by a one-channel one and its fc dropped, extracts features from each of two
// images; the two feature vectors are concatenated into a small MLP and a sigmoid, trained with
// BCELoss to say whether the images show the same digit. The pairs are drawn by a Dataset of its
// own with Python's random module (lib/data/python_random.ts: the same draws from the same seed): even
// indices a pair of the same class, odd ones of two classes. Adadelta with StepLR. No dataset can
// be downloaded here, so the digits are synthetic (mnist.ts's, as uint8 as MNIST's);
// test/siamese_network.test.ts runs it beside the Python original on the same digits.
//   node dist/scripts/examples/siamese-network.js [--epochs 3]
import * as torch from '../../lib';
import { resnet18 } from './resnet';
import { syntheticDigits } from './mnist';
import { PythonRandom } from '../../lib/data/python_random';

const nn = torch.nn;
type Tensor = torch.Tensor;

/**
 * Siamese network for image similarity estimation: two identical networks, one for each input,
 * whose outputs are concatenated and passed to a linear layer, then a sigmoid. (FaceNet is a
 * variant of it; this one uses ResNet-18 as the feature extractor, and BCELoss rather than
 * TripletLoss, as MNIST is simple.)
 */
export class SiameseNetwork extends nn.Module {
  declare resnet: torch.nn.Sequential;
  declare fc: torch.nn.Sequential;
  declare sigmoid: torch.nn.Sigmoid;
  fcInFeatures: number;
  constructor() {
    super();
    // get resnet model
    const resnet = resnet18();

    // over-write the first conv layer to be able to read MNIST images
    // as resnet18 reads (3,x,x) where 3 is RGB channels
    // whereas MNIST has (1,x,x) where 1 is a gray-scale channel
    const rgbConv = resnet.conv1;
    resnet.conv1 = new nn.Conv2d(1, 64, { kernelSize: [7, 7], stride: [2, 2], padding: [3, 3], bias: false });
    rgbConv.dispose(); // (Python's garbage collector frees the replaced layer)
    this.fcInFeatures = resnet.fc.inFeatures;

    // remove the last layer of resnet18 (linear layer which is before avgpool layer)
    const children = resnet.children() as torch.nn.TensorModule[];
    this.resnet = new nn.Sequential(...children.slice(0, -1));
    children[children.length - 1].dispose();

    // add linear layers to compare between the features of the two images
    this.fc = new nn.Sequential(
      new nn.Linear(this.fcInFeatures * 2, 256),
      new nn.ReLU(true),
      new nn.Linear(256, 1),
    );

    this.sigmoid = new nn.Sigmoid();

    // initialize the weights
    this.resnet.apply((m) => this.initWeights(m));
    this.fc.apply((m) => this.initWeights(m));
  }

  initWeights(m: torch.nn.Module): void {
    if (m instanceof nn.Linear) {
      nn.init.xavierUniform(m.weight);
      m.bias!.data.fill_(0.01);
    }
  }

  forwardOnce(x: Tensor): Tensor {
    return torch.tidy(() => {
      const output = this.resnet(x);
      return output.view(output.size()[0], -1);
    });
  }

  forward(input1: Tensor, input2: Tensor): Tensor {
    return torch.tidy(() => {
      // get two images' features
      const output1 = this.forwardOnce(input1);
      const output2 = this.forwardOnce(input2);

      // concatenate both images' features
      let output = torch.cat([output1, output2], 1);

      // pass the concatenation to the linear layers
      output = this.fc(output);

      // pass the out of the linear layers to sigmoid layer
      return this.sigmoid(output);
    });
  }
}

/** main.py's dataset of image pairs over MNIST (here: the images and targets it is given). */
export class APP_MATCHER extends torch.data.Dataset<[Tensor, Tensor, Tensor]> {
  data: Tensor;
  groupedExamples: Record<number, number[]> = {};
  constructor(images: Tensor, readonly targets: Tensor, readonly random: PythonRandom) {
    super();
    // (N, 28, 28) -> (N, 1, 28, 28): the channel dimension the network reads
    this.data = torch.keep(torch.tidy(() => images.unsqueeze(1).clone()));
    this.groupExamples();
  }

  /** The indices of each class's examples, to draw pairs by class. */
  groupExamples(): void {
    const npArr = this.targets.tolist() as number[];
    for (let i = 0; i < 10; i++) {
      this.groupedExamples[i] = npArr.flatMap((t, j) => (t === i ? [j] : []));
    }
  }

  override get length(): number {
    return this.data.shape[0];
  }

  /**
   * Two images and a target: for an even index two different images of one class (target 1), for
   * an odd one images of two different classes (target 0); the classes and images drawn at random.
   */
  override get(index: number): [Tensor, Tensor, Tensor] {
    const random = this.random;
    // pick some random class for the first image
    const selectedClass = random.randint(0, 9);

    // pick a random index for the first image in the grouped indices based of the label of the class
    const randomIndex1 = random.randint(0, this.groupedExamples[selectedClass].length - 1);

    // pick the index to get the first image
    const index1 = this.groupedExamples[selectedClass][randomIndex1];

    // get the first image
    const image1 = torch.tidy(() => this.data.index(index1).clone().float());

    let image2: Tensor, target: Tensor;
    // same class
    if (index % 2 === 0) {
      // pick a random index for the second image
      let randomIndex2 = random.randint(0, this.groupedExamples[selectedClass].length - 1);

      // ensure that the index of the second image isn't the same as the first image
      while (randomIndex2 === randomIndex1) {
        randomIndex2 = random.randint(0, this.groupedExamples[selectedClass].length - 1);
      }

      // pick the index to get the second image
      const index2 = this.groupedExamples[selectedClass][randomIndex2];

      // get the second image
      image2 = torch.tidy(() => this.data.index(index2).clone().float());

      // set the label for this example to be positive (1)
      target = torch.tensor(1, { dtype: 'float32' });
    } else {
      // different class: pick a random class
      let otherSelectedClass = random.randint(0, 9);

      // ensure that the class of the second image isn't the same as the first image
      while (otherSelectedClass === selectedClass) {
        otherSelectedClass = random.randint(0, 9);
      }

      // pick a random index for the second image in the grouped indices based of the label of the class
      const randomIndex2 = random.randint(0, this.groupedExamples[otherSelectedClass].length - 1);

      // pick the index to get the second image
      const index2 = this.groupedExamples[otherSelectedClass][randomIndex2];

      // get the second image
      image2 = torch.tidy(() => this.data.index(index2).clone().float());

      // set the label for this example to be negative (0)
      target = torch.tensor(0, { dtype: 'float32' });
    }
    return [image1, image2, target];
  }

  dispose(): void {
    this.data.dispose();
  }
}

export interface SiameseArgs { batchSize: number; testBatchSize: number; epochs: number; lr: number; gamma: number; seed: number; logInterval: number; dryRun: boolean; log?: (line: string) => void }

type PairLoader = torch.data.DataLoader<Tensor[], APP_MATCHER>;

export function train(args: SiameseArgs, model: SiameseNetwork, trainLoader: PairLoader, optimizer: torch.optim.Adadelta, epoch: number, losses: number[], onBatch?: (batch: Tensor[]) => void): void {
  model.train();

  // we aren't using `TripletLoss` as the MNIST dataset is simple, so `BCELoss` can do the trick.
  const criterion = new nn.BCELoss();

  let batchIdx = 0;
  for (const batch of trainLoader) {
    const [images1, images2, targets] = batch;
    onBatch?.(batch);
    const loss = torch.tidy(() => {
      optimizer.zeroGrad();
      const outputs = model(images1, images2).squeeze();
      const loss = criterion(outputs, targets);
      loss.backward();
      optimizer.step();
      return loss.item();
    });
    for (const t of batch) t.dispose();
    losses.push(loss);
    if (batchIdx % args.logInterval === 0) {
      args.log?.(`Train Epoch: ${epoch} [${batchIdx * images1.shape[0]}/${trainLoader.dataset.length} (${((100 * batchIdx) / trainLoader.length).toFixed(0)}%)]\tLoss: ${loss.toFixed(6)}`);
      if (args.dryRun) break;
    }
    batchIdx++;
  }
}

export function test(model: SiameseNetwork, testLoader: PairLoader, log?: (line: string) => void): [number, number] {
  model.eval();
  let testLoss = 0;
  let correct = 0;

  // we aren't using `TripletLoss` as the MNIST dataset is simple, so `BCELoss` can do the trick.
  const criterion = new nn.BCELoss();

  torch.noGrad(() => {
    for (const batch of testLoader) {
      const [images1, images2, targets] = batch;
      torch.tidy(() => {
        const outputs = model(images1, images2).squeeze();
        testLoss += criterion(outputs, targets).sum().item(); // sum up batch loss
        const pred = torch.where(outputs.gt(0.5), 1, 0); // get the index of the max log-probability
        correct += pred.eq(targets.viewAs(pred)).sum().item();
      });
      for (const t of batch) t.dispose();
    }
  });

  testLoss /= testLoader.dataset.length;

  log?.(`\nTest set: Average loss: ${testLoss.toFixed(4)}, Accuracy: ${correct}/${testLoader.dataset.length} (${((100 * correct) / testLoader.dataset.length).toFixed(0)}%)\n`);
  return [testLoss, correct];
}

/** n synthetic digits (mnist.ts's) as MNIST stores them: (n, 28, 28) uint8, 0-255 (main.py reads them as float without normalising). */
export function uint8Digits(n: number, seed: number): [Tensor, Tensor] {
  return torch.tidy(() => {
    const [x, y] = syntheticDigits(n, seed);
    return [x.view(n, 28, 28).sub(x.min()).div(x.max().sub(x.min())).mul(255).round().to('uint8'), y] as [Tensor, Tensor];
  });
}

export interface SiameseData { trainImages: Tensor; trainTargets: Tensor; testImages: Tensor; testTargets: Tensor }

/**
 * main.py's main() after argument parsing: the pair datasets, SiameseNetwork, Adadelta, StepLR,
 * train and test each epoch. (One addition: Python's random is seeded too, random.seed(seed), so
 * that the pairs can be drawn again.)
 */
export function main(data: SiameseData, args: SiameseArgs) {
  torch.manualSeed(args.seed);
  const random = new PythonRandom(args.seed);

  const trainDataset = new APP_MATCHER(data.trainImages, data.trainTargets, random);
  const testDataset = new APP_MATCHER(data.testImages, data.testTargets, random);
  const trainLoader = new torch.data.DataLoader(trainDataset, { batchSize: args.batchSize });
  const testLoader = new torch.data.DataLoader(testDataset, { batchSize: args.testBatchSize });

  const model = new SiameseNetwork();
  const optimizer = new torch.optim.Adadelta(model.parameters(), { lr: args.lr });

  const losses: number[] = [], tests: [number, number][] = [];
  let firstBatch: Tensor[] | null = null;
  const scheduler = new torch.optim.lrScheduler.StepLR(optimizer, { stepSize: 1, gamma: args.gamma });
  for (let epoch = 1; epoch <= args.epochs; epoch++) {
    train(args, model, trainLoader, optimizer, epoch, losses, (b) => { firstBatch ??= b.map((t) => torch.keep(t.clone())); });
    tests.push(test(model, testLoader, args.log));
    scheduler.step();
  }
  optimizer.dispose();
  trainDataset.dispose();
  testDataset.dispose();
  return { model, losses, tests, firstBatch: firstBatch! };
}

if (require.main === module) {
  const i = process.argv.indexOf('--epochs');
  const [trainImages, trainTargets] = uint8Digits(640, 0), [testImages, testTargets] = uint8Digits(200, 1);
  const { model, firstBatch } = main({ trainImages, trainTargets, testImages, testTargets },
    { batchSize: 64, testBatchSize: 100, epochs: i >= 0 ? Number(process.argv[i + 1]) : 3, lr: 1.0, gamma: 0.7, seed: 1, logInterval: 2, dryRun: false, log: console.log });
  model.dispose();
  for (const t of firstBatch) t.dispose();
}
