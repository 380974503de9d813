// torchvision's ResNet (models/resnet.py, BSD-3-Clause) and the heart of PyTorch's
// examples/imagenet main.py (train, validate, accuracy with top-k, SGD with momentum and weight
// decay, StepLR), ported as written with tstorch: BasicBlock and Bottleneck with their
// downsample stacks, kaiming_normal_(mode='fan_out') and constant_ init, zero_init_residual,
// ReLU(inplace=True), MaxPool2d and AdaptiveAvgPool2d. No dataset can be downloaded here, so the
// images are synthetic; test/resnet.test.ts runs it beside the Python original on the same images.
//   node dist/scripts/examples/resnet.js [--epochs 2]
import * as torch from '../../lib';

const nn = torch.nn;

type Norm = (channels: number) => torch.nn.TensorModule;

/** 3x3 convolution with padding */
function conv3x3(inPlanes: number, outPlanes: number, stride = 1, groups = 1, dilation = 1): torch.nn.Conv2d {
  return new nn.Conv2d(inPlanes, outPlanes, { kernelSize: 3, stride, padding: dilation, groups, bias: false, dilation });
}
/** 1x1 convolution */
function conv1x1(inPlanes: number, outPlanes: number, stride = 1): torch.nn.Conv2d {
  return new nn.Conv2d(inPlanes, outPlanes, { kernelSize: 1, stride, bias: false });
}

interface BlockArgs { inplanes: number; planes: number; stride?: number; downsample?: torch.nn.TensorModule | null; groups?: number; baseWidth?: number; dilation?: number; normLayer?: Norm | null }

export class BasicBlock extends nn.Module {
  static readonly expansion = 1;
  declare conv1: torch.nn.Conv2d;
  declare bn1: torch.nn.TensorModule;
  declare relu: torch.nn.ReLU;
  declare conv2: torch.nn.Conv2d;
  declare bn2: torch.nn.TensorModule;
  declare downsample: torch.nn.TensorModule | null;
  readonly stride: number;
  constructor({ inplanes, planes, stride = 1, downsample = null, groups = 1, baseWidth = 64, dilation = 1, normLayer = null }: BlockArgs) {
    super();
    normLayer ??= (c) => new nn.BatchNorm2d(c);
    if (groups !== 1 || baseWidth !== 64) throw new Error('BasicBlock only supports groups=1 and base_width=64');
    if (dilation > 1) throw new Error('Dilation > 1 not supported in BasicBlock');
    // Both this.conv1 and this.downsample layers downsample the input when stride != 1
    this.conv1 = conv3x3(inplanes, planes, stride);
    this.bn1 = normLayer(planes);
    this.relu = new nn.ReLU(true);
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = normLayer(planes);
    this.downsample = downsample;
    this.stride = stride;
  }
  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      const identity = this.downsample ? (this.downsample(x)) : x;
      let out = this.conv1(x);
      out = this.bn1(out);
      out = this.relu(out);
      out = this.conv2(out);
      out = this.bn2(out);
      out.add_(identity); // out += identity
      out = this.relu(out);
      return out;
    });
  }
}

/**
 * Bottleneck in torchvision places the stride for downsampling at 3x3 convolution(self.conv2)
 * while original implementation places the stride at the first 1x1 convolution(self.conv1)
 * according to "Deep residual learning for image recognition" https://arxiv.org/abs/1512.03385.
 * This variant is also known as ResNet V1.5 and improves accuracy according to
 * https://ngc.nvidia.com/catalog/model-scripts/nvidia:resnet_50_v1_5_for_pytorch.
 */
export class Bottleneck extends nn.Module {
  static readonly expansion = 4;
  declare conv1: torch.nn.Conv2d;
  declare bn1: torch.nn.TensorModule;
  declare conv2: torch.nn.Conv2d;
  declare bn2: torch.nn.TensorModule;
  declare conv3: torch.nn.Conv2d;
  declare bn3: torch.nn.TensorModule;
  declare relu: torch.nn.ReLU;
  declare downsample: torch.nn.TensorModule | null;
  readonly stride: number;
  constructor({ inplanes, planes, stride = 1, downsample = null, groups = 1, baseWidth = 64, dilation = 1, normLayer = null }: BlockArgs) {
    super();
    normLayer ??= (c) => new nn.BatchNorm2d(c);
    const width = Math.floor(planes * (baseWidth / 64.0)) * groups;
    // Both this.conv2 and this.downsample layers downsample the input when stride != 1
    this.conv1 = conv1x1(inplanes, width);
    this.bn1 = normLayer(width);
    this.conv2 = conv3x3(width, width, stride, groups, dilation);
    this.bn2 = normLayer(width);
    this.conv3 = conv1x1(width, planes * Bottleneck.expansion);
    this.bn3 = normLayer(planes * Bottleneck.expansion);
    this.relu = new nn.ReLU(true);
    this.downsample = downsample;
    this.stride = stride;
  }
  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      const identity = this.downsample ? (this.downsample(x)) : x;
      let out = this.relu(this.bn1(this.conv1(x)));
      out = this.relu(this.bn2(this.conv2(out)));
      out = this.bn3(this.conv3(out));
      out.add_(identity);
      return this.relu(out);
    });
  }
}

type Block = typeof BasicBlock | typeof Bottleneck;

export interface ResNetOptions { numClasses?: number; zeroInitResidual?: boolean; groups?: number; widthPerGroup?: number; normLayer?: Norm | null }

export class ResNet extends nn.Module {
  declare conv1: torch.nn.Conv2d;
  declare bn1: torch.nn.TensorModule;
  declare relu: torch.nn.ReLU;
  declare maxpool: torch.nn.MaxPool2d;
  declare layer1: torch.nn.Sequential;
  declare layer2: torch.nn.Sequential;
  declare layer3: torch.nn.Sequential;
  declare layer4: torch.nn.Sequential;
  declare avgpool: torch.nn.AdaptiveAvgPool2d;
  declare fc: torch.nn.Linear;
  private inplanes = 64;
  private dilation = 1;
  private readonly groups: number;
  private readonly baseWidth: number;
  private readonly normLayer: Norm;
  constructor(block: Block, layers: [number, number, number, number], o: ResNetOptions = {}) {
    super();
    this.normLayer = o.normLayer ?? ((c) => new nn.BatchNorm2d(c));
    this.groups = o.groups ?? 1;
    this.baseWidth = o.widthPerGroup ?? 64;
    this.conv1 = new nn.Conv2d(3, this.inplanes, { kernelSize: 7, stride: 2, padding: 3, bias: false });
    this.bn1 = this.normLayer(this.inplanes);
    this.relu = new nn.ReLU(true);
    this.maxpool = new nn.MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 });
    this.layer1 = this.makeLayer(block, 64, layers[0]);
    this.layer2 = this.makeLayer(block, 128, layers[1], 2);
    this.layer3 = this.makeLayer(block, 256, layers[2], 2);
    this.layer4 = this.makeLayer(block, 512, layers[3], 2);
    this.avgpool = new nn.AdaptiveAvgPool2d([1, 1]);
    this.fc = new nn.Linear(512 * block.expansion, o.numClasses ?? 1000);

    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) {
        nn.init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
      } else if (m instanceof nn.BatchNorm2d || m instanceof nn.GroupNorm) {
        nn.init.constant_(m.weight!, 1);
        nn.init.constant_(m.bias!, 0);
      }
    }
    // Zero-initialize the last BN in each residual branch, so that the residual branch starts
    // with zeros, and each residual block behaves like an identity. This improves the model by
    // 0.2~0.3% according to https://arxiv.org/abs/1706.02677
    if (o.zeroInitResidual) {
      for (const m of this.modules()) {
        if (m instanceof Bottleneck && m.bn3 instanceof nn.BatchNorm2d) nn.init.constant_(m.bn3.weight!, 0);
        else if (m instanceof BasicBlock && m.bn2 instanceof nn.BatchNorm2d) nn.init.constant_(m.bn2.weight!, 0);
      }
    }
  }
  private makeLayer(block: Block, planes: number, blocks: number, stride = 1): torch.nn.Sequential {
    const normLayer = this.normLayer;
    let downsample: torch.nn.TensorModule | null = null;
    const previousDilation = this.dilation;
    if (stride !== 1 || this.inplanes !== planes * block.expansion) {
      downsample = new nn.Sequential(conv1x1(this.inplanes, planes * block.expansion, stride), normLayer(planes * block.expansion));
    }
    const layers: torch.nn.TensorModule[] = [];
    layers.push(new block({ inplanes: this.inplanes, planes, stride, downsample, groups: this.groups, baseWidth: this.baseWidth, dilation: previousDilation, normLayer }));
    this.inplanes = planes * block.expansion;
    for (let i = 1; i < blocks; i++) {
      layers.push(new block({ inplanes: this.inplanes, planes, groups: this.groups, baseWidth: this.baseWidth, dilation: this.dilation, normLayer }));
    }
    return new nn.Sequential(...layers);
  }
  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      x = this.conv1(x);
      x = this.bn1(x);
      x = this.relu(x);
      x = this.maxpool(x);

      x = this.layer1(x);
      x = this.layer2(x);
      x = this.layer3(x);
      x = this.layer4(x);

      x = this.avgpool(x);
      x = torch.flatten(x, 1);
      x = this.fc(x);
      return x;
    });
  }
}

export const resnet18 = (o: ResNetOptions = {}) => new ResNet(BasicBlock, [2, 2, 2, 2], o);
export const resnet34 = (o: ResNetOptions = {}) => new ResNet(BasicBlock, [3, 4, 6, 3], o);
export const resnet50 = (o: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 4, 6, 3], o);

/** Computes the accuracy over the k top predictions for the specified values of k */
export function accuracy(output: torch.Tensor, target: torch.Tensor, topk: number[] = [1]): number[] {
  return torch.noGrad(() => torch.tidy(() => {
    const maxk = Math.max(...topk);
    const batchSize = target.size(0);
    let [, pred] = output.topk(maxk, 1, true, true);
    pred = pred.t();
    const correct = pred.eq(target.view(1, -1).expandAs(pred));
    return topk.map((k) => {
      const correctK = correct.index(`:${k}`).reshape(-1).float().sum(0, { keepdim: true });
      return correctK.mul_(100.0 / batchSize).item();
    });
  }));
}

export interface ImagenetOptions { epochs?: number; batchSize?: number; lr?: number; momentum?: number; weightDecay?: number; seed?: number; arch?: 'resnet18' | 'resnet34' | 'resnet50'; numClasses?: number; log?: (line: string) => void }

/** imagenet main.py's main_worker on one device: each epoch train(), validate(), scheduler.step(). */
export function main(data: { trainImages: torch.Tensor; trainLabels: torch.Tensor; valImages: torch.Tensor; valLabels: torch.Tensor }, o: ImagenetOptions = {}) {
  torch.manualSeed(o.seed ?? 0);
  const model = ({ resnet18, resnet34, resnet50 })[o.arch ?? 'resnet18']({ numClasses: o.numClasses ?? 1000 });
  // define loss function (criterion), optimizer, and learning rate scheduler
  const criterion = new nn.CrossEntropyLoss();
  const optimizer = new torch.optim.SGD(model.parameters(), { lr: o.lr ?? 0.1, momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay ?? 1e-4 });
  // Sets the learning rate to the initial LR decayed by 10 every 30 epochs
  const scheduler = new torch.optim.lrScheduler.StepLR(optimizer, { stepSize: 30, gamma: 0.1 });
  const trainLoader = new torch.data.DataLoader(new torch.data.TensorDataset(data.trainImages, data.trainLabels), { batchSize: o.batchSize ?? 256, shuffle: true });
  const valLoader = new torch.data.DataLoader(new torch.data.TensorDataset(data.valImages, data.valLabels), { batchSize: o.batchSize ?? 256, shuffle: false });

  const trainSteps: { loss: number; acc1: number; acc5: number }[] = [];
  const validations: { loss: number; acc1: number; acc5: number }[] = [];
  for (let epoch = 0; epoch < (o.epochs ?? 90); epoch++) {
    // train for one epoch: switch to train mode
    model.train();
    for (const [images, target] of trainLoader) {
      torch.tidy(() => {
        // compute output
        const output = model(images);
        const loss = criterion(output, target);
        // measure accuracy and record loss
        const [acc1, acc5] = accuracy(output, target, [1, 5]);
        trainSteps.push({ loss: loss.item(), acc1, acc5 });
        // compute gradient and do SGD step
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
      });
      for (const t of [images, target]) t.dispose();
    }
    // evaluate on validation set: switch to evaluate mode
    model.eval();
    let n = 0, lossSum = 0, top1 = 0, top5 = 0;
    torch.noGrad(() => {
      for (const [images, target] of valLoader) {
        torch.tidy(() => {
          const output = model(images);
          const loss = criterion(output, target);
          const [acc1, acc5] = accuracy(output, target, [1, 5]);
          const b = images.size(0);
          [n, lossSum, top1, top5] = [n + b, lossSum + loss.item() * b, top1 + acc1 * b, top5 + acc5 * b];
        });
        for (const t of [images, target]) t.dispose();
      }
    });
    validations.push({ loss: lossSum / n, acc1: top1 / n, acc5: top5 / n });
    o.log?.(`epoch ${epoch}: val loss ${(lossSum / n).toFixed(4)}, Acc@1 ${(top1 / n).toFixed(3)}, Acc@5 ${(top5 / n).toFixed(3)}`);
    scheduler.step();
  }
  optimizer.dispose();
  return { model, trainSteps, validations };
}

/** n synthetic 3×32×32 images of numClasses classes: class c a colour ramp whose direction and colour depend on c, on noise. */
export function syntheticImages(n: number, numClasses: number, seed: number): [torch.Tensor, torch.Tensor] {
  return torch.tidy(() => {
    const gen = new torch.Generator().manualSeed(seed);
    const labels = torch.arange(n).remainder(numClasses);
    const angle = labels.to('float32').mul((2 * Math.PI) / numClasses).view(n, 1, 1, 1);
    const ys = torch.linspace(-1, 1, 32).view(1, 1, 32, 1), xs = torch.linspace(-1, 1, 32).view(1, 1, 1, 32);
    const ramp = ys.mul(angle.sin()).add(xs.mul(angle.cos()));
    const colour = torch.stack([angle.cos(), angle.sin(), angle.mul(2).cos()], 1).view(n, 3, 1, 1);
    const noise = torch.randn([n, 3, 32, 32], { generator: gen }).mul(0.5);
    return [ramp.mul(colour).add(noise), labels] as [torch.Tensor, torch.Tensor];
  });
}

if (require.main === module) {
  const i = process.argv.indexOf('--epochs');
  const [trainImages, trainLabels] = syntheticImages(256, 10, 0), [valImages, valLabels] = syntheticImages(128, 10, 1);
  main({ trainImages, trainLabels, valImages, valLabels }, { epochs: i >= 0 ? Number(process.argv[i + 1]) : 2, batchSize: 32, lr: 0.05, numClasses: 10, log: console.log });
}
