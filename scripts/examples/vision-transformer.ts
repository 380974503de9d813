// PyTorch's examples/vision_transformer (main.py, BSD-3-Clause) ported as written with tstorch: a
// Vision Transformer. An image is cut into patches with Tensor.unfold, each patch projected to
// the latent size; a class token is prepended and a positional embedding added; pre-norm encoder
// blocks (nn.MultiheadAttention, then a GELU MLP, each with a residual) follow, and an MLP head
// classifies the class token. Trained with Adam (weight decay) and cross-entropy; the weights of
// the epoch with the best validation loss are saved with torch.save. Two quirks of the original
// are kept as written: the class token and the positional embedding are (batch_size, 1, latent)
// parameters (so every batch must be full), and nn.MultiheadAttention is left sequence-first, so it
// attends across the batch for each patch position. No dataset can be downloaded here, so the
// images are synthetic (resnet.ts's); test/vision_transformer.test.ts runs it beside the Python
// original on the same images. As main.py's own closing note says of CIFAR10, without
// pre-training it stays near chance (validation loss about 2.30 for 10 classes); so it does here.
//   node dist/scripts/examples/vision-transformer.js [--epochs 10]
import * as path from 'path';
import * as torch from '../../lib';
import { syntheticImages } from './resnet';

const nn = torch.nn;
type Tensor = torch.Tensor;

export interface ViTArgs {
  patchSize: number; latentSize: number; nChannels: number; numHeads: number; numEncoders: number; dropout: number;
  numClasses: number; epochs: number; lr: number; weightDecay: number; batchSize: number; dryRun: boolean;
}

export class PatchExtractor extends nn.Module {
  patchSize: number;
  constructor(patchSize = 16) {
    super();
    this.patchSize = patchSize;
  }
  forward(inputData: Tensor): Tensor {
    const [batchSize, , height, width] = inputData.size();
    if (height % this.patchSize !== 0 || width % this.patchSize !== 0) {
      throw new Error(`Input height (${height}) and width (${width}) must be divisible by patch size (${this.patchSize})`);
    }
    const numPatchesH = Math.floor(height / this.patchSize);
    const numPatchesW = Math.floor(width / this.patchSize);
    const numPatches = numPatchesH * numPatchesW;

    return torch.tidy(() => inputData.unfold(2, this.patchSize, this.patchSize).
      unfold(3, this.patchSize, this.patchSize).
      permute(0, 2, 3, 1, 4, 5).
      contiguous().
      view(batchSize, numPatches, -1));
    // Expected shape of a patch on default settings is (4, 196, 768)
  }
}

export class InputEmbedding extends nn.Module {
  patchSize: number;
  nChannels: number;
  latentSize: number;
  batchSize: number;
  inputSize: number;
  declare LinearProjection: torch.nn.Linear;
  declare class_token: Tensor;
  declare pos_embedding: Tensor;
  constructor(args: ViTArgs) {
    super();
    this.patchSize = args.patchSize;
    this.nChannels = args.nChannels;
    this.latentSize = args.latentSize;
    this.batchSize = args.batchSize;
    this.inputSize = this.patchSize * this.patchSize * this.nChannels;

    // Linear projection
    this.LinearProjection = new nn.Linear(this.inputSize, this.latentSize);
    // Class token
    this.class_token = nn.Parameter(torch.randn([this.batchSize, 1, this.latentSize]));
    // Positional embedding
    this.pos_embedding = nn.Parameter(torch.randn([this.batchSize, 1, this.latentSize]));
  }
  forward(inputData: Tensor): Tensor {
    return torch.tidy(() => {
      // Patchifying the Image
      const patchify = new PatchExtractor(this.patchSize);
      const patches = patchify(inputData);

      let linearProjection = this.LinearProjection(patches);
      const [, n] = linearProjection.shape;
      linearProjection = torch.cat([this.class_token, linearProjection], 1);
      const posEmbed = this.pos_embedding.index(':', `:${n + 1}`, ':');
      linearProjection.add_(posEmbed);

      return linearProjection;
    });
  }
}

export class EncoderBlock extends nn.Module {
  latentSize: number;
  numHeads: number;
  dropout: number;
  declare norm: torch.nn.LayerNorm;
  declare attention: torch.nn.MultiheadAttention;
  declare enc_MLP: torch.nn.Sequential;
  constructor(args: ViTArgs) {
    super();
    this.latentSize = args.latentSize;
    this.numHeads = args.numHeads;
    this.dropout = args.dropout;
    this.norm = new nn.LayerNorm(this.latentSize);
    this.attention = new nn.MultiheadAttention(this.latentSize, this.numHeads, { dropout: this.dropout });
    this.enc_MLP = new nn.Sequential(
      new nn.Linear(this.latentSize, this.latentSize * 4),
      new nn.GELU(),
      new nn.Dropout(this.dropout),
      new nn.Linear(this.latentSize * 4, this.latentSize),
      new nn.Dropout(this.dropout),
    );
  }
  forward(embPatches: Tensor): Tensor {
    return torch.tidy(() => {
      const firstNorm = this.norm(embPatches);
      const attentionOut = this.attention(firstNorm, firstNorm, firstNorm)[0];
      const firstAdded = attentionOut.add(embPatches);
      const secondNorm = this.norm(firstAdded);
      const mlpOut = this.enc_MLP(secondNorm);
      return mlpOut.add(firstAdded);
    });
  }
}

export class ViT extends nn.Module {
  numEncoders: number;
  latentSize: number;
  numClasses: number;
  dropout: number;
  declare embedding: InputEmbedding;
  declare encoders: torch.nn.ModuleList<EncoderBlock>;
  declare MLPHead: torch.nn.Sequential;
  constructor(args: ViTArgs) {
    super();
    this.numEncoders = args.numEncoders;
    this.latentSize = args.latentSize;
    this.numClasses = args.numClasses;
    this.dropout = args.dropout;

    this.embedding = new InputEmbedding(args);
    // Encoder Stack
    this.encoders = new nn.ModuleList(Array.from({ length: this.numEncoders }, () => new EncoderBlock(args)));
    this.MLPHead = new nn.Sequential(
      new nn.LayerNorm(this.latentSize),
      new nn.Linear(this.latentSize, this.latentSize),
      new nn.Linear(this.latentSize, this.numClasses),
    );
  }
  forward(testInput: Tensor): Tensor {
    return torch.tidy(() => {
      let encOutput = this.embedding(testInput);
      for (const encLayer of this.encoders) {
        encOutput = encLayer(encOutput);
      }
      const classTokenEmbed = encOutput.index(':', 0);
      return this.MLPHead(classTokenEmbed);
    });
  }
}

type Loader = torch.data.DataLoader<Tensor[], torch.data.TensorDataset>;

/** main.py's TrainEval (tqdm's progress bar becomes a log line per epoch; each batch's loss is kept). */
export class TrainEval {
  epoch: number;
  trainBatches: number[] = [];
  validBatches: number[] = [];
  epochs: [number, number][] = [];
  saved: number[] = [];
  best: [number, number] = [Infinity, Infinity];
  constructor(public args: ViTArgs, public model: ViT, public trainDataloader: Loader, public valDataloader: Loader,
    public optimizer: torch.optim.Adam, public criterion: torch.nn.CrossEntropyLoss, public outDir: string, public log?: (line: string) => void) {
    this.epoch = args.epochs;
  }

  trainFn(currentEpoch: number): number {
    this.model.train();
    let totalLoss = 0.0;
    for (const [images, labels] of this.trainDataloader) {
      const loss = torch.tidy(() => {
        this.optimizer.zeroGrad();
        const logits = this.model(images);
        const loss = this.criterion(logits, labels);
        loss.backward();
        this.optimizer.step();
        return loss.item();
      });
      images.dispose();
      labels.dispose();
      totalLoss += loss;
      this.trainBatches.push(loss);
      if (this.args.dryRun) break;
    }
    this.log?.(`EPOCH[TRAIN]${currentEpoch + 1}/${this.epoch} Loss ${(totalLoss / this.trainDataloader.length).toFixed(6)}`);
    return totalLoss / this.trainDataloader.length;
  }

  evalFn(currentEpoch: number): number {
    this.model.eval();
    let totalLoss = 0.0;
    for (const [images, labels] of this.valDataloader) {
      const loss = torch.tidy(() => {
        const logits = this.model(images);
        return this.criterion(logits, labels).item();
      });
      images.dispose();
      labels.dispose();
      totalLoss += loss;
      this.validBatches.push(loss);
      if (this.args.dryRun) break;
    }
    this.log?.(`EPOCH[VALID]${currentEpoch + 1}/${this.epoch} Loss ${(totalLoss / this.valDataloader.length).toFixed(6)}`);
    return totalLoss / this.valDataloader.length;
  }

  train(): void {
    let bestValidLoss = Infinity;
    let bestTrainLoss = Infinity;
    for (let i = 0; i < this.epoch; i++) {
      const trainLoss = this.trainFn(i);
      const valLoss = this.evalFn(i);
      this.epochs.push([trainLoss, valLoss]);

      if (valLoss < bestValidLoss) {
        torch.save(this.model.stateDict(), path.join(this.outDir, 'best-weights.pt'));
        this.log?.('Saved Best Weights');
        this.saved.push(i);
        bestValidLoss = valLoss;
        bestTrainLoss = trainLoss;
      }
    }
    this.best = [bestTrainLoss, bestValidLoss];
    this.log?.(`Training Loss : ${bestTrainLoss}`);
    this.log?.(`Valid Loss : ${bestValidLoss}`);
  }
}

export interface ViTData { trainImages: Tensor; trainLabels: Tensor; validImages: Tensor; validLabels: Tensor }

/** main.py's main() after argument parsing and the download: loaders, ViT, Adam, cross-entropy, TrainEval. */
export function main(data: ViTData, args: ViTArgs & { seed: number; outDir: string; log?: (line: string) => void }): TrainEval {
  torch.manualSeed(args.seed);
  const trainLoader = new torch.data.DataLoader(new torch.data.TensorDataset(data.trainImages, data.trainLabels), { batchSize: args.batchSize, shuffle: true });
  const validLoader = new torch.data.DataLoader(new torch.data.TensorDataset(data.validImages, data.validLabels), { batchSize: args.batchSize, shuffle: true });

  const model = new ViT(args);

  const optimizer = new torch.optim.Adam(model.parameters(), { lr: args.lr, weightDecay: args.weightDecay });
  const criterion = new nn.CrossEntropyLoss();

  const run = new TrainEval(args, model, trainLoader, validLoader, optimizer, criterion, args.outDir, args.log);
  run.train();
  optimizer.dispose();
  return run;
}

if (require.main === module) {
  const flag = (name: string, fallback: number) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? Number(process.argv[i + 1]) : fallback;
  };
  // (main.py's defaults are ViT-Base on 224x224 CIFAR10; on synthetic 32x32 images a small one)
  const args: ViTArgs = {
    patchSize: 8, latentSize: 64, nChannels: 3, numHeads: 4, numEncoders: 4, dropout: 0.1, numClasses: 10,
    epochs: flag('--epochs', 10), lr: 1e-3, weightDecay: 3e-2, batchSize: 4, dryRun: process.argv.includes('--dry-run'),
  };
  const [trainImages, trainLabels] = syntheticImages(400, 10, 0), [validImages, validLabels] = syntheticImages(100, 10, 1);
  const run = main({ trainImages, trainLabels, validImages, validLabels }, { ...args, seed: 0, outDir: '.', log: console.log });
  run.model.dispose();
}
