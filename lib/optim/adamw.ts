// AdamW with PyTorch's exact update (torch.optim.AdamW, single-tensor path; AMSGrad and maximize too):
//   p *= 1 - lr·wd;  m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²
//   p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)
// State lives in libtorch tensors, updated in place under noGrad. Only parameters that
// require grad get state (a frozen base costs nothing).
import { Tensor } from '../tensor/tensor';
import { zerosLike } from '../tensor/creation';
import { noGrad } from '../tensor/runtime';
import { tidy, keep } from '../tensor/scope';
import { native } from '../tensor/native';
import { _id as id } from '../tensor/tensor';
import { ImplementationFlags, PositionalOr, optimizerOptions, paramGroups, addParamGroup, zeroGradients, rejectSparseGrads } from './groups';
import { TorchOptimizerStateDict, FlatOptimizerStateDict, torchLayout, flatLayout, StateKey } from './state_dict';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** AMSGrad: the denominator uses the largest second moment so far */
  amsgrad?: boolean;
  /** ascend instead of descend */
  maximize?: boolean;
}

export interface AdamWImplOptions {
  /** true (default): libtorch's multi-tensor _foreach kernels, one crossing per group; false: the
   *  readable per-tensor reference below (the two are tested against each other) */
  foreach?: boolean;
}

export interface ParamGroup extends Required<AdamWOptions> {
  params: Tensor[];
  /** names for state save/load; index-based when absent */
  names?: string[];
}

interface ParamState {
  step: number;
  expAvg: Tensor;
  expAvgSq: Tensor;
  /** amsgrad: the largest exp_avg_sq so far */
  maxExpAvgSq?: Tensor;
}

export type ParamsOrGroups = Tensor[] | (AdamWOptions & { params: Tensor[]; names?: string[] })[];

export class AdamW {
  readonly paramGroups: ParamGroup[];
  private state = new Map<Tensor, ParamState>();

  readonly foreach: boolean;
  readonly defaults: Required<AdamWOptions>;

  /**
   * PyTorch's AdamW(params, lr, betas, eps, weightDecay, amsgrad), or an options object after
   * params (or after the positional ones); its defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8,
   * weight decay 1e-2. fused is taken; foreach (default) is libtorch's multi-tensor step.
   */
  constructor(params: ParamsOrGroups, ...args: PositionalOr<[lr?: number, betas?: [number, number], eps?: number, weightDecay?: number, amsgrad?: boolean], AdamWOptions & AdamWImplOptions & ImplementationFlags>) {
    const [rest, flags] = optimizerOptions<AdamWOptions>('AdamW', args, ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad'], { extra: ['maximize'] });
    this.foreach = flags.foreach ?? true;
    const d: Required<AdamWOptions> = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false, ...rest };
    validate(d);
    this.defaults = d;
    this.paramGroups = paramGroups('AdamW', params, d, validate);
  }
  /** One more param group, its missing options from the defaults (PyTorch's add_param_group). */
  addParamGroup(group: Partial<AdamWOptions> & { params: Tensor[] | Tensor; names?: string[] }): void {
    addParamGroup('AdamW', this.paramGroups, group, this.defaults, validate);
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    rejectSparseGrads('AdamW', this.paramGroups, ', please consider SparseAdam instead');
    for (const g of this.paramGroups) {
      // (libtorch's fused step has no AMSGrad or maximize: those groups take the per-tensor path)
      if (this.foreach && !g.amsgrad && !g.maximize) this.stepGroupForeach(g);
      else this.stepGroup(g);
    }
  }

  /** PyTorch's single-tensor AdamW, op for op. */
  private stepGroup(g: ParamGroup): void {
    const [beta1, beta2] = g.betas;
    noGrad(() => {
      for (const p of g.params) {
        tidy(() => {
          let grad = p.grad;
          if (!grad) return;
          if (g.maximize) grad = grad.neg();
          const s = this.stateOf(p);
          s.step += 1;
          if (g.weightDecay !== 0) p.mul_(1 - g.lr * g.weightDecay);
          s.expAvg.mul_(beta1).add_(grad, 1 - beta1);
          s.expAvgSq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
          const bc1 = 1 - beta1 ** s.step;
          const bc2 = 1 - beta2 ** s.step;
          let second = s.expAvgSq;
          if (g.amsgrad) {
            s.maxExpAvgSq ??= keep(zerosLike(p));
            s.maxExpAvgSq.copy_(s.maxExpAvgSq.maximum(s.expAvgSq));
            second = s.maxExpAvgSq;
          }
          const denom = second.sqrt().div_(Math.sqrt(bc2)).add_(g.eps);
          p.addcdiv_(s.expAvg, denom, -g.lr / bc1);
        });
      }
    });
  }

  private stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = { step: 0, expAvg: keep(zerosLike(p)), expAvgSq: keep(zerosLike(p)) };
      this.state.set(p, s);
    }
    return s;
  }

  /** The same update with libtorch's _foreach kernels (PyTorch's multi-tensor AdamW). */
  private stepGroupForeach(g: ParamGroup): void {
    const hasGrad = native.hasGrads(g.params.map(id));
    const withGrad = g.params.filter((_, i) => hasGrad[i]);
    if (!withGrad.length) return;
    const states = withGrad.map((p) => this.stateOf(p));
    const steps = Float64Array.from(states, (s) => ++s.step);
    native.adamwStep(withGrad.map(id), states.map((s) => id(s.expAvg)), states.map((s) => id(s.expAvgSq)), steps,
      g.lr, g.betas[0], g.betas[1], g.eps, g.weightDecay);
  }

  /** Clears gradients (set to None, PyTorch 2's default). */
  zeroGrad(setToNone: boolean | { setToNone?: boolean } = true): void {
    zeroGradients('AdamW', this.paramGroups, setToNone);
  }

  /**
   * PyTorch's state_dict(): { state: Map(index -> { step, exp_avg, ... }), param_groups: [{ lr, ...,
   * params: [indices] }] } (PyTorch's names), the live state tensors, not copies. torch.save writes it
   * as Python's; loadStateDict takes it back, from here or from Python.
   */
  stateDict(): TorchOptimizerStateDict {
    return torchLayout(this.flatStateDict(), this.paramGroups, this.stateKey);
  }
  /** Restores a state dict, PyTorch's layout (stateDict(), or Python's read with torch.loadObject) or the flat one: training continues as if never stopped. */
  loadStateDict(sd: TorchOptimizerStateDict | FlatOptimizerStateDict): void {
    this.loadFlatStateDict(flatLayout('AdamW', sd, this.paramGroups, this.stateKey) as Parameters<AdamW['loadFlatStateDict']>[0]);
  }

  /** The flat layout (the Trainer's checkpoints): state tensors (exp_avg / exp_avg_sq) by parameter name (or '<group>.<index>'), per-param steps, settings. */
  flatStateDict(): { tensors: Map<string, Tensor>; steps: Record<string, number>; groups: Omit<ParamGroup, 'params' | 'names'>[] } {
    const tensors = new Map<string, Tensor>();
    const steps: Record<string, number> = {};
    this.forEachNamed((name, p) => {
      const s = this.state.get(p);
      if (!s) return;
      tensors.set(`${name}.exp_avg`, s.expAvg);
      tensors.set(`${name}.exp_avg_sq`, s.expAvgSq);
      if (s.maxExpAvgSq) tensors.set(`${name}.max_exp_avg_sq`, s.maxExpAvgSq);
      steps[name] = s.step;
    });
    const groups = this.paramGroups.map(({ params: _p, names: _n, ...h }) => h);
    return { tensors, steps, groups };
  }

  loadFlatStateDict(sd: { tensors: Map<string, Tensor>; steps: Record<string, number>; groups?: Partial<ParamGroup>[] }): void {
    this.forEachNamed((name, p) => {
      if (!(name in sd.steps)) return;
      const m = sd.tensors.get(`${name}.exp_avg`), v = sd.tensors.get(`${name}.exp_avg_sq`);
      if (!m || !v) throw new Error(`AdamW.loadStateDict: missing state tensors for '${name}'`);
      if (m.shape.join() !== p.shape.join()) throw new Error(`AdamW.loadStateDict: '${name}' state is [${m.shape}], parameter is [${p.shape}]`);
      const s = this.state.get(p) ?? { step: 0, expAvg: keep(zerosLike(p)), expAvgSq: keep(zerosLike(p)) };
      noGrad(() => { s.expAvg.copy_(m); s.expAvgSq.copy_(v); });
      const vmax = sd.tensors.get(`${name}.max_exp_avg_sq`);
      if (vmax) {
        s.maxExpAvgSq ??= keep(zerosLike(p));
        noGrad(() => s.maxExpAvgSq!.copy_(vmax));
      }
      s.step = sd.steps[name];
      this.state.set(p, s);
    });
    sd.groups?.forEach((h, i) => {
      if (!this.paramGroups[i]) return;
      const { params: _p, names: _n, ...rest } = h;
      Object.assign(this.paramGroups[i], rest);
    });
  }

  /** A parameter's key in the flat layout: its name where the group has names, else '<group>.<index>'. */
  private readonly stateKey: StateKey = (gi, i) => this.paramGroups[gi].names?.[i] ?? `${gi}.${i}`;
  private forEachNamed(fn: (name: string, p: Tensor) => void): void {
    this.paramGroups.forEach((g, gi) => g.params.forEach((p, i) => fn(this.stateKey(gi, i), p)));
  }

  /** Frees the optimizer state. */
  dispose(): void {
    for (const s of this.state.values()) { s.expAvg.dispose(); s.expAvgSq.dispose(); s.maxExpAvgSq?.dispose(); }
    this.state.clear();
  }
}

function validate(o: Partial<Required<AdamWOptions>>): void {
  if (o.lr !== undefined && !(o.lr >= 0)) throw new Error(`AdamW: invalid learning rate ${o.lr}`);
  if (o.eps !== undefined && !(o.eps >= 0)) throw new Error(`AdamW: invalid eps ${o.eps}`);
  if (o.betas && !(o.betas[0] >= 0 && o.betas[0] < 1 && o.betas[1] >= 0 && o.betas[1] < 1)) throw new Error(`AdamW: invalid betas ${o.betas}`);
  if (o.weightDecay !== undefined && !(o.weightDecay >= 0)) throw new Error(`AdamW: invalid weight decay ${o.weightDecay}`);
}
