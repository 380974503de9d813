// torch.amp.GradScaler: loss scaling for float16 mixed precision. The loss is multiplied by a
// large scale before backward so small float16 gradients do not flush to zero; gradients are
// divided by it before the optimizer step, a step with an inf or NaN gradient is skipped, and the
// scale shrinks after such a step and grows after growthInterval clean ones (PyTorch's rules).
// bfloat16 (the Trainer's --precision bf16) has float32's range and needs none of this.
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/creation';
import { noGrad } from '../tensor/runtime';
import { tidy } from '../tensor/scope';
import { stack } from '../tensor/ops';
import { optionsOf, PositionalOr } from '../tensor/options';

type GradScalerArgs = [initScale?: number, growthFactor?: number, backoffFactor?: number, growthInterval?: number, enabled?: boolean];

export interface GradScalerOptions {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
  /** false: every method passes through (scale() returns the loss, step() just steps) */
  enabled?: boolean;
}
/** What the scaler needs of an optimizer. */
interface ScalableOptimizer {
  paramGroups: { params: Tensor[] }[];
  step(): void;
}

export class GradScaler {
  readonly growthFactor: number;
  readonly backoffFactor: number;
  readonly growthInterval: number;
  readonly enabled: boolean;
  private scaleValue: number;
  private growthTracker = 0;
  // Per optimizer since the last update(): unscaled already, and whether an inf / NaN was found.
  private perOptimizer = new Map<ScalableOptimizer, { unscaled: boolean; foundInf: boolean }>();

  /** torch.amp.GradScaler(device, initScale, growthFactor, backoffFactor, growthInterval, enabled) (the device may be left out, as torch.cuda.amp's), or an options object */
  constructor(...args: [device: string, ...rest: PositionalOr<GradScalerArgs, GradScalerOptions & { device?: string }>] | PositionalOr<GradScalerArgs, GradScalerOptions & { device?: string }>) {
    const device = typeof args[0] === 'string' ? args.shift() : undefined;
    const opts = optionsOf<GradScalerOptions & { device?: string }>('GradScaler', args, ['initScale', 'growthFactor', 'backoffFactor', 'growthInterval', 'enabled'], { extra: ['device'] });
    if (device !== undefined && opts.device !== undefined) throw new Error('GradScaler: device is given twice, by position and in the options object');
    this.scaleValue = opts.initScale ?? 2 ** 16;
    this.growthFactor = opts.growthFactor ?? 2;
    this.backoffFactor = opts.backoffFactor ?? 0.5;
    this.growthInterval = opts.growthInterval ?? 2000;
    this.enabled = opts.enabled ?? true;
    if (!(this.growthFactor > 1)) throw new Error(`GradScaler: growthFactor should be > 1, got ${this.growthFactor}`);
    if (!(this.backoffFactor > 0 && this.backoffFactor < 1)) throw new Error(`GradScaler: backoffFactor should be in (0, 1), got ${this.backoffFactor}`);
    if (!(Number.isInteger(this.growthInterval) && this.growthInterval > 0)) throw new Error(`GradScaler: growthInterval should be a positive integer, got ${this.growthInterval}`);
  }

  /** The loss (or losses) times the current scale: call backward() on that. */
  scale(outputs: Tensor): Tensor;
  scale(outputs: Tensor[]): Tensor[];
  scale(outputs: Tensor | Tensor[]): Tensor | Tensor[] {
    if (!this.enabled) return outputs;
    // (as PyTorch: the scale is a float32 tensor, so the product rounds as float32 would)
    const mul = (t: Tensor) => tidy(() => t.mul(tensor(this.scaleValue, { dtype: 'float32', device: t.device })));
    return Array.isArray(outputs) ? outputs.map(mul) : mul(outputs);
  }

  /** Divides the optimizer's gradients by the scale (in place), noting any inf or NaN; before clipping, say. */
  unscale_(optimizer: ScalableOptimizer): void {
    if (!this.enabled) return;
    const state = this.stateOf(optimizer);
    if (state.unscaled) throw new Error('unscale_() has already been called on this optimizer since the last update()');
    // PyTorch's inv_scale: the float32 scale's reciprocal computed in double, then float32.
    const inv = Math.fround(1 / Math.fround(this.scaleValue));
    state.foundInf = noGrad(() => tidy(() => {
      const flags: Tensor[] = [];
      for (const g of optimizer.paramGroups) {
        for (const p of g.params) {
          const grad = p.grad;
          if (!grad) continue;
          grad.mul_(inv);
          flags.push(grad.isfinite().all().logicalNot());
        }
      }
      return flags.length > 0 && (stack(flags).any().item<boolean>());
    }));
    state.unscaled = true;
  }

  /** Unscales (unless unscale_ was called) and steps the optimizer, unless a gradient was inf or NaN. Returns whether it stepped. */
  step(optimizer: ScalableOptimizer): boolean {
    if (!this.enabled) {
      optimizer.step();
      return true;
    }
    const state = this.stateOf(optimizer);
    if (!state.unscaled) this.unscale_(optimizer);
    if (state.foundInf) return false;
    optimizer.step();
    return true;
  }

  /** After each iteration's step(s): shrinks the scale if any step found inf / NaN, else grows it every growthInterval clean iterations. */
  update(newScale?: number): void {
    if (!this.enabled) return;
    if (newScale !== undefined) {
      if (!(newScale > 0)) throw new Error(`GradScaler.update: the new scale must be positive, got ${newScale}`);
      this.scaleValue = Math.fround(newScale);
    } else {
      if (this.perOptimizer.size === 0) throw new Error('GradScaler.update: no inf checks were recorded prior to update (call step() first)');
      const foundInf = [...this.perOptimizer.values()].some((s) => s.foundInf);
      // _amp_update_scale_, in float32 as the scale tensor is
      if (foundInf) {
        this.scaleValue = Math.fround(this.scaleValue * Math.fround(this.backoffFactor));
        this.growthTracker = 0;
      } else if (this.growthTracker + 1 === this.growthInterval) {
        const grown = Math.fround(this.scaleValue * Math.fround(this.growthFactor));
        if (Number.isFinite(grown)) this.scaleValue = grown;
        this.growthTracker = 0;
      } else {
        this.growthTracker += 1;
      }
    }
    this.perOptimizer.clear();
  }

  getScale(): number {
    return this.enabled ? this.scaleValue : 1;
  }
  getGrowthTracker(): number {
    return this.growthTracker;
  }
  /** PyTorch's state_dict: scale, growth_factor, backoff_factor, growth_interval, _growth_tracker. */
  stateDict(): { scale: number; growth_factor: number; backoff_factor: number; growth_interval: number; _growth_tracker: number } {
    return { scale: this.scaleValue, growth_factor: this.growthFactor, backoff_factor: this.backoffFactor, growth_interval: this.growthInterval, _growth_tracker: this.growthTracker };
  }
  loadStateDict(sd: { scale: number; _growth_tracker: number }): void {
    if (!(sd.scale > 0)) throw new Error('GradScaler.loadStateDict: the state dict has no positive scale');
    this.scaleValue = sd.scale;
    this.growthTracker = sd._growth_tracker ?? 0;
  }

  private stateOf(optimizer: ScalableOptimizer) {
    let s = this.perOptimizer.get(optimizer);
    if (!s) {
      s = { unscaled: false, foundInf: false };
      this.perOptimizer.set(optimizer, s);
    }
    return s;
  }
}
