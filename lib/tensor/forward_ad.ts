// torch.autograd.forward_ad: forward-mode automatic differentiation. A dual tensor carries a
// tangent beside its value; every op propagates it (libtorch's forward formulas), so one pass
// gives the Jacobian-vector product J·v without a backward.
import { NamedTuple, namedTuple } from './named_tuple';
import { native } from './native';
import { Tensor, _wrap as wrap, _id as id } from './tensor';

let currentLevel = -1;

/** Enters a new forward-AD level (dual tensors belong to one); returns it. */
export function enterDualLevel(): number {
  const level = native.enterDualLevel() as number;
  if (level !== currentLevel + 1) throw new Error('Entering a new forward AD level but the current level is not valid.');
  currentLevel = level;
  return level;
}
/** Exits the innermost level: the tangents of that level are dropped. */
export function exitDualLevel(opts: { level?: number } = {}): void {
  const level = opts.level ?? currentLevel;
  if (level !== currentLevel) throw new Error('Trying to exit a forward AD level that was not the last one that was created. This is not supported.');
  native.exitDualLevel(level);
  currentLevel = level - 1;
}
/** Runs fn inside a new forward-AD level (torch.autograd.forward_ad.dual_level). Synchronous. */
export function dualLevel<T>(fn: () => T): T {
  enterDualLevel();
  try {
    return fn();
  } finally {
    exitDualLevel();
  }
}
/** A tensor with tangent attached (a view of it: the same values); needs a level (dualLevel). */
export function makeDual(tensor: Tensor, tangent: Tensor, opts: { level?: number } = {}): Tensor {
  const level = opts.level ?? currentLevel;
  if (level < 0) throw new Error('Trying to create a dual Tensor for forward AD but no level exists, make sure to enter_dual_level() first.');
  if (!(tensor.isFloatingPoint() || tensor.isComplex())) throw new Error(`Expected primal to be floating point or complex, but got: ${tensor.dtype}`);
  if (!(tangent.isFloatingPoint() || tangent.isComplex())) throw new Error(`Expected tangent to be floating point or complex, but got: ${tangent.dtype}`);
  return wrap(native.makeDual(id(tensor), id(tangent), level));
}
/** A dual tensor's value and tangent (null when it has none at this level). */
export function unpackDual(tensor: Tensor, opts: { level?: number } = {}): NamedTuple<{ primal: Tensor; tangent: Tensor | null }> {
  const level = opts.level ?? currentLevel;
  if (level < 0) return namedTuple({ primal: tensor, tangent: null });
  const [p, t] = native.unpackDual(id(tensor), level) as number[];
  return namedTuple({ primal: wrap(p), tangent: t < 0 ? null : wrap(t) });
}
