// Test helpers: fixtures in, tensors compared.
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';

export const fixtures = path.join(__dirname, 'fixtures');

export interface EncodedTensor {
  shape: number[];
  dtype: string;
  data: number[];
}

export function readJson<T = unknown>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8')) as T;
}

export function decode(e: EncodedTensor, opts: { requiresGrad?: boolean } = {}): torch.Tensor {
  const dtype = (e.dtype === 'float' ? 'float32' : e.dtype === 'long' ? 'int64' : e.dtype) as torch.DType;
  return torch.tensor(e.data, { dtype, shape: e.shape, requiresGrad: opts.requiresGrad && dtype.startsWith('float') });
}

/** max |a - b| / max(|b|_max, tiny): the error relative to the reference's largest element. */
export function relErr(a: torch.Tensor, b: torch.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return torch.tidy(() => {
    const da = a.to({ dtype: 'float64' }), db = b.to({ dtype: 'float64' });
    const diff = da.sub(db).abs().max().item() as number;
    const scale = Math.max(db.abs().max().item() as number, 1e-30);
    return diff / scale;
  });
}

/** Elementwise max of |a-b| / (|b| + floor): relative per element, for logits-style checks. */
export function elemRelErr(a: torch.Tensor, b: torch.Tensor, floor = 1e-6): number {
  expect(a.shape).toEqual(b.shape);
  return torch.tidy(() => {
    const da = a.to({ dtype: 'float64' }), db = b.to({ dtype: 'float64' });
    return da.sub(db).abs().div(db.abs().add(floor)).max().item() as number;
  });
}
