// Parameter initialisers (torch.nn.init), in place under noGrad.
import { Tensor } from '../tensor/tensor';
import { noGrad } from '../tensor/runtime';

function fanIn(t: Tensor): number {
  const s = t.shape;
  if (s.length < 2) throw new Error('fan in needs a tensor with at least 2 dims');
  return s[1] * s.slice(2).reduce((a, b) => a * b, 1);
}

/** kaiming_uniform_(a, mode='fan_in', nonlinearity='leaky_relu'), as PyTorch. */
export function kaimingUniform_(t: Tensor, a = 0): Tensor {
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = Math.sqrt(3) * (gain / Math.sqrt(fanIn(t)));
  return noGrad(() => t.uniform_(-bound, bound));
}
export const normal_ = (t: Tensor, mean = 0, std = 1) => noGrad(() => t.normal_(mean, std));
export const zeros_ = (t: Tensor) => noGrad(() => t.zero_());
export const ones_ = (t: Tensor) => noGrad(() => t.fill_(1));
