// Param groups as PyTorch's optimizers take them: a list of tensors, or groups with their own options.
import { Tensor } from '../tensor/tensor';

export type Groups<O> = Tensor[] | (O & { params: Tensor[] })[];

/** Param groups as PyTorch forms them: defaults, overridden per group; frozen parameters left out. */
export function paramGroups<O extends object>(name: string, params: Groups<O>, defaults: Required<O>, check: (o: Required<O>) => void): (Required<O> & { params: Tensor[] })[] {
  const groups: (Partial<O> & { params: Tensor[] })[] = params.length && params[0] instanceof Tensor ? [{ params: params as Tensor[] } as Partial<O> & { params: Tensor[] }] : (params as (O & { params: Tensor[] })[]);
  const out = groups.map((g) => {
    const group = { ...defaults, ...g, params: g.params.filter((p) => p.requiresGrad) } as Required<O> & { params: Tensor[] };
    check(group);
    return group;
  });
  const all = out.flatMap((g) => g.params);
  if (new Set(all).size !== all.length) throw new Error(`${name}: a parameter appears in more than one group`);
  if (!all.length) throw new Error(`${name}: no parameter requires grad (is everything frozen?)`);
  return out;
}
