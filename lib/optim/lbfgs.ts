// torch.optim.LBFGS: limited-memory BFGS with an optional strong-Wolfe line search, PyTorch's
// algorithm step for step (torch/optim/lbfgs.py). step(closure) re-evaluates the loss as it
// goes; closure clears the gradients, computes the loss, calls backward() and returns the loss.
// Scalars (dot products, step sizes) are JS doubles: a float64 model follows PyTorch to ~1e-12,
// a float32 one to its rounding (PyTorch keeps them as float32 tensors).
import { TorchOptimizerStateDict, snake, camel } from './state_dict';
import type { Picklable } from '../io/torchsave';
import { Tensor } from '../tensor/tensor';
import { cat } from '../tensor/ops';
import { zeros } from '../tensor/creation';
import { noGrad, enableGrad } from '../tensor/runtime';
import { tidy, keep } from '../tensor/scope';
import { optionsOf, PositionalOr } from '../tensor/options';
import { zeroGradients } from './groups';

export interface LBFGSOptions {
  lr?: number;
  /** iterations per step() */
  maxIter?: number;
  /** closure evaluations per step() (default maxIter · 5/4) */
  maxEval?: number;
  toleranceGrad?: number;
  toleranceChange?: number;
  historySize?: number;
  lineSearchFn?: 'strong_wolfe' | null;
}

const num = (t: Tensor) => t.item() as number;

function cubicInterpolate(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, bounds?: [number, number]): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 ** 2 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, lo), hi);
  }
  return (lo + hi) / 2;
}

type Eval = (t: number) => [number, Tensor];

// _strong_wolfe: a step t along d satisfying the strong Wolfe conditions (bracketing, then zoom).
function strongWolfe(evaluate: Eval, t0: number, d: Tensor, f: number, g: Tensor, gtd: number, toleranceChange: number, c1 = 1e-4, c2 = 0.9, maxLs = 25): [number, Tensor, number, number] {
  let t = t0;
  const dNorm = num(d.abs().max());
  let [fNew, gNew] = evaluate(t);
  let evals = 1;
  let gtdNew = num(gNew.dot(d));
  let [tPrev, fPrev, gPrev, gtdPrev] = [0, f, g, gtd];
  let done = false, lsIter = 0;
  let bracket: number[] = [], bracketF: number[] = [], bracketG: Tensor[] = [], bracketGtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) {
      [bracket, bracketF, bracketG] = [[t], [fNew], [gNew]];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      [bracket, bracketF, bracketG, bracketGtd] = [[tPrev, t], [fPrev, fNew], [gPrev, gNew], [gtdPrev, gtdNew]];
      break;
    }
    const minStep = t + 0.01 * (t - tPrev), maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    [tPrev, fPrev, gPrev, gtdPrev] = [tmp, fNew, gNew, gtdNew];
    [fNew, gNew] = evaluate(t);
    evals += 1;
    gtdNew = num(gNew.dot(d));
    lsIter += 1;
  }
  if (lsIter === maxLs) [bracket, bracketF, bracketG] = [[0, t], [f, fNew], [g, gNew]];
  let insufProgress = false;
  let [low, high] = bracketF[0] <= bracketF[bracketF.length - 1] ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break;
    t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1]);
    const bMax = Math.max(...bracket), bMin = Math.min(...bracket);
    const eps = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < eps) {
      if (insufProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufProgress = false;
      } else {
        insufProgress = true;
      }
    } else {
      insufProgress = false;
    }
    [fNew, gNew] = evaluate(t);
    evals += 1;
    gtdNew = num(gNew.dot(d));
    lsIter += 1;
    if (fNew > f + c1 * t * gtd || fNew >= bracketF[low]) {
      [bracket[high], bracketF[high], bracketG[high], bracketGtd[high]] = [t, fNew, gNew, gtdNew];
      [low, high] = bracketF[0] <= bracketF[1] ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) done = true;
      else if (gtdNew * (bracket[high] - bracket[low]) >= 0) {
        [bracket[high], bracketF[high], bracketG[high], bracketGtd[high]] = [bracket[low], bracketF[low], bracketG[low], bracketGtd[low]];
      }
      [bracket[low], bracketF[low], bracketG[low], bracketGtd[low]] = [t, fNew, gNew, gtdNew];
    }
  }
  return [bracketF[low], bracketG[low], bracket[low], evals];
}

export class LBFGS {
  readonly paramGroups: (Required<LBFGSOptions> & { params: Tensor[] })[];
  private readonly params: Tensor[];
  // PyTorch's state: the direction, step, curvature pairs and the previous gradient, kept between steps.
  private state: {
    funcEvals: number; nIter: number; d: Tensor | null; t: number; oldDirs: Tensor[]; oldStps: Tensor[]; ro: number[]; hDiag: number;
    prevFlatGrad: Tensor | null; prevLoss: number;
  } = { funcEvals: 0, nIter: 0, d: null, t: 0, oldDirs: [], oldStps: [], ro: [], hDiag: 1, prevFlatGrad: null, prevLoss: 0 };

  /** torch.optim.LBFGS(params, lr=1, maxIter=20, maxEval, toleranceGrad=1e-7, toleranceChange=1e-9, historySize=100, lineSearchFn=None), or an options object after params */
  constructor(params: Tensor[], ...args: PositionalOr<[lr?: number, maxIter?: number, maxEval?: number | null, toleranceGrad?: number, toleranceChange?: number, historySize?: number, lineSearchFn?: 'strong_wolfe' | null], LBFGSOptions>) {
    const opts = optionsOf<LBFGSOptions>('LBFGS', args, ['lr', 'maxIter', 'maxEval', 'toleranceGrad', 'toleranceChange', 'historySize', 'lineSearchFn']);
    if (!Array.isArray(params) || !params.every((p) => p instanceof Tensor)) throw new Error("LBFGS doesn't support per-parameter options (parameter groups): give a list of tensors");
    const maxIter = opts.maxIter ?? 20;
    const g = { lr: 1, maxIter, maxEval: Math.floor((maxIter * 5) / 4), toleranceGrad: 1e-7, toleranceChange: 1e-9, historySize: 100, lineSearchFn: null, ...opts };
    if (g.lineSearchFn !== null && g.lineSearchFn !== 'strong_wolfe') throw new Error("LBFGS: only 'strong_wolfe' is supported");
    this.params = params.filter((p) => p.requiresGrad);
    if (!this.params.length) throw new Error('LBFGS: no parameter requires grad');
    this.paramGroups = [{ ...g, maxEval: opts.maxEval ?? g.maxEval, params: this.params }];
  }

  private flatGrad(): Tensor {
    // (a sparse gradient, from an Embedding with sparse: true, made dense first, as PyTorch's _gather_flat_grad)
    return cat(this.params.map((p) => { const g = p.grad; return g ? (g.isSparse ? g.toDense() : g).reshape([-1]) : zeros([p.numel()], { dtype: p.dtype, device: p.device }); }));
  }
  private addGrad(step: number, update: Tensor): void {
    let offset = 0;
    for (const p of this.params) {
      const n = p.numel();
      p.add_(update.narrow(0, offset, n).viewAs(p), step);
      offset += n;
    }
  }

  /** One optimization step (up to maxIter iterations); returns closure's first loss. */
  step(closure: () => Tensor | number): number {
    const g = this.paramGroups[0];
    const s = this.state;
    const evalLoss = () => enableGrad(() => tidy(() => {
      const l = closure();
      return typeof l === 'number' ? l : (l.item() as number);
    }));
    // Everything made here is freed at the end but the state carried to the next step (kept).
    return noGrad(() => tidy(() => {
      const origLoss = evalLoss();
      let loss = origLoss;
      let currentEvals = 1;
      s.funcEvals += 1;
      let flatGrad = this.flatGrad();
      if (num(flatGrad.abs().max()) <= g.toleranceGrad) return origLoss;
      const replaceD = (next: Tensor) => {
        if (s.d) s.d.dispose();
        s.d = keep(next);
      };
      let nIter = 0;
      while (nIter < g.maxIter) {
        nIter += 1;
        s.nIter += 1;
        if (s.nIter === 1) {
          replaceD(flatGrad.neg());
          for (const x of [...s.oldDirs, ...s.oldStps]) x.dispose();
          [s.oldDirs, s.oldStps, s.ro, s.hDiag] = [[], [], [], 1];
        } else {
          // the newest curvature pair, kept if it has positive curvature
          const y = flatGrad.sub(s.prevFlatGrad!), step = s.d!.mul(s.t);
          const ys = num(y.dot(step));
          if (ys > 1e-10) {
            if (s.oldDirs.length === g.historySize) {
              s.oldDirs.shift()!.dispose();
              s.oldStps.shift()!.dispose();
              s.ro.shift();
            }
            s.oldDirs.push(keep(y));
            s.oldStps.push(keep(step));
            s.ro.push(1 / ys);
            s.hDiag = ys / num(y.dot(y));
          }
          // two-loop recursion: d = -H g
          const al = new Array<number>(s.oldDirs.length);
          const q = flatGrad.neg();
          for (let i = s.oldDirs.length - 1; i >= 0; i--) {
            al[i] = num(s.oldStps[i].dot(q)) * s.ro[i];
            q.add_(s.oldDirs[i], -al[i]);
          }
          const r = q.mul(s.hDiag);
          for (let i = 0; i < s.oldDirs.length; i++) {
            const be = num(s.oldDirs[i].dot(r)) * s.ro[i];
            r.add_(s.oldStps[i], al[i] - be);
          }
          replaceD(r);
        }
        const d = s.d!;
        if (!s.prevFlatGrad) s.prevFlatGrad = keep(flatGrad.clone());
        else s.prevFlatGrad.copy_(flatGrad);
        s.prevLoss = loss;
        s.t = s.nIter === 1 ? Math.min(1, 1 / num(flatGrad.abs().sum())) * g.lr : g.lr;
        const gtd = num(flatGrad.dot(d));
        if (gtd > -g.toleranceChange) break;
        let lsEvals = 0;
        let optCond = false;
        if (g.lineSearchFn === 'strong_wolfe') {
          const xInit = this.params.map((p) => p.clone());
          const evaluate: Eval = (tt) => {
            this.addGrad(tt, d);
            const l = evalLoss();
            const fg = this.flatGrad();
            this.params.forEach((p, k) => p.copy_(xInit[k]));
            return [l, fg];
          };
          [loss, flatGrad, s.t, lsEvals] = strongWolfe(evaluate, s.t, d, loss, flatGrad, gtd, g.toleranceChange);
          this.addGrad(s.t, d);
          optCond = num(flatGrad.abs().max()) <= g.toleranceGrad;
        } else {
          this.addGrad(s.t, d);
          if (nIter !== g.maxIter) {
            loss = evalLoss();
            flatGrad = this.flatGrad();
            optCond = num(flatGrad.abs().max()) <= g.toleranceGrad;
            lsEvals = 1;
          }
        }
        currentEvals += lsEvals;
        s.funcEvals += lsEvals;
        if (nIter === g.maxIter || currentEvals >= g.maxEval || optCond) break;
        if (num(d.mul(s.t).abs().max()) <= g.toleranceChange) break;
        if (Math.abs(loss - s.prevLoss) < g.toleranceChange) break;
      }
      return origLoss;
    }));
  }

  /** Clears gradients (null), or zeroes them in place with setToNone false. */
  zeroGrad(setToNone: boolean | { setToNone?: boolean } = true): void {
    zeroGradients('LBFGS', this.paramGroups, setToNone);
  }

  /**
   * PyTorch's state_dict(): its state (the direction d, step t, curvature pairs old_dirs / old_stps
   * / ro, H_diag, the previous gradient and loss, the counts) under the first parameter's index, as
   * PyTorch keeps it, and the settings by PyTorch's names; the live tensors, not copies.
   */
  stateDict(): TorchOptimizerStateDict {
    const s = this.state;
    const state = new Map<number, Record<string, Picklable>>();
    if (s.nIter > 0 || s.funcEvals > 0) {
      const entry: Record<string, Picklable> = {
        func_evals: s.funcEvals, n_iter: s.nIter, t: s.t, old_dirs: [...s.oldDirs], old_stps: [...s.oldStps], ro: [...s.ro], H_diag: s.hDiag, prev_loss: s.prevLoss,
      };
      if (s.d) entry.d = s.d;
      if (s.prevFlatGrad) entry.prev_flat_grad = s.prevFlatGrad;
      state.set(0, entry);
    }
    const { params, ...settings } = this.paramGroups[0];
    const group: Record<string, Picklable> = { params: params.map((_, i) => i) };
    for (const [k, v] of Object.entries(settings)) group[snake(k)] = v as Picklable;
    return { state, param_groups: [group] };
  }
  /** Restores stateDict()'s state (ours, or Python's read with torch.loadObject), copied: the next step goes on from it. */
  loadStateDict(sd: TorchOptimizerStateDict): void {
    const groups = (sd as { param_groups?: unknown })?.param_groups;
    if (!Array.isArray(groups) || groups.length !== 1 || !Array.isArray(groups[0]?.params)) throw new Error('LBFGS.loadStateDict: expected PyTorch\'s LBFGS state dict (state, and one param group)');
    if (groups[0].params.length !== this.params.length) throw new Error(`LBFGS.loadStateDict: the state dict's group has ${groups[0].params.length} parameters, this optimizer ${this.params.length}`);
    const st = sd.state as unknown;
    const first = Number(groups[0].params[0]);
    const raw = st instanceof Map ? st.get(first) ?? st.get(String(first)) : (st as Record<string, unknown>)?.[String(first)];
    const entry = (raw instanceof Map ? Object.fromEntries(raw) : raw ?? {}) as Record<string, unknown>;
    const n = this.params.reduce((a, p) => a + p.numel(), 0);
    const { dtype, device } = this.params[0];
    const numberOf = (k: string, v: unknown, dflt: number): number => {
      if (v === undefined || v === null) return dflt;
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (v instanceof Tensor && v.numel() === 1) return Number(v.item());
      throw new Error(`LBFGS.loadStateDict: ${k} is not a number`);
    };
    const vec = (k: string, v: unknown): Tensor => {
      if (!(v instanceof Tensor) || v.numel() !== n) throw new Error(`LBFGS.loadStateDict: ${k} must be a tensor of ${n} elements (the parameters' count)`);
      return keep(noGrad(() => v.reshape([-1]).to({ dtype, device, copy: true })));
    };
    const list = (k: string): unknown[] => { const v = entry[k] ?? []; if (!Array.isArray(v)) throw new Error(`LBFGS.loadStateDict: ${k} is not a list`); return v; };
    const next = {
      funcEvals: numberOf('func_evals', entry.func_evals, 0), nIter: numberOf('n_iter', entry.n_iter, 0), t: numberOf('t', entry.t, 0), hDiag: numberOf('H_diag', entry.H_diag, 1),
      prevLoss: numberOf('prev_loss', entry.prev_loss, 0), ro: list('ro').map((r, i) => numberOf(`ro[${i}]`, r, 0)),
      d: entry.d === undefined || entry.d === null ? null : vec('d', entry.d),
      prevFlatGrad: entry.prev_flat_grad === undefined || entry.prev_flat_grad === null ? null : vec('prev_flat_grad', entry.prev_flat_grad),
      oldDirs: list('old_dirs').map((t, i) => vec(`old_dirs[${i}]`, t)), oldStps: list('old_stps').map((t, i) => vec(`old_stps[${i}]`, t)),
    };
    if (next.oldDirs.length !== next.oldStps.length || next.ro.length !== next.oldDirs.length) throw new Error('LBFGS.loadStateDict: old_dirs, old_stps and ro must be as long as each other');
    this.dispose();
    this.state = next;
    const settings: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(groups[0] as Record<string, unknown>)) if (k !== 'params' && camel(k) in this.paramGroups[0]) settings[camel(k)] = v;
    Object.assign(this.paramGroups[0], settings);
  }
  dispose(): void {
    const s = this.state;
    for (const t of [s.d, s.prevFlatGrad, ...s.oldDirs, ...s.oldStps]) t?.dispose();
    this.state = { funcEvals: 0, nIter: 0, d: null, t: 0, oldDirs: [], oldStps: [], ro: [], hDiag: 1, prevFlatGrad: null, prevLoss: 0 };
  }
}
