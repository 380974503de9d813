// torch.vmap: a function written for one example, run over a batch. Each mapped input becomes an
// ATen batched tensor (the batch dim hidden: ops see one example's shape, and run batched in one
// kernel where libtorch has a batching rule, in a loop where it has none); the outputs get the
// batch dim back at outDims. Levels nest, so vmap(vmap(f)) maps two dims.
import { native } from './native';
import { Tensor, _wrap as wrap, _id as id } from './tensor';
import { tidy } from './scope';

/** Where each input's batch dim is: a number for all, null for "not mapped", or per input (nested like the inputs). */
export type InDims = number | null | InDims[];

type Leaf = { value: unknown; dim: number | null };

function fnName(f: (...a: never[]) => unknown): string {
  return f.name || 'f';
}

// Flattens args against inDims (a number or null applies to a whole subtree; an array must match).
function flattenInputs(args: unknown[], inDims: InDims, where: string): Leaf[] {
  const leaves: Leaf[] = [];
  const walk = (arg: unknown, dims: InDims): void => {
    if (Array.isArray(dims)) {
      if (!Array.isArray(arg) || arg.length !== dims.length) {
        throw new Error(`${where}: inDims is not compatible with the structure of the inputs: inDims ${JSON.stringify(dims)} against ${Array.isArray(arg) ? `an array of ${arg.length}` : typeof arg}`);
      }
      arg.forEach((a, k) => walk(a, dims[k]));
    } else if (Array.isArray(arg)) {
      arg.forEach((a) => walk(a, dims));
    } else {
      if (dims !== null && !Number.isInteger(dims)) throw new Error(`${where}: Got inDim=${String(dims)} for an input but inDim must be either an integer dimension or null.`);
      leaves.push({ value: arg, dim: dims });
    }
  };
  walk(args, Array.isArray(inDims) ? inDims : args.map(() => inDims));
  return leaves;
}

// Rebuilds args' structure from the leaves (in walk order).
function unflatten(args: unknown[], values: unknown[]): unknown[] {
  let k = 0;
  const build = (arg: unknown): unknown => (Array.isArray(arg) ? arg.map(build) : values[k++]);
  return args.map(build);
}

/**
 * torch.vmap(f, inDims = 0, outDims = 0): f mapped over a batch dim of its inputs. inDims says
 * where each input's batch dim is (null: the input is shared by all examples); outDims where the
 * batch dim goes in each output. f takes tensors (or arrays of them, or other values with a null
 * inDim) and returns a tensor or an array of tensors.
 *
 *   const perExample = torch.vmap((x: Tensor) => x.dot(w));        // [B, n] -> [B]
 *   const outer = torch.vmap(torch.vmap((a, b) => a.mul(b), [null, 0]), [0, null]);
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any function of tensors
export function vmap<F extends (...args: any[]) => Tensor | Tensor[]>(f: F, inDims: InDims = 0, outDims: number | number[] = 0): F {
  const name = fnName(f);
  const wrapped = (...args: unknown[]): Tensor | Tensor[] => {
    const where = `vmap(${name}, inDims=${JSON.stringify(inDims)}, ...)(<inputs>)`;
    if (args.length === 0) throw new Error(`vmap(${name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are trying to vmap over a function with no inputs. The latter is unsupported.`);
    if (!(Number.isInteger(outDims) || (Array.isArray(outDims) && outDims.every(Number.isInteger)))) {
      throw new Error(`vmap(${name}, ..., outDims=${JSON.stringify(outDims)}): outDims must be an int or an array of ints representing where in the outputs the vmapped dimension should appear.`);
    }
    const leaves = flattenInputs(args, inDims, where);
    let batchSize = -1;
    for (const { value, dim } of leaves) {
      if (dim === null) continue;
      if (!(value instanceof Tensor)) {
        throw new Error(`${where}: Got inDim=${dim} for an input but the input is of type ${value === null ? 'null' : typeof value}. We cannot vmap over non-Tensor arguments, please use null as the respective inDim`);
      }
      if (dim < -value.dim() || dim >= value.dim()) {
        throw new Error(`${where}: Got inDim=${dim} for some input, but that input is a Tensor of dimensionality ${value.dim()} so expected inDim to satisfy ${-value.dim()} <= inDim < ${value.dim()}.`);
      }
      const size = value.shape[dim < 0 ? dim + value.dim() : dim];
      if (batchSize >= 0 && size !== batchSize) {
        throw new Error(`vmap: Expected all tensors to have the same size in the mapped dimension, got sizes ${leaves.filter((l) => l.dim !== null).map((l) => (l.value as Tensor).shape[(l.dim as number) < 0 ? (l.dim as number) + (l.value as Tensor).dim() : (l.dim as number)]).join(', ')} for the mapped dimension`);
      }
      batchSize = size;
    }
    if (batchSize < 0) throw new Error(`${where}: at least one input must be a Tensor mapped over a dim (an inDim that is not null)`);

    const level = native.vmapIncrementNesting() as number;
    try {
      return tidy(() => {
        const batched = leaves.map(({ value, dim }) => {
          if (dim === null) return value;
          const t = value as Tensor;
          return wrap(native.addBatchDim(id(t), dim < 0 ? dim + t.dim() : dim, level));
        });
        const out = f(...unflatten(args, batched));
        const list = out instanceof Tensor ? [out] : out;
        if (!Array.isArray(list) || !list.every((o) => o instanceof Tensor)) {
          throw new Error(`vmap(${name}, ...): ${name} must only return Tensors (one, or an array of them), got ${Array.isArray(list) ? 'an array with a non-Tensor' : typeof out}.`);
        }
        const dims = Array.isArray(outDims) ? outDims : list.map(() => outDims);
        if (dims.length !== list.length) {
          throw new Error(`vmap(${name}, ..., outDims=${JSON.stringify(outDims)}): outDims must have one dim per output (got ${list.length} outputs) of ${name}.`);
        }
        const unbatched = list.map((o, k) => {
          if (native.isBatchedAt(id(o), level)) return wrap(native.removeBatchDim(id(o), level, batchSize, dims[k]));
          // the same for every example (it did not depend on a mapped input): repeated batchSize
          // times at outDim (PyTorch 1.13's own expand gets the order wrong for outDim > 0)
          const d = dims[k] < 0 ? dims[k] + o.dim() + 1 : dims[k];
          return o.unsqueeze(d).expand([...o.shape.slice(0, d), batchSize, ...o.shape.slice(d)]);
        });
        return out instanceof Tensor ? unbatched[0] : unbatched;
      });
    } finally {
      native.vmapDecrementNesting();
    }
  };
  return wrapped as F;
}
