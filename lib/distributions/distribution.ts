// torch.distributions' base class, constraints and helpers. Formulas, sampling order (so that
// the same seed draws the same numbers) and argument validation follow PyTorch's
// torch/distributions; each class cites nothing but reproduces its Python counterpart.
import { Tensor } from '../tensor/tensor';
import { tensor } from '../tensor/creation';
import { noGrad } from '../tensor/runtime';
import { tidy } from '../tensor/scope';
import { keywordOptions, optionsOf, PositionalOr } from '../tensor/options';
import { defaults, finfo, isFloatingDtype, DType } from '../tensor/dtype';
import * as linalg from '../tensor/linalg';

export type Shape = number[];
/** A parameter: a tensor, or a number (made a tensor of the other parameters' dtype, or the default dtype). */
export type Param = Tensor | number;

/** A set of valid values: check(x) is true where x is in it (over the last eventDim dims). */
export interface Constraint {
  readonly name: string;
  readonly eventDim: number;
  check(x: Tensor): Tensor;
}
const constraint = (name: string, check: (x: Tensor) => Tensor, eventDim = 0): Constraint => ({ name, check, eventDim });

export const constraints = {
  real: constraint('Real()', (x) => x.eq(x)),
  positive: constraint('GreaterThan(lower_bound=0.0)', (x) => x.gt(0)),
  nonnegative: constraint('GreaterThanEq(lower_bound=0.0)', (x) => x.ge(0)),
  unitInterval: constraint('Interval(lower_bound=0.0, upper_bound=1.0)', (x) => x.ge(0).logicalAnd(x.le(1))),
  boolean: constraint('Boolean()', (x) => x.eq(0).logicalOr(x.eq(1))),
  nonnegativeInteger: constraint('IntegerGreaterThan(lower_bound=0)', (x) => x.remainder(1).eq(0).logicalAnd(x.ge(0))),
  integerInterval: (low: number, high: number) =>
    constraint(`IntegerInterval(lower_bound=${low}, upper_bound=${high})`, (x) => x.remainder(1).eq(0).logicalAnd(x.ge(low)).logicalAnd(x.le(high))),
  interval: (low: Tensor, high: Tensor) => constraint('Interval(lower_bound=low, upper_bound=high)', (x) => x.ge(low).logicalAnd(x.le(high))),
  realVector: constraint('IndependentConstraint(Real(), 1)', (x) => x.eq(x).all(-1), 1),
  positiveVector: constraint('IndependentConstraint(GreaterThan(lower_bound=0.0), 1)', (x) => x.gt(0).all(-1), 1),
  simplex: constraint('Simplex()', (x) => x.ge(0).all(-1).logicalAnd(x.sum(-1).sub(1).abs().lt(1e-6)), 1),
  positiveDefinite: constraint('PositiveDefinite()', (x) => {
    const symmetric = x.isclose(x.transpose(-2, -1), { atol: 1e-6 }).all(-1).all(-1);
    return symmetric.logicalAnd(linalg.eigvalsh(x).gt(0).all(-1));
  }, 2),
  lowerCholesky: constraint('LowerCholesky()', (x) => {
    const lower = x.tril().eq(x).flatten(-2).all(-1);
    return lower.logicalAnd(x.diagonal(0, -2, -1).gt(0).all(-1));
  }, 2),
};

/** A distribution's options: { validateArgs }, or PyTorch's positional validate_args (a boolean). */
export type DistributionOptions = { validateArgs?: boolean } | boolean;
/** validateArgs from a distribution's options, checked (a misspelt key would quietly not validate). */
function validateArgsOf(what: string, opts: DistributionOptions | null | undefined): boolean | undefined {
  if (opts === undefined || opts === null) return undefined;
  if (typeof opts === 'boolean') return opts;
  return keywordOptions<{ validateArgs?: boolean }>(what, opts, ['validateArgs']).validateArgs;
}

/** A distribution's constructor arguments: its parameters P by position (PyTorch's order), then validateArgs, or any of them by name in one object. */
export type DistArgs<P extends unknown[], O> = PositionalOr<[...P, validateArgs?: boolean | null], O & { validateArgs?: boolean | null }>;
/**
 * A distribution's parameters as PyTorch takes them: by position (new Normal(0, 1)) or by name
 * (new Normal({ loc: 0, scale: 1 }), Python's Normal(loc=0, scale=1)), then validateArgs either
 * way; those not given take `defaults`. A missing one, a misspelt name or a stray argument is an error.
 */
export function distributionArgs<P extends unknown[]>(what: string, keys: string[], args: unknown[], defaults: Record<string, unknown> = {}): [P, boolean | undefined] {
  const o = optionsOf<Record<string, unknown>>(what, args, [...keys, 'validateArgs']);
  const values = keys.map((k) => o[k] ?? defaults[k]);
  const missing = keys.filter((_, i) => values[i] === undefined || values[i] === null);
  if (missing.length) throw new Error(`${what}: give ${missing.join(' and ')} (by position, or by name: new ${what}({ ${keys.join(', ')} }))`);
  return [values as P, (o.validateArgs ?? undefined) as boolean | undefined];
}

/** torch.broadcast_shapes (the tensor layer's). */
export { broadcastShapes } from '../tensor/ops';
import { broadcastShapes } from '../tensor/ops';

/** PyTorch's broadcast_all: numbers become tensors (dtype and device of the first tensor), then all broadcast. */
export function broadcastAll(...values: Param[]): Tensor[] {
  const first = values.find((v): v is Tensor => v instanceof Tensor);
  const made = values.map((v) => {
    if (v instanceof Tensor) return v;
    if (typeof v !== 'number') throw new Error('distribution parameters must be numbers or tensors');
    return tensor(v, { dtype: first?.dtype ?? defaults.floatDtype, device: first?.device ?? defaults.device });
  });
  const shape = broadcastShapes(...made.map((t) => t.shape));
  return made.map((t) => t.expand(shape));
}

/** broadcastAll's tensors and the batch shape PyTorch gives them: [] when every parameter is a number. */
export function batchParams(...values: Param[]): [Shape, Tensor[]] {
  const ts = broadcastAll(...values);
  return [values.every((v) => typeof v === 'number') ? [] : ts[0].shape, ts];
}

const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((d, k) => d === b[k]);
const fmt = (s: Shape) => `[${s.join(', ')}]`;

let defaultValidateArgs = true;

// The methods and getters whose intermediates are freed: each runs in its own tidy(), so that
// dist.logProb(x) outside a scope leaves only its result (a chain such as Beta's logProb made a
// dozen tensors per call). Wrapped once per class, on first construction.
const SCOPED = ['logProb', 'entropy', 'sample', 'rsample', 'sampleN', 'cdf', 'icdf', 'perplexity', 'enumerateSupport', 'mean', 'mode', 'variance', 'stddev'];
const scoped = new WeakSet<object>();
function scopeMethods(proto: object): void {
  for (let p = proto; p && p !== Object.prototype && !scoped.has(p); p = Object.getPrototypeOf(p)) {
    scoped.add(p);
    for (const k of SCOPED) {
      const d = Object.getOwnPropertyDescriptor(p, k);
      if (!d) continue;
      if (typeof d.value === 'function') {
        const f = d.value as (...a: unknown[]) => unknown;
        Object.defineProperty(p, k, { ...d, value(this: unknown, ...a: unknown[]) { return tidy(() => f.apply(this, a)); } });
      } else if (d.get) {
        const g = d.get;
        Object.defineProperty(p, k, { ...d, get(this: unknown) { return tidy(() => g.call(this)); } });
      }
    }
  }
}

export abstract class Distribution {
  /** PyTorch's Distribution.set_default_validate_args: whether new distributions check their parameters and values. */
  static setDefaultValidateArgs(value: boolean): void {
    defaultValidateArgs = value;
  }

  readonly batchShape: Shape;
  readonly eventShape: Shape;
  readonly validateArgs: boolean;
  /** the parameters' constraints, checked on construction when validateArgs */
  protected get argConstraints(): Record<string, Constraint> {
    return {};
  }
  /** the values log_prob accepts (checked when validateArgs); null: not checked */
  get support(): Constraint | null {
    return null;
  }
  /** whether rsample (samples gradients flow through) is implemented */
  get hasRsample(): boolean {
    return false;
  }

  /** validateArgs: the subclass's options as given ({ validateArgs } or PyTorch's positional boolean), checked here */
  protected constructor(batchShape: Shape, eventShape: Shape = [], validateArgs?: DistributionOptions | null) {
    this.batchShape = batchShape;
    this.eventShape = eventShape;
    this.validateArgs = validateArgsOf(new.target.name, validateArgs) ?? defaultValidateArgs;
    scopeMethods(new.target.prototype);
  }

  /** Checks every parameter against its constraint (a subclass calls this once its fields are set). */
  protected checkArgs(): void {
    if (!this.validateArgs) return;
    for (const [name, c] of Object.entries(this.argConstraints)) {
      const value = (this as unknown as Record<string, unknown>)[name];
      if (!(value instanceof Tensor)) continue;
      const ok = tidy(() => noGrad(() => c.check(value).all().item<boolean>()));
      if (!ok) {
        throw new Error(`Expected parameter ${name} (Tensor of shape ${fmt(value.shape)}) of distribution ${this} to satisfy the constraint ${c.name}, but found invalid values:\n${value}`);
      }
    }
  }

  /** sampleShape + batchShape + eventShape */
  protected extendedShape(sampleShape: Shape = []): Shape {
    return [...sampleShape, ...this.batchShape, ...this.eventShape];
  }

  /** PyTorch's _validate_sample: value's trailing dims must fit, and value must lie in the support. */
  protected validateSample(value: Tensor): void {
    if (!this.validateArgs) return;
    if (!(value instanceof Tensor)) throw new Error('The value argument to logProb must be a Tensor');
    const shape = value.shape, ev = this.eventShape;
    if (!sameShape(shape.slice(shape.length - ev.length), ev)) {
      throw new Error(`The right-most size of value must match eventShape: ${fmt(shape)} vs ${fmt(ev)}.`);
    }
    const expected = [...this.batchShape, ...ev];
    for (let i = 1; i <= Math.min(shape.length, expected.length); i++) {
      const a = shape[shape.length - i], b = expected[expected.length - i];
      if (a !== 1 && b !== 1 && a !== b) throw new Error(`Value is not broadcastable with batchShape+eventShape: ${fmt(shape)} vs ${fmt(expected)}.`);
    }
    const support = this.support;
    if (!support) return;
    const ok = tidy(() => noGrad(() => support.check(value).all().item<boolean>()));
    if (!ok) {
      throw new Error(`Expected value argument (Tensor of shape ${fmt(shape)}) to be within the support (${support.name}) of the distribution ${this}, but found invalid values:\n${value}`);
    }
  }

  get mean(): Tensor {
    throw new Error(`${this.constructor.name} does not implement mean`);
  }
  get mode(): Tensor {
    throw new Error(`${this.constructor.name} does not implement mode`);
  }
  get variance(): Tensor {
    throw new Error(`${this.constructor.name} does not implement variance`);
  }
  get stddev(): Tensor {
    return this.variance.sqrt();
  }
  /** Draws of shape sampleShape + batchShape + eventShape, without gradients. */
  sample(sampleShape: Shape = []): Tensor {
    return noGrad(() => this.rsample(sampleShape));
  }
  /** Reparameterized draws: gradients flow to the parameters (where hasRsample). */
  rsample(_sampleShape: Shape = []): Tensor {
    throw new Error(`${this.constructor.name} has no rsample (no reparameterized sampling); use sample()`);
  }
  logProb(_value: Tensor): Tensor {
    throw new Error(`${this.constructor.name} does not implement logProb`);
  }
  cdf(_value: Tensor): Tensor {
    throw new Error(`${this.constructor.name} does not implement cdf`);
  }
  icdf(_value: Tensor): Tensor {
    throw new Error(`${this.constructor.name} does not implement icdf`);
  }
  entropy(): Tensor {
    throw new Error(`${this.constructor.name} does not implement entropy`);
  }
  perplexity(): Tensor {
    return this.entropy().exp();
  }

  /** PyTorch's repr: Normal(loc: torch.Size([3]), scale: torch.Size([3])), one-element parameters by value. */
  toString(): string {
    const parts = Object.keys(this.argConstraints)
      .filter((k) => (this as unknown as Record<string, unknown>)[k] instanceof Tensor)
      .map((k) => {
        const t = (this as unknown as Record<string, Tensor>)[k];
        return `${k}: ${t.isDisposed ? '<disposed>' : t.numel() === 1 ? String(t) : `torch.Size(${fmt(t.shape)})`}`;
      });
    return `${this.constructor.name}(${parts.join(', ')})`;
  }
}

// (torch.finfo of the dtype; any other dtype as float32, the default)
const floatInfo = (dtype: string) => finfo(isFloatingDtype(dtype as DType) ? (dtype as DType) : 'float32');
/** The probabilities' eps (the dtype's machine epsilon), as torch.finfo(dtype).eps. */
export const finfoEps = (dtype: string): number => floatInfo(dtype).eps;
/** torch.finfo(dtype).tiny (the smallest normal number) and .min (the most negative). */
export const finfoTiny = (dtype: string): number => floatInfo(dtype).tiny;
export const finfoMin = (dtype: string): number => floatInfo(dtype).min;
/** probs clamped into [eps, 1 - eps], then to logits (log-odds when binary) */
export function probsToLogits(probs: Tensor, isBinary = false): Tensor {
  const eps = finfoEps(probs.dtype);
  const p = probs.clamp(eps, 1 - eps);
  return isBinary ? p.log().sub(p.neg().log1p()) : p.log();
}
