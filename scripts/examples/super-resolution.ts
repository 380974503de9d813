// PyTorch's examples/super_resolution (model.py and main.py, BSD-3-Clause) ported as written with
// tstorch: the sub-pixel CNN of Shi et al. (2016) (convolutions, then PixelShuffle), initialised
// with init.orthogonal_ and calculate_gain('relu'), trained with Adam on the MSE, tested by PSNR.
// No dataset can be downloaded here, so the images are synthetic (smooth random patterns), each
// input its target average-pooled by the upscale factor; test/super_resolution.test.ts runs it
// beside the Python original on the same images.
//   node dist/scripts/examples/super-resolution.js [--epochs 5]
import * as torch from '../../lib';

const nn = torch.nn;
const init = nn.init;

export class Net extends nn.Module {
  declare relu: torch.nn.ReLU;
  declare conv1: torch.nn.Conv2d;
  declare conv2: torch.nn.Conv2d;
  declare conv3: torch.nn.Conv2d;
  declare conv4: torch.nn.Conv2d;
  declare pixel_shuffle: torch.nn.PixelShuffle;
  constructor(upscaleFactor: number) {
    super();
    this.relu = new nn.ReLU();
    this.conv1 = new nn.Conv2d(1, 64, [5, 5], [1, 1], [2, 2]);
    this.conv2 = new nn.Conv2d(64, 64, [3, 3], [1, 1], [1, 1]);
    this.conv3 = new nn.Conv2d(64, 32, [3, 3], [1, 1], [1, 1]);
    this.conv4 = new nn.Conv2d(32, upscaleFactor ** 2, [3, 3], [1, 1], [1, 1]);
    this.pixel_shuffle = new nn.PixelShuffle(upscaleFactor);
    this.initializeWeights();
  }
  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      x = this.relu(this.conv1(x));
      x = this.relu(this.conv2(x));
      x = this.relu(this.conv3(x));
      x = this.pixel_shuffle(this.conv4(x));
      return x;
    });
  }
  private initializeWeights(): void {
    init.orthogonal_(this.conv1.weight, init.calculateGain('relu'));
    init.orthogonal_(this.conv2.weight, init.calculateGain('relu'));
    init.orthogonal_(this.conv3.weight, init.calculateGain('relu'));
    init.orthogonal_(this.conv4.weight);
  }
}

export interface SROptions { upscaleFactor?: number; batchSize?: number; testBatchSize?: number; nEpochs?: number; lr?: number; seed?: number; log?: (line: string) => void }

/** main.py: Adam on the MSE; after each epoch its average loss and the test set's average PSNR. */
export function main(data: { trainInput: torch.Tensor; trainTarget: torch.Tensor; testInput: torch.Tensor; testTarget: torch.Tensor }, o: SROptions = {}): { model: Net; epochLosses: number[]; psnrs: number[] } {
  torch.manualSeed(o.seed ?? 123);
  const trainingDataLoader = new torch.data.DataLoader(new torch.data.TensorDataset(data.trainInput, data.trainTarget), { batchSize: o.batchSize ?? 64, shuffle: true });
  const testingDataLoader = new torch.data.DataLoader(new torch.data.TensorDataset(data.testInput, data.testTarget), { batchSize: o.testBatchSize ?? 10, shuffle: false });
  const model = new Net(o.upscaleFactor ?? 3);
  const criterion = new nn.MSELoss();
  const optimizer = new torch.optim.Adam(model.parameters(), { lr: o.lr ?? 0.01 });
  const epochLosses: number[] = [], psnrs: number[] = [];

  const train = (epoch: number) => {
    let epochLoss = 0;
    for (const [input, target] of trainingDataLoader) {
      torch.tidy(() => {
        optimizer.zeroGrad();
        const loss = criterion(model(input), target);
        epochLoss += loss.item();
        loss.backward();
        optimizer.step();
      });
      for (const t of [input, target]) t.dispose();
    }
    epochLosses.push(epochLoss / trainingDataLoader.length);
    o.log?.(`===> Epoch ${epoch} Complete: Avg. Loss: ${(epochLoss / trainingDataLoader.length).toFixed(4)}`);
  };
  const test = () => {
    let avgPsnr = 0;
    torch.noGrad(() => {
      for (const [input, target] of testingDataLoader) {
        torch.tidy(() => {
          const prediction = model(input);
          const mse = criterion(prediction, target);
          const psnr = 10 * Math.log10(1 / mse.item());
          avgPsnr += psnr;
        });
        for (const t of [input, target]) t.dispose();
      }
    });
    psnrs.push(avgPsnr / testingDataLoader.length);
    o.log?.(`===> Avg. PSNR: ${(avgPsnr / testingDataLoader.length).toFixed(4)} dB`);
  };

  for (let epoch = 1; epoch <= (o.nEpochs ?? 2); epoch++) {
    train(epoch);
    test();
  }
  optimizer.dispose();
  return { model, epochLosses, psnrs };
}

/** n smooth random images (n, 1, size, size) in [0, 1], and their average-pooled inputs (n, 1, size / r, size / r). */
export function images(n: number, size: number, r: number, seed: number): { input: torch.Tensor; target: torch.Tensor } {
  return torch.tidy(() => {
    const gen = new torch.Generator().manualSeed(seed);
    const coarse = torch.rand([n, 1, 4, 4], { generator: gen });
    const target = nn.functional.interpolate(coarse, { size: [size, size], mode: 'bilinear', alignCorners: true });
    return { input: nn.functional.avgPool2d(target, r), target };
  });
}

if (require.main === module) {
  const i = process.argv.indexOf('--epochs');
  const train = images(200, 33, 3, 0), test = images(40, 33, 3, 1);
  main({ trainInput: train.input, trainTarget: train.target, testInput: test.input, testTarget: test.target }, { nEpochs: i >= 0 ? Number(process.argv[i + 1]) : 5, batchSize: 16, log: console.log });
}
