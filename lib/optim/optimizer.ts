// What PyTorch's optimizers share: param groups, per-parameter state (a step count and named
// tensors, PyTorch's names), step() looping over parameters with a gradient under noGrad, and
// state_dict / load_state_dict. A subclass says how to start a parameter's state and how to update it.
import { Tensor } from '../tensor/tensor';
import { noGrad } from '../tensor/runtime';
import { tidy, keep } from '../tensor/scope';
import { Groups, paramGroups, addParamGroup, zeroGradients, rejectSparseGrads } from './groups';
import { TorchOptimizerStateDict, torchLayout, flatLayout, indexKey } from './state_dict';

export interface ParamState {
  step: number;
  /** by PyTorch's state names (exp_avg, square_avg, ...); kept past tidy(), freed by dispose() */
  tensors: Record<string, Tensor>;
}
/** flatStateDict(): state tensors by '<group>.<index>.<name>', steps by '<group>.<index>', the groups' settings */
export interface OptimizerStateDict<O> {
  tensors: Map<string, Tensor>;
  steps: Record<string, number>;
  groups?: Partial<O>[];
}

export abstract class Optimizer<O extends object> {
  readonly paramGroups: (Required<O> & { params: Tensor[] })[];
  protected state = new Map<Tensor, ParamState>();

  protected constructor(private readonly name: string, params: Groups<O>, readonly defaults: Required<O>, private readonly check: (g: Required<O>) => void) {
    this.paramGroups = paramGroups(name, params, defaults, check);
  }
  /** One more param group, its missing options from the defaults (PyTorch's add_param_group). */
  addParamGroup(group: Partial<O> & { params: Tensor[] | Tensor }): void {
    addParamGroup(this.name, this.paramGroups, group, this.defaults, this.check);
  }

  /** A parameter's state tensors before its first step (zeros, mostly). */
  protected abstract initState(p: Tensor, group: Required<O>): Record<string, Tensor>;
  /** One parameter's update, in place, with its state's step already counted. */
  protected abstract update(p: Tensor, grad: Tensor, state: ParamState, group: Required<O>): void;

  /** Whether update() takes sparse gradients (Adagrad, SparseAdam); else step() refuses them first, as PyTorch's. */
  protected readonly takesSparseGrads: boolean = false;

  step(): void {
    if (!this.takesSparseGrads) rejectSparseGrads(this.name, this.paramGroups);
    noGrad(() => {
      for (const g of this.paramGroups) {
        for (const p of g.params) {
          tidy(() => {
            const grad = p.grad;
            if (!grad) return;
            let s = this.state.get(p);
            if (!s) {
              const tensors = this.initState(p, g);
              for (const t of Object.values(tensors)) keep(t);
              s = { step: 0, tensors };
              this.state.set(p, s);
            }
            s.step += 1;
            this.update(p, grad, s, g);
          });
        }
      }
    });
  }

  /** Clears gradients (null, PyTorch 2's default), or zeroes them in place with setToNone false. */
  zeroGrad(setToNone: boolean | { setToNone?: boolean } = true): void {
    zeroGradients(this.name, this.paramGroups, setToNone);
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
  loadStateDict(sd: TorchOptimizerStateDict | OptimizerStateDict<O>): void {
    this.loadFlatStateDict(flatLayout(this.name, sd, this.paramGroups, indexKey) as OptimizerStateDict<O>);
  }

  /** The flat layout (what the Trainer's checkpoints hold): state tensors by '<group>.<index>.<name>', steps, settings. */
  flatStateDict(): OptimizerStateDict<O> & { groups: Partial<O>[] } {
    const tensors = new Map<string, Tensor>();
    const steps: Record<string, number> = {};
    this.paramGroups.forEach((g, gi) => g.params.forEach((p, i) => {
      const s = this.state.get(p);
      if (!s) return;
      for (const [n, t] of Object.entries(s.tensors)) tensors.set(`${gi}.${i}.${n}`, t);
      steps[`${gi}.${i}`] = s.step;
    }));
    return { tensors, steps, groups: this.paramGroups.map(({ params: _p, ...settings }) => settings as unknown as Partial<O>) };
  }

  /** Restores flatStateDict()'s state (copied) and settings. */
  loadFlatStateDict(sd: OptimizerStateDict<O>): void {
    this.paramGroups.forEach((g, gi) => g.params.forEach((p, i) => {
      const k = `${gi}.${i}`;
      if (!(k in sd.steps)) return;
      const fresh = this.initState(p, g);
      const tensors: Record<string, Tensor> = {};
      for (const [n, init] of Object.entries(fresh)) {
        const t = sd.tensors.get(`${k}.${n}`);
        if (!t) throw new Error(`${this.name}.loadStateDict: missing state tensor '${k}.${n}'`);
        if (t.shape.join() !== init.shape.join()) throw new Error(`${this.name}.loadStateDict: '${k}.${n}' is [${t.shape}], the state is [${init.shape}]`);
        tensors[n] = keep(noGrad(() => t.to({ dtype: init.dtype, device: init.device, copy: true })));
        init.dispose();
      }
      const old = this.state.get(p);
      if (old) for (const t of Object.values(old.tensors)) t.dispose();
      this.state.set(p, { step: sd.steps[k], tensors });
    }));
    sd.groups?.forEach((h, i) => { if (this.paramGroups[i]) Object.assign(this.paramGroups[i], h); });
  }

  /** Frees the optimizer's state tensors (not the parameters). */
  dispose(): void {
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
  }
}

/** The common checks of PyTorch's optimizers' constructors. */
export function checkRange(name: string, what: string, value: number, ok: boolean): void {
  if (!ok) throw new Error(`${name}: invalid ${what} ${value}`);
}
export function checkBetas(name: string, betas: [number, number]): void {
  betas.forEach((b, k) => checkRange(name, `beta parameter at index ${k}:`, b, b >= 0 && b < 1));
}
/** lr, eps, betas and weight decay, where the settings have them (PyTorch's messages). */
export function checkCommon(name: string, g: { lr: number; eps?: number; betas?: [number, number]; weightDecay?: number }): void {
  checkRange(name, 'learning rate', g.lr, g.lr >= 0);
  if (g.eps !== undefined) checkRange(name, 'epsilon value', g.eps, g.eps >= 0);
  if (g.betas) checkBetas(name, g.betas);
  if (g.weightDecay !== undefined) checkRange(name, 'weight_decay value', g.weightDecay, g.weightDecay >= 0);
}
