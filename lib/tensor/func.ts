// torch.func (functorch's API): derivatives as functions. grad, gradAndValue, vjp and jacrev use
// reverse mode (autograd.grad; jacrev's rows in one vmapped backward), jvp and jacfwd forward mode
// (dual tensors; jacfwd's columns in one vmapped pass), hessian is jacrev of jacrev.
//
// How they nest without functorch's levels: a differentiated input that already requires grad is
// an outer transform's (or the user's) input, so it is used as it is and the derivative keeps its
// graph; otherwise a fresh leaf is made and the results come back detached.
import { isRecord, isNamedTuple, namedTuple } from './named_tuple';
import { Tensor } from './tensor';
import { tidy } from './scope';
import { dualLevel, makeDual, unpackDual } from './forward_ad';
import { zerosLike, zeros, eye } from './creation';
import { grad as autogradGrad } from './autograd';
import { buildInfo, enableGrad, isGradEnabled } from './runtime';
import { vmap } from './vmap';
import { stack } from './ops';

type Argnums = number | number[];
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any function of tensors (and other values)
type AnyFn = (...args: any[]) => any;

export interface FuncOptions {
  /** which positional inputs to differentiate (default 0); an array gives a derivative per entry */
  argnums?: Argnums;
  /** f returns [output, aux]: aux is passed through untouched (not differentiated) */
  hasAux?: boolean;
}

// Which positional inputs are differentiated (checked: in range, unique, floating point tensors).
function parseArgnums(what: string, args: unknown[], argnums: Argnums): { idx: number[]; single: boolean } {
  const nums = Array.isArray(argnums) ? argnums : [argnums];
  if (nums.length === 0) throw new Error(`${what}: argnums must be non-empty`);
  const idx = nums.map((n) => {
    if (!Number.isInteger(n)) throw new Error(`${what}: argnums must be int or Tuple[int, ...], got: ${String(n)}`);
    if (n < -args.length || n >= args.length) throw new Error(`Got argnum=${n}, but only ${args.length} positional inputs`);
    return n < 0 ? n + args.length : n;
  });
  if (new Set(idx).size !== idx.length) throw new Error(`${what}: argnums must be unique, got ${JSON.stringify(argnums)}`);
  for (const i of idx) {
    const a = args[i];
    if (!(a instanceof Tensor)) throw new Error(`${what}: argument ${i} is differentiated but is not a Tensor (${typeof a}); differentiate tensors only, or change argnums`);
    if (!(a.isFloatingPoint() || a.isComplex())) throw new Error(`${what}: argument ${i} is ${a.dtype}; only floating point (or complex) inputs can be differentiated`);
  }
  return { idx, single: !Array.isArray(argnums) };
}

// The differentiated inputs made ready: fresh leaves, or the same tensors when an outer transform
// already tracks them (then createGraph keeps the derivatives differentiable for it).
function prepare(what: string, args: unknown[], argnums: Argnums) {
  const { idx, single } = parseArgnums(what, args, argnums);
  let createGraph = false;
  const xs = [...args];
  for (const i of idx) {
    const a = args[i] as Tensor;
    if (a.requiresGrad && isGradEnabled()) createGraph = true;
    else xs[i] = a.detach().requiresGrad_();
  }
  return { xs, idx, single, createGraph };
}

function splitAux(what: string, out: unknown, hasAux: boolean): [unknown, unknown] {
  if (!hasAux) return [out, undefined];
  if (!Array.isArray(out) || out.length !== 2) throw new Error(`${what}(f)(*args): output of function f should be a tuple: (output, aux) if has_aux is True`);
  return [out[0], out[1]];
}

// The tensors in a value (walking arrays and plain objects), and the value with them replaced.
function tensorLeaves(v: unknown): Tensor[] {
  if (v instanceof Tensor) return [v];
  if (Array.isArray(v)) return v.flatMap(tensorLeaves);
  if (isRecord(v)) return Object.values(v).flatMap(tensorLeaves);
  return [];
}
function replaceTensorLeaves(v: unknown, values: Tensor[]): unknown {
  let k = 0;
  const walk = (x: unknown): unknown => {
    if (x instanceof Tensor) return values[k++];
    if (Array.isArray(x)) return x.map(walk);
    if (isRecord(x)) {
      const fields = Object.fromEntries(Object.entries(x).map(([key, y]) => [key, walk(y)]));
      return isNamedTuple(x) ? namedTuple(fields) : fields;
    }
    return x;
  };
  return walk(v);
}

// aux comes back outside the transform, as functorch's does: its tensors detached (unless an
// outer transform differentiates), arrays and plain objects walked.
function detachAux(aux: unknown, keepGraph: boolean): unknown {
  return keepGraph ? aux : replaceTensorLeaves(aux, tensorLeaves(aux).map((t) => t.detach()));
}

/**
 * torch.func.gradAndValue(f, { argnums, hasAux })(...args): [gradient, value] of a scalar f
 * (with hasAux: [gradient, [value, aux]]); the gradient is one tensor, or an array per argnums entry.
 */
export function gradAndValue(f: AnyFn, opts: FuncOptions = {}): AnyFn {
  const hasAux = opts.hasAux ?? false;
  return (...args: unknown[]) =>
    tidy(() => {
      const { xs, idx, single, createGraph } = prepare('grad_and_value', args, opts.argnums ?? 0);
      const [out, aux] = splitAux('grad_and_value', enableGrad(() => f(...xs)), hasAux);
      if (!(out instanceof Tensor)) throw new Error(`grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got ${typeof out}`);
      if (out.dim() !== 0) throw new Error(`grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got tensor with ${out.dim()} dims. Maybe you wanted to use the vjp or jacrev APIs instead?`);
      const inputs = idx.map((i) => xs[i] as Tensor);
      const gs = enableGrad(() => (out.requiresGrad ? autogradGrad(out, inputs, { createGraph, retainGraph: createGraph, allowUnused: true }) : inputs.map(() => null)));
      const grads = gs.map((g, k) => g ?? zerosLike(inputs[k]));
      const value = createGraph ? out : out.detach();
      const g = single ? grads[0] : grads;
      return hasAux ? [g, [value, detachAux(aux, createGraph)]] : [g, value];
    });
}

/** torch.func.grad(f, { argnums, hasAux })(...args): the gradient of a scalar f (with hasAux: [gradient, aux]). */
export function grad(f: AnyFn, opts: FuncOptions = {}): AnyFn {
  const gv = gradAndValue(f, opts);
  return (...args: unknown[]) => {
    const [g, v] = gv(...args);
    if (!opts.hasAux) {
      (v as Tensor).dispose();
      return g;
    }
    const [value, aux] = v as [Tensor, unknown];
    value.dispose();
    return [g, aux];
  };
}

/**
 * torch.func.vjp(f, primals, { hasAux }): [f(primals), vjpFn] (with hasAux: [output, vjpFn, aux]);
 * vjpFn(cotangents) gives the vector-Jacobian product for every primal, as many times as wanted
 * (the graph is kept). f returns a tensor (cotangents: one tensor) or an array (one per output).
 */
export function vjp(f: AnyFn, primals: Tensor[], opts: { hasAux?: boolean } = {}): [Tensor | Tensor[], (cotangents: Tensor | Tensor[]) => Tensor[], unknown?] {
  if (primals.length === 0) throw new Error('vjp(f, *primals): Expected at least one primal to be passed.');
  const { xs, createGraph } = prepare('vjp', primals, primals.map((_, i) => i));
  const [out, aux] = splitAux('vjp', enableGrad(() => f(...xs)), opts.hasAux ?? false);
  const outs = out instanceof Tensor ? [out] : (out as Tensor[]);
  if (!Array.isArray(outs) || !outs.every((o) => o instanceof Tensor)) throw new Error('vjp(f, *primals): Expected f to be a function that has non-empty output (a Tensor or an array of Tensors)');
  const vjpFn = (cotangents: Tensor | Tensor[]): Tensor[] =>
    tidy(() => {
      const cts = cotangents instanceof Tensor ? [cotangents] : cotangents;
      if (cts.length !== outs.length) throw new Error(`Expected pytree structure of cotangents to be the same as pytree structure of outputs to the function: ${cts.length} cotangents for ${outs.length} outputs`);
      cts.forEach((c, k) => {
        if (c.shape.join() !== outs[k].shape.join()) throw new Error(`Mismatch in shape: grad_output[${k}] has a shape of [${c.shape}] and output[${k}] has a shape of [${outs[k].shape}].`);
      });
      const live = outs.map((o, k) => k).filter((k) => outs[k].requiresGrad);
      const inputs = xs as Tensor[];
      const gs = live.length
        ? enableGrad(() => autogradGrad(live.map((k) => outs[k]), inputs, { gradOutputs: live.map((k) => cts[k]), retainGraph: true, createGraph, allowUnused: true }))
        : inputs.map(() => null);
      return gs.map((g, k) => g ?? zerosLike(inputs[k]));
    });
  const value = createGraph ? out : outs.length === 1 && out instanceof Tensor ? out.detach() : outs.map((o) => o.detach());
  return opts.hasAux ? [value as Tensor | Tensor[], vjpFn, detachAux(aux, createGraph)] : [value as Tensor | Tensor[], vjpFn];
}

// Arranges per-output, per-input Jacobians as functorch does: a tensor when f returns one and
// argnums is one number, else arrays.
function arrange(jac: Tensor[][], singleOut: boolean, singleArg: boolean): Tensor | Tensor[] | Tensor[][] {
  const perOut = jac.map((row) => (singleArg ? row[0] : row));
  return (singleOut ? perOut[0] : perOut) as Tensor | Tensor[] | Tensor[][];
}

/**
 * torch.func.jacrev(f, argnums = 0, { hasAux })(...args): the Jacobian by reverse mode, every row in
 * one vmapped backward: J[i][j] of shape outputs[i].shape + args[argnums[j]].shape.
 */
export function jacrev(f: AnyFn, argnums: Argnums = 0, opts: { hasAux?: boolean } = {}): AnyFn {
  return (...args: unknown[]) =>
    tidy(() => {
      const { xs, idx, single, createGraph } = prepare('jacrev', args, argnums);
      const [out, aux] = splitAux('jacrev', enableGrad(() => f(...xs)), opts.hasAux ?? false);
      const outs = out instanceof Tensor ? [out] : (out as Tensor[]);
      const inputs = idx.map((i) => xs[i] as Tensor);
      const jac = outs.map((o) => {
        const n = o.numel();
        const flat = o.reshape([-1]);
        const gs = flat.requiresGrad
          ? enableGrad(() => autogradGrad(flat, inputs, { gradOutputs: [eye(n, n, { dtype: o.dtype, device: o.device })], isGradsBatched: true, retainGraph: true, createGraph, allowUnused: true }))
          : inputs.map(() => null);
        return gs.map((g, k) => (g ?? zeros([n, ...inputs[k].shape], { dtype: inputs[k].dtype, device: inputs[k].device })).view([...o.shape, ...inputs[k].shape]));
      });
      const result = arrange(jac, out instanceof Tensor, single);
      return opts.hasAux ? [result, detachAux(aux, createGraph)] : result;
    });
}

/**
 * Whether ATen's batched tensors (torch.vmap here) carry forward-mode tangents through every op.
 * libtorch 1.x's do; in 2.x the Python API moved to functorch's and the old ones lose the batch
 * dim on some paths (matmul of a vector: "Trying to set a forward gradient that has a different
 * size"), so jacfwd there takes one jvp per column.
 */
function vmapCarriesTangents(): boolean {
  return buildInfo().torchVersionMajor < 2;
}

/**
 * torch.func.jacfwd(f, argnums = 0)(...args): the Jacobian by forward mode, every column in one
 * vmapped pass of dual tensors (cheaper than jacrev when outputs outnumber inputs).
 * opts.vectorize: false takes one forward pass per column instead (the default where libtorch's
 * vmap does not carry tangents: 2.x).
 */
export function jacfwd(f: AnyFn, argnums: Argnums = 0, opts: { hasAux?: boolean; vectorize?: boolean } = {}): AnyFn {
  return (...args: unknown[]) =>
    tidy(() => {
      const { idx, single } = parseArgnums('jacfwd', args, argnums);
      const inputs = idx.map((i) => args[i] as Tensor);
      const numels = inputs.map((x) => x.numel());
      const total = numels.reduce((a, b) => a + b, 0);
      // the standard basis, one row per input element; each input's tangent is its slice of a row
      const basis = eye(total, total, { dtype: inputs[0].dtype, device: inputs[0].device });
      let outShapes: number[][] = [];
      let singleOut = true;
      let aux: unknown;
      let auxTensors = 0;
      const column = (row: Tensor): Tensor[] =>
        dualLevel(() => {
          const xs = [...args];
          let offset = 0;
          idx.forEach((i, k) => {
            xs[i] = makeDual(inputs[k], row.narrow(0, offset, numels[k]).view(inputs[k].shape));
            offset += numels[k];
          });
          const [out, a] = splitAux('jacfwd', f(...xs), opts.hasAux ?? false);
          aux = a;
          singleOut = out instanceof Tensor;
          const outs = out instanceof Tensor ? [out] : (out as Tensor[]);
          outShapes = outs.map((o) => o.shape);
          const tangents = outs.map((o) => {
            const { primal, tangent } = unpackDual(o);
            return tangent ? tangent.clone() : zerosLike(primal);
          });
          // aux's tensors leave the vmap as extra outputs (their values, the same in every row)
          const auxValues = tensorLeaves(aux).map((t) => unpackDual(t).primal.clone());
          auxTensors = auxValues.length;
          return [...tangents, ...auxValues];
        });
      let columns: Tensor[];
      if (opts.vectorize ?? vmapCarriesTangents()) {
        columns = vmap(column)(basis) as Tensor[];
      } else {
        const each = Array.from({ length: total }, (_, j) => column(basis.select(0, j)));
        columns = each[0].map((_, i) => stack(each.map((c) => c[i])));
      }
      if (auxTensors) {
        const values = columns.splice(columns.length - auxTensors).map((t) => t.select(0, 0));
        aux = replaceTensorLeaves(aux, values);
      }
      // columns[i]: [total, ...out_i.shape]; move the input dims last and split them per input
      const jac = columns.map((c, i) => {
        const moved = c.movedim(0, -1).reshape([...outShapes[i], total]);
        let offset = 0;
        return idx.map((_, k) => {
          const part = moved.narrow(-1, offset, numels[k]).reshape([...outShapes[i], ...inputs[k].shape]);
          offset += numels[k];
          return part;
        });
      });
      const result = arrange(jac, singleOut, single);
      return opts.hasAux ? [result, aux] : result;
    });
}

/** torch.func.hessian(f, argnums = 0)(...args): the Hessian of a scalar f, as jacrev of jacrev. */
export function hessian(f: AnyFn, argnums: Argnums = 0): AnyFn {
  return jacrev(jacrev(f, argnums), argnums);
}

/**
 * torch.func.jvp(f, primals, tangents): [f(primals), J_f(primals) · tangents], the second computed
 * alongside the first by forward-mode AD (no backward pass). f returns a tensor or an array of them.
 */
export function jvp<R extends Tensor | Tensor[]>(f: (...xs: Tensor[]) => R, primals: Tensor[], tangents: Tensor[]): [R, R] {
  if (primals.length !== tangents.length) throw new Error(`jvp: ${primals.length} primals but ${tangents.length} tangents; give one tangent per primal`);
  primals.forEach((p, i) => {
    if (p.shape.join() !== tangents[i].shape.join()) throw new Error(`jvp: primal ${i} is [${p.shape}] but its tangent is [${tangents[i].shape}]`);
  });
  return dualLevel(() => tidy(() => {
    const out = f(...primals.map((p, i) => makeDual(p, tangents[i])));
    const list = Array.isArray(out) ? out : [out];
    const values: Tensor[] = [], jvps: Tensor[] = [];
    for (const o of list) {
      const { primal, tangent } = unpackDual(o);
      // clones: the results outlive the level (a primal is a view of the dual tensor)
      values.push(primal.clone());
      jvps.push(tangent ? tangent.clone() : zerosLike(primal));
    }
    return (Array.isArray(out) ? [values, jvps] : [values[0], jvps[0]]) as [R, R];
  }));
}
