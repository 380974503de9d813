// torch.optim.SGD with PyTorch's exact update (single-tensor path). Momentum buffers live in
// libtorch tensors, updated in place under noGrad; only parameters that require grad take part.
import { Tensor } from '../tensor/tensor';
import { noGrad } from '../tensor/runtime';
import { tidy, keep } from '../tensor/scope';
import { Groups, ImplementationFlags, PositionalOr, optimizerOptions, paramGroups, addParamGroup, zeroGradients } from './groups';
import { TorchOptimizerStateDict, FlatOptimizerStateDict, torchLayout, flatLayout, indexKey } from './state_dict';

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** ascend instead of descend */
  maximize?: boolean;
}

function checkSgd(g: Required<SGDOptions>): void {
  if (!(g.lr >= 0)) throw new Error(`SGD: invalid learning rate ${g.lr}`);
  if (!(g.momentum >= 0)) throw new Error(`SGD: invalid momentum ${g.momentum}`);
  if (!(g.weightDecay >= 0)) throw new Error(`SGD: invalid weight decay ${g.weightDecay}`);
  if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new Error('SGD: nesterov momentum needs a momentum and zero dampening');
}

/** torch.optim.SGD: g += wd·p; buf = momentum·buf + (1 - dampening)·g (g itself at first); p -= lr·(nesterov ? g + momentum·buf : buf). */
export class SGD {
  readonly paramGroups: (Required<SGDOptions> & { params: Tensor[] })[];
  private momentumBuffers = new Map<Tensor, Tensor>();
  readonly defaults: Required<SGDOptions>;

  /** PyTorch's torch.optim.SGD(params, lr, momentum, dampening, weightDecay, nesterov), or an options object after params (or after the positional ones) */
  constructor(params: Groups<SGDOptions>, ...args: PositionalOr<[lr?: number, momentum?: number, dampening?: number, weightDecay?: number, nesterov?: boolean], SGDOptions & ImplementationFlags>) {
    const [defaults] = optimizerOptions<SGDOptions>('SGD', args, ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'], { extra: ['maximize'] });
    const d: Required<SGDOptions> = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...defaults };
    this.defaults = d;
    this.paramGroups = paramGroups('SGD', params, d, checkSgd);
  }
  /** One more param group, its missing options from the defaults (PyTorch's add_param_group). */
  addParamGroup(group: Partial<SGDOptions> & { params: Tensor[] | Tensor }): void {
    addParamGroup('SGD', this.paramGroups, group, this.defaults, checkSgd);
  }

  step(): void {
    noGrad(() => {
      for (const g of this.paramGroups) {
        for (const p of g.params) {
          tidy(() => {
            const grad = p.grad;
            if (!grad) return;
            let d = g.maximize ? grad.neg() : grad;
            if (g.weightDecay !== 0) d = d.add(p, g.weightDecay);
            if (g.momentum !== 0) {
              let buf = this.momentumBuffers.get(p);
              if (!buf) {
                buf = keep(d.clone());
                this.momentumBuffers.set(p, buf);
              } else {
                buf.mul_(g.momentum).add_(d, 1 - g.dampening);
              }
              d = g.nesterov ? d.add(buf, g.momentum) : buf;
            }
            p.add_(d, -g.lr);
          });
        }
      }
    });
  }

  /** Clears gradients (null, PyTorch 2's default), or zeroes them in place with setToNone false. */
  zeroGrad(setToNone: boolean | { setToNone?: boolean } = true): void {
    zeroGradients('SGD', this.paramGroups, setToNone);
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
    this.loadFlatStateDict(flatLayout('SGD', sd, this.paramGroups, indexKey) as Parameters<SGD['loadFlatStateDict']>[0]);
  }

  /** The momentum buffers by '<group>.<index>' and the groups' settings: the flat layout. */
  flatStateDict(): { tensors: Map<string, Tensor>; groups: Required<SGDOptions>[] } {
    const tensors = new Map<string, Tensor>();
    this.paramGroups.forEach((g, gi) => g.params.forEach((p, i) => {
      const b = this.momentumBuffers.get(p);
      if (b) tensors.set(`${gi}.${i}.momentum_buffer`, b);
    }));
    return { tensors, groups: this.paramGroups.map(({ params: _p, ...h }) => h) };
  }
  /** Restores flatStateDict()'s buffers (copied) and settings. */
  loadFlatStateDict(sd: { tensors: Map<string, Tensor>; groups?: Partial<SGDOptions>[] }): void {
    this.paramGroups.forEach((g, gi) => g.params.forEach((p, i) => {
      const b = sd.tensors.get(`${gi}.${i}.momentum_buffer`);
      if (!b) return;
      if (b.shape.join() !== p.shape.join()) throw new Error(`SGD.loadStateDict: '${gi}.${i}' momentum is [${b.shape}], the parameter [${p.shape}]`);
      this.momentumBuffers.get(p)?.dispose();
      this.momentumBuffers.set(p, keep(noGrad(() => b.to({ dtype: p.dtype, device: p.device, copy: true }))));
    }));
    sd.groups?.forEach((h, i) => { if (this.paramGroups[i]) Object.assign(this.paramGroups[i], h); });
  }
  dispose(): void {
    for (const b of this.momentumBuffers.values()) b.dispose();
    this.momentumBuffers.clear();
  }
}
