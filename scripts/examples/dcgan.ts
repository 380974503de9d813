// PyTorch's examples/dcgan (main.py, BSD-3-Clause) ported as written with tstorch: the Generator
// (transposed convolutions, BatchNorm, ReLU(True), Tanh) and Discriminator (convolutions,
// LeakyReLU(0.2, inplace=True), BatchNorm, Sigmoid) as nn.Sequential stacks, weights_init by
// class name through apply(), BCELoss, two Adams and the alternating D / G updates. No dataset can
// be downloaded here, so the "images" are synthetic 64×64 colour blobs; test/dcgan.test.ts runs
// it beside the Python original on the same images.
//   node dist/scripts/examples/dcgan.js [--niter 2] [--images 256]
import * as torch from '../../lib';

const nn = torch.nn;

export interface DCGANOptions {
  /** size of the latent z vector */
  nz?: number;
  ngf?: number;
  ndf?: number;
  /** colour channels */
  nc?: number;
  batchSize?: number;
  niter?: number;
  lr?: number;
  beta1?: number;
  manualSeed?: number;
  log?: (line: string) => void;
}

/** custom weights initialization called on netG and netD */
export function weightsInit(m: torch.nn.Module): void {
  const classname = m.constructor.name;
  const w = m as unknown as { weight: torch.Tensor; bias: torch.Tensor };
  if (classname.includes('Conv')) {
    nn.init.normal_(w.weight, 0.0, 0.02);
  } else if (classname.includes('BatchNorm')) {
    nn.init.normal_(w.weight, 1.0, 0.02);
    nn.init.zeros_(w.bias);
  }
}

export class Generator extends nn.Module {
  declare main: torch.nn.Sequential;
  constructor(nz: number, ngf: number, nc: number) {
    super();
    this.main = new nn.Sequential(
      // input is Z, going into a convolution
      new nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, { bias: false }),
      new nn.BatchNorm2d(ngf * 8),
      new nn.ReLU(true),
      // state size. (ngf*8) x 4 x 4
      new nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, { bias: false }),
      new nn.BatchNorm2d(ngf * 4),
      new nn.ReLU(true),
      // state size. (ngf*4) x 8 x 8
      new nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, { bias: false }),
      new nn.BatchNorm2d(ngf * 2),
      new nn.ReLU(true),
      // state size. (ngf*2) x 16 x 16
      new nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, { bias: false }),
      new nn.BatchNorm2d(ngf),
      new nn.ReLU(true),
      // state size. (ngf) x 32 x 32
      new nn.ConvTranspose2d(ngf, nc, 4, 2, 1, { bias: false }),
      new nn.Tanh(),
      // state size. (nc) x 64 x 64
    );
  }
  forward(input: torch.Tensor): torch.Tensor {
    return this.main(input);
  }
}

export class Discriminator extends nn.Module {
  declare main: torch.nn.Sequential;
  constructor(ndf: number, nc: number) {
    super();
    this.main = new nn.Sequential(
      // input is (nc) x 64 x 64
      new nn.Conv2d(nc, ndf, 4, 2, 1, { bias: false }),
      new nn.LeakyReLU(0.2, { inplace: true }),
      // state size. (ndf) x 32 x 32
      new nn.Conv2d(ndf, ndf * 2, 4, 2, 1, { bias: false }),
      new nn.BatchNorm2d(ndf * 2),
      new nn.LeakyReLU(0.2, { inplace: true }),
      // state size. (ndf*2) x 16 x 16
      new nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, { bias: false }),
      new nn.BatchNorm2d(ndf * 4),
      new nn.LeakyReLU(0.2, { inplace: true }),
      // state size. (ndf*4) x 8 x 8
      new nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, { bias: false }),
      new nn.BatchNorm2d(ndf * 8),
      new nn.LeakyReLU(0.2, { inplace: true }),
      // state size. (ndf*8) x 4 x 4
      new nn.Conv2d(ndf * 8, 1, 4, 1, 0, { bias: false }),
      new nn.Sigmoid(),
    );
  }
  forward(input: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      const output = this.main(input);
      return output.view(-1, 1).squeeze(1);
    });
  }
}

/** One line of main.py's log per iteration: the losses and D's outputs. */
export interface DCGANStep { errD: number; errG: number; D_x: number; D_G_z1: number; D_G_z2: number }

/** main.py from the seed on, over images (N, nc, 64, 64) in [-1, 1]. */
export function run(images: torch.Tensor, o: DCGANOptions = {}): { netG: Generator; netD: Discriminator; steps: DCGANStep[]; fake: torch.Tensor } {
  const nz = o.nz ?? 100, ngf = o.ngf ?? 64, ndf = o.ndf ?? 64, nc = o.nc ?? 3;
  torch.manualSeed(o.manualSeed ?? 999);
  const dataset = new torch.data.TensorDataset(images);
  const dataloader = new torch.data.DataLoader(dataset, { batchSize: o.batchSize ?? 64, shuffle: true });

  const netG = new Generator(nz, ngf, nc);
  netG.apply(weightsInit);
  const netD = new Discriminator(ndf, nc);
  netD.apply(weightsInit);

  const criterion = new nn.BCELoss();
  const fixedNoise = torch.randn(o.batchSize ?? 64, nz, 1, 1);
  const realLabel = 1;
  const fakeLabel = 0;

  // setup optimizer
  const optimizerD = new torch.optim.Adam(netD.parameters(), { lr: o.lr ?? 0.0002, betas: [o.beta1 ?? 0.5, 0.999] });
  const optimizerG = new torch.optim.Adam(netG.parameters(), { lr: o.lr ?? 0.0002, betas: [o.beta1 ?? 0.5, 0.999] });

  const steps: DCGANStep[] = [];
  for (let epoch = 0; epoch < (o.niter ?? 25); epoch++) {
    let i = 0;
    for (const data of dataloader) {
      torch.tidy(() => {
        // (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        // train with real
        netD.zeroGrad();
        const realCpu = data[0];
        const batchSize = realCpu.size(0);
        const label = torch.full([batchSize], realLabel, { dtype: realCpu.dtype });
        let output = netD(realCpu);
        const errDReal = criterion(output, label);
        errDReal.backward();
        const D_x = output.mean().item();

        // train with fake
        const noise = torch.randn(batchSize, nz, 1, 1);
        const fake = netG(noise);
        label.fill_(fakeLabel);
        output = netD(fake.detach());
        const errDFake = criterion(output, label);
        errDFake.backward();
        const D_G_z1 = output.mean().item();
        const errD = errDReal.add(errDFake);
        optimizerD.step();

        // (2) Update G network: maximize log(D(G(z)))
        netG.zeroGrad();
        label.fill_(realLabel); // fake labels are real for generator cost
        output = netD(fake);
        const errG = criterion(output, label);
        errG.backward();
        const D_G_z2 = output.mean().item();
        optimizerG.step();

        steps.push({ errD: errD.item(), errG: errG.item(), D_x, D_G_z1, D_G_z2 });
        o.log?.(`[${epoch}/${o.niter ?? 25}][${i}/${dataloader.length}] Loss_D: ${errD.item().toFixed(4)} Loss_G: ${errG.item().toFixed(4)} D(x): ${D_x.toFixed(4)} D(G(z)): ${D_G_z1.toFixed(4)} / ${D_G_z2.toFixed(4)}`);
      });
      data[0].dispose();
      i++;
    }
  }
  const fake = torch.noGrad(() => netG(fixedNoise));
  for (const t of [fixedNoise]) t.dispose();
  optimizerD.dispose();
  optimizerG.dispose();
  return { netG, netD, steps, fake };
}

/** n synthetic 64×64 colour images in [-1, 1]: a soft blob of a random colour at a random place on a dark ground. */
export function syntheticImages(n: number, seed: number): torch.Tensor {
  return torch.tidy(() => {
    const gen = new torch.Generator().manualSeed(seed);
    const centre = torch.rand([n, 2, 1, 1], { generator: gen }).mul(40).add(12);
    const colour = torch.rand([n, 3, 1, 1], { generator: gen });
    const ys = torch.arange(64, { dtype: 'float32' }).view(1, 1, 64, 1), xs = torch.arange(64, { dtype: 'float32' }).view(1, 1, 1, 64);
    const d2 = ys.sub(centre.index(':', [0])).pow(2).add(xs.sub(centre.index(':', [1])).pow(2));
    const blob = d2.div(-2 * 8 * 8).exp();
    return blob.mul(colour).mul(2).sub(1);
  });
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const flag = (name: string, dflt: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const images = syntheticImages(flag('images', 256), 0);
  run(images, { niter: flag('niter', 2), ngf: 32, ndf: 32, batchSize: 32, log: console.log });
}
