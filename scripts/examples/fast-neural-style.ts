// PyTorch's examples/fast_neural_style (neural_style/transformer_net.py, vgg.py, utils.py and
// neural_style.py's train and stylize, BSD-3-Clause) ported as written with tstorch: Johnson et
// al.'s (2016) image transformation network (reflection-padded convolutions, instance norm,
// residual blocks, nearest-neighbour upsampling), trained with Adam to match a style image's
// Gram matrices of VGG-16 features and a content image's relu2_2 features.
// No images or pretrained VGG-16 can be downloaded here: the images are synthetic and VGG-16's
// "pretrained" features are read from a file (or seeded); test/fast_neural_style.test.ts runs it
// beside the Python original on the same images and weights.
//   node dist/scripts/examples/fast-neural-style.js [--epochs 2]
import * as torch from '../../lib';

const nn = torch.nn;
type Tensor = torch.Tensor;

// ---- transformer_net.py ----
export class TransformerNet extends nn.Module {
  // Initial convolution layers
  conv1 = new ConvLayer(3, 32, { kernelSize: 9, stride: 1 });
  in1 = new nn.InstanceNorm2d(32, { affine: true });
  conv2 = new ConvLayer(32, 64, { kernelSize: 3, stride: 2 });
  in2 = new nn.InstanceNorm2d(64, { affine: true });
  conv3 = new ConvLayer(64, 128, { kernelSize: 3, stride: 2 });
  in3 = new nn.InstanceNorm2d(128, { affine: true });
  // Residual layers
  res1 = new ResidualBlock(128);
  res2 = new ResidualBlock(128);
  res3 = new ResidualBlock(128);
  res4 = new ResidualBlock(128);
  res5 = new ResidualBlock(128);
  // Upsampling Layers
  deconv1 = new UpsampleConvLayer(128, 64, { kernelSize: 3, stride: 1, upsample: 2 });
  in4 = new nn.InstanceNorm2d(64, { affine: true });
  deconv2 = new UpsampleConvLayer(64, 32, { kernelSize: 3, stride: 1, upsample: 2 });
  in5 = new nn.InstanceNorm2d(32, { affine: true });
  deconv3 = new ConvLayer(32, 3, { kernelSize: 9, stride: 1 });
  // Non-linearities
  relu = new nn.ReLU();

  forward(X: Tensor): Tensor {
    return torch.tidy(() => {
      let y = this.relu(this.in1(this.conv1(X)));
      y = this.relu(this.in2(this.conv2(y)));
      y = this.relu(this.in3(this.conv3(y)));
      y = this.res1(y);
      y = this.res2(y);
      y = this.res3(y);
      y = this.res4(y);
      y = this.res5(y);
      y = this.relu(this.in4(this.deconv1(y)));
      y = this.relu(this.in5(this.deconv2(y)));
      y = this.deconv3(y);
      return y;
    });
  }
}

class ConvLayer extends nn.Module {
  reflection_pad: torch.nn.ReflectionPad2d;
  conv2d: torch.nn.Conv2d;
  constructor(inChannels: number, outChannels: number, { kernelSize, stride }: { kernelSize: number; stride: number }) {
    super();
    const reflectionPadding = Math.floor(kernelSize / 2);
    this.reflection_pad = new nn.ReflectionPad2d(reflectionPadding);
    this.conv2d = new nn.Conv2d(inChannels, outChannels, kernelSize, stride);
  }
  forward(x: Tensor): Tensor {
    let out = this.reflection_pad(x);
    out = this.conv2d(out);
    return out;
  }
}

/** ResidualBlock, introduced in https://arxiv.org/abs/1512.03385 (recommended architecture: http://torch.ch/blog/2016/02/04/resnets.html) */
class ResidualBlock extends nn.Module {
  conv1: ConvLayer;
  in1: torch.nn.InstanceNorm2d;
  conv2: ConvLayer;
  in2: torch.nn.InstanceNorm2d;
  relu = new nn.ReLU();
  constructor(channels: number) {
    super();
    this.conv1 = new ConvLayer(channels, channels, { kernelSize: 3, stride: 1 });
    this.in1 = new nn.InstanceNorm2d(channels, { affine: true });
    this.conv2 = new ConvLayer(channels, channels, { kernelSize: 3, stride: 1 });
    this.in2 = new nn.InstanceNorm2d(channels, { affine: true });
  }
  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const residual = x;
      let out = this.relu(this.in1(this.conv1(x)));
      out = this.in2(this.conv2(out));
      out = out.add(residual);
      return out;
    });
  }
}

/**
 * UpsampleConvLayer: upsamples the input and then does a convolution. This method gives better
 * results compared to ConvTranspose2d (ref: http://distill.pub/2016/deconv-checkerboard/).
 */
class UpsampleConvLayer extends nn.Module {
  upsample: number | null;
  reflection_pad: torch.nn.ReflectionPad2d;
  conv2d: torch.nn.Conv2d;
  constructor(inChannels: number, outChannels: number, { kernelSize, stride, upsample = null }: { kernelSize: number; stride: number; upsample?: number | null }) {
    super();
    this.upsample = upsample;
    const reflectionPadding = Math.floor(kernelSize / 2);
    this.reflection_pad = new nn.ReflectionPad2d(reflectionPadding);
    this.conv2d = new nn.Conv2d(inChannels, outChannels, kernelSize, stride);
  }
  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      let xIn = x;
      if (this.upsample) xIn = nn.functional.interpolate(xIn, { mode: 'nearest', scaleFactor: this.upsample });
      let out = this.reflection_pad(xIn);
      out = this.conv2d(out);
      return out;
    });
  }
}

// ---- vgg.py ----
/** torchvision's vgg16().features: 13 3x3 convolutions with in-place ReLUs, 5 max pools. */
export function vgg16Features(): torch.nn.Sequential {
  const layers: torch.nn.TensorModule[] = [];
  let inChannels = 3;
  for (const v of [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'] as const) {
    if (v === 'M') {
      layers.push(new nn.MaxPool2d({ kernelSize: 2, stride: 2 }));
    } else {
      layers.push(new nn.Conv2d(inChannels, v, { kernelSize: 3, padding: 1 }), new nn.ReLU({ inplace: true }));
      inChannels = v;
    }
  }
  return new nn.Sequential(...layers);
}

/** VGG-16's activations after relu1_2, relu2_2, relu3_3 and relu4_3 (a named tuple: by name, or iterated in that order). */
export type VggOutputs = torch.NamedTuple<{ relu1_2: Tensor; relu2_2: Tensor; relu3_3: Tensor; relu4_3: Tensor }>;

export class Vgg16 extends nn.Module {
  slice1 = new nn.Sequential();
  slice2 = new nn.Sequential();
  slice3 = new nn.Sequential();
  slice4 = new nn.Sequential();
  /** pretrained: VGG-16's weights in torchvision's layout (features.N.weight / bias), as models.vgg16(pretrained=True) would load them. */
  constructor(pretrained: Map<string, Tensor>, requiresGrad = false) {
    super();
    const vggPretrainedFeatures = vgg16Features();
    vggPretrainedFeatures.loadStateDict(new Map([...pretrained].map(([k, t]) => [k.slice('features.'.length), t])), false);
    for (let x = 0; x < 4; x++) this.slice1.addModule(String(x), vggPretrainedFeatures.get(x));
    for (let x = 4; x < 9; x++) this.slice2.addModule(String(x), vggPretrainedFeatures.get(x));
    for (let x = 9; x < 16; x++) this.slice3.addModule(String(x), vggPretrainedFeatures.get(x));
    for (let x = 16; x < 23; x++) this.slice4.addModule(String(x), vggPretrainedFeatures.get(x));
    if (!requiresGrad) {
      for (const param of this.parameters()) param.requiresGrad = false;
    }
    // (the layers past relu4_3 are not kept: free them)
    for (let x = 23; x < vggPretrainedFeatures.length; x++) vggPretrainedFeatures.get(x).dispose();
  }
  forward(X: Tensor): VggOutputs {
    return torch.tidy(() => {
      let h = this.slice1(X);
      const hRelu1_2 = h;
      h = this.slice2(h);
      const hRelu2_2 = h;
      h = this.slice3(h);
      const hRelu3_3 = h;
      h = this.slice4(h);
      const hRelu4_3 = h;
      const out = torch.namedTuple({ relu1_2: hRelu1_2, relu2_2: hRelu2_2, relu3_3: hRelu3_3, relu4_3: hRelu4_3 });
      return out;
    });
  }
}

// ---- utils.py ----
export function gramMatrix(y: Tensor): Tensor {
  const [b, ch, h, w] = y.size();
  const features = y.view(b, ch, w * h);
  const featuresT = features.transpose(1, 2);
  const gram = features.bmm(featuresT).div(ch * h * w);
  return gram;
}

export function normalizeBatch(batch: Tensor): Tensor {
  // normalize using imagenet mean and std
  const mean = batch.newTensor([0.485, 0.456, 0.406]).view(-1, 1, 1);
  const std = batch.newTensor([0.229, 0.224, 0.225]).view(-1, 1, 1);
  batch = batch.div_(255.0);
  return batch.sub(mean).div(std);
}

// ---- neural_style.py ----
export interface TrainArgs { batchSize: number; epochs: number; lr: number; contentWeight: number; styleWeight: number; seed: number; logInterval?: number; log?: (line: string) => void }

/**
 * train: images (N, 3, S, S) and the style image (3, S, S), 0-255; VGG-16's pretrained features.
 * Gives the trained network (in eval mode) and each batch's content and style loss.
 */
export function train(args: TrainArgs, images: Tensor, styleImage: Tensor, vggWeights: Map<string, Tensor>): { transformer: TransformerNet; contentLosses: number[]; styleLosses: number[] } {
  torch.manualSeed(args.seed);

  // (ImageFolder's (image, class) pairs: one class)
  const labels = torch.zeros([images.size(0)], { dtype: 'int64' });
  const trainDataset = new torch.data.TensorDataset(images, labels);
  const trainLoader = new torch.data.DataLoader(trainDataset, { batchSize: args.batchSize });

  const transformer = new TransformerNet();
  const optimizer = new torch.optim.Adam(transformer.parameters(), args.lr);
  const mseLoss = new nn.MSELoss();

  const vgg = new Vgg16(vggWeights, false);
  const style = torch.tidy(() => {
    let style = styleImage.clone();
    style = style.repeat(args.batchSize, 1, 1, 1);
    return style;
  });

  const gramStyle = torch.tidy(() => {
    const featuresStyle = vgg(normalizeBatch(style));
    return [...featuresStyle].map((y) => gramMatrix(y));
  });
  style.dispose();

  const contentLosses: number[] = [], styleLosses: number[] = [];
  for (let e = 0; e < args.epochs; e++) {
    transformer.train();
    let aggContentLoss = 0;
    let aggStyleLoss = 0;
    let count = 0;
    let batchId = 0;
    for (const [batch, label] of trainLoader) {
      torch.tidy(() => {
        let x = batch;
        const nBatch = x.size(0);
        count += nBatch;
        optimizer.zeroGrad();

        let y = transformer(x);

        y = normalizeBatch(y);
        x = normalizeBatch(x);

        const featuresY = vgg(y);
        const featuresX = vgg(x);

        const contentLoss = mseLoss(featuresY.relu2_2, featuresX.relu2_2).mul(args.contentWeight);

        // (style_loss = 0.; style_loss += ...: 0. + t the first time, a tensor added to in place after)
        let styleLoss: Tensor | number = 0.;
        for (const [ftY, gmS] of zip(featuresY, gramStyle)) {
          const gmY = gramMatrix(ftY);
          const term = mseLoss(gmY, gmS.index(`:${nBatch}`, ':', ':'));
          styleLoss = typeof styleLoss === 'number' ? term.add(styleLoss) : styleLoss.add_(term);
        }
        styleLoss = (styleLoss as Tensor).mul_(args.styleWeight);

        const totalLoss = contentLoss.add(styleLoss);
        totalLoss.backward();
        optimizer.step();

        aggContentLoss += contentLoss.item();
        aggStyleLoss += styleLoss.item();
        contentLosses.push(contentLoss.item());
        styleLosses.push(styleLoss.item());

        if (args.logInterval && (batchId + 1) % args.logInterval === 0) {
          args.log?.(`Epoch ${e + 1}:\t[${count}/${trainDataset.length}]\tcontent: ${(aggContentLoss / (batchId + 1)).toFixed(6)}\tstyle: ${(aggStyleLoss / (batchId + 1)).toFixed(6)}\ttotal: ${((aggContentLoss + aggStyleLoss) / (batchId + 1)).toFixed(6)}`);
        }
      });
      batch.dispose();
      label.dispose();
      batchId++;
    }
  }

  // save model
  transformer.eval();
  for (const t of [...gramStyle, labels]) t.dispose();
  vgg.dispose();
  optimizer.dispose();
  return { transformer, contentLosses, styleLosses };
}

/** stylize: a saved TransformerNet state dict applied to a content image (3, H, W), 0-255; gives the output image (3, H, W). */
export function stylize(stateDict: Map<string, Tensor>, contentImage: Tensor): Tensor {
  return torch.noGrad(() => torch.tidy(() => {
    contentImage = contentImage.unsqueeze(0);
    const styleModel = new TransformerNet();
    // remove saved deprecated running_* keys in InstanceNorm from the checkpoint
    const state = new Map(stateDict);
    for (const k of [...state.keys()]) {
      if (/in\d+\.running_(mean|var)$/.test(k)) state.delete(k);
    }
    styleModel.loadStateDict(state);
    styleModel.eval();
    const output = styleModel(contentImage);
    styleModel.dispose();
    return output.index(0);
  }));
}

function* zip<A, B>(a: Iterable<A>, b: Iterable<B>): Generator<[A, B]> {
  const ib = b[Symbol.iterator]();
  for (const x of a) {
    const y = ib.next();
    if (y.done) return;
    yield [x, y.value];
  }
}

/** n smooth random RGB images (n, 3, size, size) in 0-255, as ToTensor().mul(255) gives a photograph's. */
export function images(n: number, size: number, seed: number): Tensor {
  return torch.tidy(() => {
    const gen = new torch.Generator().manualSeed(seed);
    const coarse = torch.rand([n, 3, 5, 5], { generator: gen });
    return nn.functional.interpolate(coarse, { size: [size, size], mode: 'bilinear', alignCorners: false }).mul(255);
  });
}

/** Stand-in "pretrained" VGG-16 features (features.N.weight / bias) drawn from a seed, at torchvision's init scale (kaiming normal, fan_out). */
export function seededVggWeights(seed: number): Map<string, Tensor> {
  return torch.tidy(() => {
    const gen = new torch.Generator().manualSeed(seed);
    const out = new Map<string, Tensor>();
    const features = vgg16Features();
    for (const [name, p] of features.namedParameters()) {
      const t = name.endsWith('.weight')
        ? torch.randn(p.shape, { generator: gen }).mul(Math.sqrt(2 / (p.shape[0] * p.shape[2] * p.shape[3])))
        : torch.randn(p.shape, { generator: gen }).mul(0.01);
      out.set(`features.${name}`, torch.keep(t));
    }
    features.dispose();
    return out;
  });
}

if (require.main === module) {
  const i = process.argv.indexOf('--epochs');
  const train_ = images(16, 64, 0), styleImage = images(1, 64, 1).index(0), content = images(1, 96, 2).index(0);
  const vggWeights = seededVggWeights(3);
  const { transformer } = train({ batchSize: 4, epochs: i >= 0 ? Number(process.argv[i + 1]) : 2, lr: 1e-3, contentWeight: 1e5, styleWeight: 1e10, seed: 42, logInterval: 1, log: console.log }, train_, styleImage, vggWeights);
  const output = stylize(transformer.stateDict(), content);
  console.log(`stylized: ${JSON.stringify(output.shape)}, values ${output.min().item().toFixed(1)} .. ${output.max().item().toFixed(1)}`);
}
