// torch.optim.Adam with PyTorch's exact update (single-tensor path): weight decay as an L2 term
// of the gradient (AdamW, the Trainer's, decouples it), optional AMSGrad.
import { Tensor } from '../tensor/tensor';
import { zerosLike } from '../tensor/creation';
import { noGrad } from '../tensor/runtime';
import { tidy, keep } from '../tensor/scope';
import { Groups, ImplementationFlags, PositionalOr, optimizerOptions, paramGroups, addParamGroup, zeroGradients, rejectSparseGrads } from './groups';
import { TorchOptimizerStateDict, FlatOptimizerStateDict, torchLayout, flatLayout, indexKey } from './state_dict';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** L2 penalty added to the gradient (Adam's; AdamW decouples it instead) */
  weightDecay?: number;
  /** keep the largest second moment seen (AMSGrad) */
  amsgrad?: boolean;
  maximize?: boolean;
}

function checkAdam(g: Required<AdamOptions>): void {
  if (!(g.lr >= 0)) throw new Error(`Adam: invalid learning rate ${g.lr}`);
  if (!(g.eps >= 0)) throw new Error(`Adam: invalid eps ${g.eps}`);
  if (!(g.betas[0] >= 0 && g.betas[0] < 1 && g.betas[1] >= 0 && g.betas[1] < 1)) throw new Error(`Adam: invalid betas ${g.betas}`);
  if (!(g.weightDecay >= 0)) throw new Error(`Adam: invalid weight decay ${g.weightDecay}`);
}

/** torch.optim.Adam: weight decay as an L2 term of the gradient, optional AMSGrad. */
export class Adam {
  readonly paramGroups: (Required<AdamOptions> & { params: Tensor[] })[];
  private state = new Map<Tensor, { step: number; expAvg: Tensor; expAvgSq: Tensor; maxExpAvgSq: Tensor | null }>();
  readonly defaults: Required<AdamOptions>;

  /** PyTorch's torch.optim.Adam(params, lr, betas, eps, weightDecay, amsgrad), or an options object after params (or after the positional ones) */
  constructor(params: Groups<AdamOptions>, ...args: PositionalOr<[lr?: number, betas?: [number, number], eps?: number, weightDecay?: number, amsgrad?: boolean], AdamOptions & ImplementationFlags>) {
    const [defaults] = optimizerOptions<AdamOptions>('Adam', args, ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad'], { extra: ['maximize'] });
    const d: Required<AdamOptions> = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...defaults };
    this.defaults = d;
    this.paramGroups = paramGroups('Adam', params, d, checkAdam);
  }
  /** One more param group, its missing options from the defaults (PyTorch's add_param_group). */
  addParamGroup(group: Partial<AdamOptions> & { params: Tensor[] | Tensor }): void {
    addParamGroup('Adam', this.paramGroups, group, this.defaults, checkAdam);
  }

  step(): void {
    rejectSparseGrads('Adam', this.paramGroups, ', please consider SparseAdam instead');
    noGrad(() => {
      for (const g of this.paramGroups) {
        const [beta1, beta2] = g.betas;
        for (const p of g.params) {
          tidy(() => {
            const grad0 = p.grad;
            if (!grad0) return;
            let grad = g.maximize ? grad0.neg() : grad0;
            let s = this.state.get(p);
            if (!s) {
              s = { step: 0, expAvg: keep(zerosLike(p)), expAvgSq: keep(zerosLike(p)), maxExpAvgSq: g.amsgrad ? keep(zerosLike(p)) : null };
              this.state.set(p, s);
            }
            s.step += 1;
            if (g.weightDecay !== 0) grad = grad.add(p, g.weightDecay);
            s.expAvg.mul_(beta1).add_(grad, 1 - beta1);
            s.expAvgSq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
            const bc1 = 1 - beta1 ** s.step;
            const bc2Sqrt = Math.sqrt(1 - beta2 ** s.step);
            let second = s.expAvgSq;
            if (s.maxExpAvgSq) {
              s.maxExpAvgSq.copy_(s.maxExpAvgSq.maximum(s.expAvgSq));
              second = s.maxExpAvgSq;
            }
            const denom = second.sqrt().div_(bc2Sqrt).add_(g.eps);
            p.addcdiv_(s.expAvg, denom, -g.lr / bc1);
          });
        }
      }
    });
  }

  /** Clears gradients (null, PyTorch 2's default), or zeroes them in place with setToNone false. */
  zeroGrad(setToNone: boolean | { setToNone?: boolean } = true): void {
    zeroGradients('Adam', this.paramGroups, setToNone);
  }

  /**
   * PyTorch's state_dict(): { state: Map(index -> { step, exp_avg, ... }), param_groups: [{ lr, ...,
   * params: [indices] }] } (PyTorch's names), the live state tensors, not copies. torch.save writes it
   * as Python's; loadStateDict takes it back, from here or from Python.
   */
  stateDict(): TorchOptimizerStateDict {
    return torchLayout(this.flatStateDict(), this.paramGroups, indexKey);
  }
  /** Restores a state dict, PyTorch's layout (stateDict(), or Python's read with torch.loadObject) or the flat one: training continues as if never stopped. */
  loadStateDict(sd: TorchOptimizerStateDict | FlatOptimizerStateDict): void {
    this.loadFlatStateDict(flatLayout('Adam', sd, this.paramGroups, indexKey) as Parameters<Adam['loadFlatStateDict']>[0]);
  }

  /** exp_avg, exp_avg_sq (and max_exp_avg_sq) by '<group>.<index>', steps, and the groups' settings: the flat layout. */
  flatStateDict(): { tensors: Map<string, Tensor>; steps: Record<string, number>; groups: Required<AdamOptions>[] } {
    const tensors = new Map<string, Tensor>();
    const steps: Record<string, number> = {};
    this.paramGroups.forEach((g, gi) => g.params.forEach((p, i) => {
      const s = this.state.get(p);
      if (!s) return;
      const k = `${gi}.${i}`;
      tensors.set(`${k}.exp_avg`, s.expAvg);
      tensors.set(`${k}.exp_avg_sq`, s.expAvgSq);
      if (s.maxExpAvgSq) tensors.set(`${k}.max_exp_avg_sq`, s.maxExpAvgSq);
      steps[k] = s.step;
    }));
    return { tensors, steps, groups: this.paramGroups.map(({ params: _p, ...h }) => h) };
  }
  /** Restores flatStateDict()'s state (copied) and settings. */
  loadFlatStateDict(sd: { tensors: Map<string, Tensor>; steps: Record<string, number>; groups?: Partial<AdamOptions>[] }): void {
    const copy = (t: Tensor, p: Tensor) => keep(noGrad(() => t.to({ dtype: p.dtype, device: p.device, copy: true })));
    this.paramGroups.forEach((g, gi) => g.params.forEach((p, i) => {
      const k = `${gi}.${i}`;
      if (!(k in sd.steps)) return;
      const m = sd.tensors.get(`${k}.exp_avg`), v = sd.tensors.get(`${k}.exp_avg_sq`), mx = sd.tensors.get(`${k}.max_exp_avg_sq`);
      if (!m || !v) throw new Error(`Adam.loadStateDict: missing state tensors for '${k}'`);
      if (m.shape.join() !== p.shape.join()) throw new Error(`Adam.loadStateDict: '${k}' state is [${m.shape}], the parameter [${p.shape}]`);
      const old = this.state.get(p);
      if (old) for (const t of [old.expAvg, old.expAvgSq, old.maxExpAvgSq]) t?.dispose();
      this.state.set(p, { step: sd.steps[k], expAvg: copy(m, p), expAvgSq: copy(v, p), maxExpAvgSq: mx ? copy(mx, p) : g.amsgrad ? keep(zerosLike(p)) : null });
    }));
    sd.groups?.forEach((h, i) => { if (this.paramGroups[i]) Object.assign(this.paramGroups[i], h); });
  }
  dispose(): void {
    for (const s of this.state.values()) for (const t of [s.expAvg, s.expAvgSq, s.maxExpAvgSq]) t?.dispose();
    this.state.clear();
  }
}
