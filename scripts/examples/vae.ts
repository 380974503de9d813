// PyTorch's examples/vae (main.py, BSD-3-Clause) ported as written with tstorch: a variational
// autoencoder (encode, reparameterize with torch.randnLike, decode), the BCE + KL loss, Adam,
// train() and test(), and decoding random samples each epoch. No dataset can be downloaded
// here, so the images are synthetic 28×28 digits in [0, 1]; test/vae.test.ts runs it beside
// the Python original on the same images.
//   node dist/scripts/examples/vae.js [--epochs 3]
import * as torch from '../../lib';

const nn = torch.nn;
const F = nn.functional;

export class VAE extends nn.Module {
  declare fc1: torch.nn.Linear;
  declare fc21: torch.nn.Linear;
  declare fc22: torch.nn.Linear;
  declare fc3: torch.nn.Linear;
  declare fc4: torch.nn.Linear;
  constructor() {
    super();
    this.fc1 = new nn.Linear(784, 400);
    this.fc21 = new nn.Linear(400, 20);
    this.fc22 = new nn.Linear(400, 20);
    this.fc3 = new nn.Linear(20, 400);
    this.fc4 = new nn.Linear(400, 784);
  }
  encode(x: torch.Tensor): [torch.Tensor, torch.Tensor] {
    const h1 = F.relu(this.fc1(x));
    return [this.fc21(h1), this.fc22(h1)];
  }
  reparameterize(mu: torch.Tensor, logvar: torch.Tensor): torch.Tensor {
    const std = torch.exp(logvar.mul(0.5));
    const eps = torch.randnLike(std);
    return mu.add(eps.mul(std));
  }
  decode(z: torch.Tensor): torch.Tensor {
    const h3 = F.relu(this.fc3(z));
    return torch.sigmoid(this.fc4(h3));
  }
  forward(x: torch.Tensor): [torch.Tensor, torch.Tensor, torch.Tensor] {
    const [mu, logvar] = this.encode(x.view(-1, 784));
    const z = this.reparameterize(mu, logvar);
    return [this.decode(z), mu, logvar];
  }
}

/** Reconstruction + KL divergence losses summed over all elements and batch */
export function lossFunction(reconX: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor): torch.Tensor {
  const BCE = F.binaryCrossEntropy(reconX, x.view(-1, 784), { reduction: 'sum' });
  // see Appendix B from VAE paper: Kingma and Welling. Auto-Encoding Variational Bayes. ICLR, 2014
  // https://arxiv.org/abs/1312.6114
  // 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
  const KLD = torch.sum(logvar.add(1).sub(mu.pow(2)).sub(logvar.exp())).mul(-0.5);
  return BCE.add(KLD);
}

export interface VAEOptions { batchSize?: number; epochs?: number; seed?: number; log?: (line: string) => void }

/** main.py: each epoch train(), test() and 64 samples decoded from N(0, 1); per epoch the average train and test losses. */
export function main(train: torch.Tensor, test: torch.Tensor, o: VAEOptions = {}): { model: VAE; trainLosses: number[]; testLosses: number[]; samples: torch.Tensor } {
  torch.manualSeed(o.seed ?? 1);
  const batchSize = o.batchSize ?? 128;
  const trainLoader = new torch.data.DataLoader(new torch.data.TensorDataset(train), { batchSize, shuffle: true });
  const testLoader = new torch.data.DataLoader(new torch.data.TensorDataset(test), { batchSize, shuffle: false });
  const model = new VAE();
  const optimizer = new torch.optim.Adam(model.parameters(), { lr: 1e-3 });
  const trainLosses: number[] = [], testLosses: number[] = [];
  let samples: torch.Tensor | null = null;

  const trainEpoch = (epoch: number) => {
    model.train();
    let trainLoss = 0;
    for (const [data] of trainLoader) {
      torch.tidy(() => {
        optimizer.zeroGrad();
        const [reconBatch, mu, logvar] = model(data);
        const loss = lossFunction(reconBatch, data, mu, logvar);
        loss.backward();
        trainLoss += loss.item();
        optimizer.step();
      });
      data.dispose();
    }
    trainLosses.push(trainLoss / train.size(0));
    o.log?.(`====> Epoch: ${epoch} Average loss: ${(trainLoss / train.size(0)).toFixed(4)}`);
  };
  const testEpoch = () => {
    model.eval();
    let testLoss = 0;
    torch.noGrad(() => {
      for (const [data] of testLoader) {
        torch.tidy(() => {
          const [reconBatch, mu, logvar] = model(data);
          testLoss += lossFunction(reconBatch, data, mu, logvar).item();
        });
        data.dispose();
      }
    });
    testLosses.push(testLoss / test.size(0));
    o.log?.(`====> Test set loss: ${(testLoss / test.size(0)).toFixed(4)}`);
  };

  for (let epoch = 1; epoch <= (o.epochs ?? 10); epoch++) {
    trainEpoch(epoch);
    testEpoch();
    torch.noGrad(() => {
      samples?.dispose();
      samples = torch.tidy(() => model.decode(torch.randn(64, 20)));
    });
  }
  optimizer.dispose();
  return { model, trainLosses, testLosses, samples: samples! };
}

/** n synthetic 28×28 digits in [0, 1] (N, 1, 28, 28): class c a bright 8×5 patch in cell c of a 2×5 grid, on dim noise. */
export function digits(n: number, seed: number): torch.Tensor {
  return torch.tidy(() => {
    const images = torch.rand([n, 1, 28, 28], { generator: new torch.Generator().manualSeed(seed) }).mul(0.3);
    for (let i = 0; i < n; i++) {
      const c = i % 10, top = 3 + 13 * Math.floor(c / 5), left = 1 + 5 * (c % 5);
      images.indexPut_([i, 0, `${top}:${top + 8}`, `${left}:${left + 5}`], 1);
    }
    return images;
  });
}

if (require.main === module) {
  const i = process.argv.indexOf('--epochs');
  main(digits(2048, 0), digits(512, 1), { epochs: i >= 0 ? Number(process.argv[i + 1]) : 3, log: console.log });
}
