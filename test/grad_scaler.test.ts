// torch.amp.GradScaler: PyTorch's rules (torch/cuda/amp/grad_scaler.py and _amp_update_scale_),
// checked on the CPU against the same steps taken without scaling: a power-of-two scale makes
// scaling and unscaling exact, so the scaled run's weights equal the plain run's bit for bit;
// an inf or NaN gradient skips the step and halves the scale; clean steps grow it.
import * as torch from '../lib';

type T = torch.Tensor;
const { GradScaler } = torch.amp;

function setup() {
  torch.manualSeed(0);
  const net = new torch.nn.Sequential(new torch.nn.Linear(4, 8), new torch.nn.Tanh(), new torch.nn.Linear(8, 1));
  const opt = new torch.optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
  return { net, opt };
}
const x = () => torch.linspace(-1, 1, 12).reshape([3, 4]);
const loss = (net: torch.nn.Sequential) => (net.forward(x()) as T).pow(2).mean();

test('scaled steps equal unscaled ones exactly; unscale_ before clipping; the scale grows after growthInterval clean steps', () => {
  const plain = setup(), scaled = setup();
  const scaler = new GradScaler({ initScale: 1024, growthInterval: 3 });
  const scales: number[] = [];
  for (let step = 0; step < 7; step++) {
    torch.tidy(() => {
      plain.opt.zeroGrad();
      loss(plain.net).backward();
      torch.nn.utils.clipGradNorm(plain.net.parameters(), 0.5);
      plain.opt.step();

      scaled.opt.zeroGrad();
      const l = loss(scaled.net);
      scaler.scale(l).backward();
      scaler.unscale_(scaled.opt); // so that clipping sees the true gradients
      torch.nn.utils.clipGradNorm(scaled.net.parameters(), 0.5);
      expect(scaler.step(scaled.opt)).toBe(true);
      scaler.update();
      scales.push(scaler.getScale());
    });
  }
  expect(scales).toEqual([1024, 1024, 2048, 2048, 2048, 4096, 4096]);
  plain.net.parameters().forEach((p, k) => expect(p.equal(scaled.net.parameters()[k])).toBe(true));
  for (const s of [plain, scaled]) { s.net.dispose(); s.opt.dispose(); }
});

test('an inf or NaN gradient skips the step and backs the scale off; state dict round trip; misuse is a clear error', () => {
  const { net, opt } = setup();
  const scaler = new GradScaler({ initScale: 2 ** 16, growthInterval: 2 });
  const before = net.parameters().map((p) => torch.keep(p.clone()));
  torch.tidy(() => {
    opt.zeroGrad();
    scaler.scale(loss(net)).backward();
    net.parameters()[0].grad!.index(0, 0).fill_(Infinity); // an overflow, as float16 would make
    expect(scaler.step(opt)).toBe(false);
    scaler.update();
  });
  net.parameters().forEach((p, k) => expect(p.equal(before[k])).toBe(true)); // skipped
  expect(scaler.getScale()).toBe(2 ** 15);
  expect(scaler.getGrowthTracker()).toBe(0);
  torch.tidy(() => {
    opt.zeroGrad();
    scaler.scale(loss(net)).backward();
    net.parameters()[1].grad!.index(0).fill_(NaN);
    expect(scaler.step(opt)).toBe(false);
    scaler.update();
  });
  expect(scaler.getScale()).toBe(2 ** 14);
  const sd = scaler.stateDict();
  expect(sd).toEqual({ scale: 2 ** 14, growth_factor: 2, backoff_factor: 0.5, growth_interval: 2, _growth_tracker: 0 });
  const again = new GradScaler({ growthInterval: 2 });
  again.loadStateDict(JSON.parse(JSON.stringify(sd)));
  expect(again.getScale()).toBe(2 ** 14);
  torch.tidy(() => {
    opt.zeroGrad();
    scaler.scale(loss(net)).backward();
    scaler.unscale_(opt);
    expect(() => scaler.unscale_(opt)).toThrow('unscale_() has already been called on this optimizer since the last update()');
    scaler.step(opt);
    scaler.update();
  });
  expect(() => scaler.update()).toThrow(/no inf checks were recorded/);
  expect(() => new GradScaler({ backoffFactor: 2 })).toThrow(/backoffFactor should be in \(0, 1\)/);
  const off = new GradScaler({ enabled: false });
  torch.tidy(() => {
    const l = loss(net);
    expect(off.scale(l)).toBe(l);
    expect(off.getScale()).toBe(1);
  });
  before.forEach((t) => t.dispose());
  net.dispose();
  opt.dispose();
});
