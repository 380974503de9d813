// torch.func.jvp by forward-mode AD: f's outputs and their Jacobian-vector products in one pass.
import { Tensor } from './tensor';
import { tidy, keep } from './scope';
import { dualLevel, makeDual, unpackDual } from './forward_ad';
import { zerosLike } from './creation';

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
