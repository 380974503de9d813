// Complex tensors beyond the op cases (test/ops.cases.ts checks complex math, torch.fft, stft and
// linalg.eig against PyTorch, values and gradients): how complex values enter and leave JS,
// their gradients, PyTorch checkpoints with complex tensors both ways, and clear errors.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';

const REF = path.join(__dirname, '..', 'scripts', 'reference');
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-complex-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function python(code: string, ...args: string[]): void {
  const r = spawnSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: REF } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

describe('complex values in and out of JS', () => {
  test('torch.tensor takes { re, im } (numbers mix in as x + 0i); tolist gives them back', () => {
    torch.tidy(() => {
      const z = torch.tensor([[{ re: 1, im: 2 }, 3], [{ re: -0.5, im: 0.25 }, { re: 0, im: -1 }]]);
      expect(z.dtype).toBe('complex64');
      expect(z.shape).toEqual([2, 2]);
      expect(z.tolist()).toEqual([[{ re: 1, im: 2 }, { re: 3, im: 0 }], [{ re: -0.5, im: 0.25 }, { re: 0, im: -1 }]]);
      // The parts are views: writing the real part writes z.
      z.real.mul_(2);
      expect(z.real.tolist()).toEqual([[2, 6], [-1, 0]]);
      expect(z.imag.tolist()).toEqual([[2, 0], [0.25, -1]]);
      const d = torch.tensor([{ re: 0.1, im: -0.2 }], { dtype: 'complex128' });
      expect(d.dtype).toBe('complex128');
      expect(Array.from(d.data() as Float64Array)).toEqual([0.1, -0.2]); // float64 parts, exactly
      expect(torch.tensor([1, 2], { dtype: 'complex64' }).tolist()).toEqual([{ re: 1, im: 0 }, { re: 2, im: 0 }]);
    });
  });
  test('the default complex dtype follows the default float dtype', () => {
    torch.tidy(() => {
      torch.setDefaultDtype('float64');
      try {
        expect(torch.tensor([{ re: 1, im: 1 }]).dtype).toBe('complex128');
        expect(String(torch.tensor([{ re: 1, im: 1 }]))).toBe('tensor([1.+1.j])');
      } finally {
        torch.setDefaultDtype('float32');
      }
      expect(String(torch.tensor([{ re: 1, im: 1 }], { dtype: 'complex128' }))).toBe('tensor([1.+1.j], dtype=torch.complex128)');
    });
  });
  test('data() interleaves (re, im) as viewAsReal does, with lazy conjugates resolved', () => {
    torch.tidy(() => {
      const z = torch.complex(torch.tensor([1.5, -2]), torch.tensor([0.5, 4]));
      expect(Array.from(z.data() as Float64Array)).toEqual([1.5, 0.5, -2, 4]);
      const c = z.conj();
      expect(c.isConj()).toBe(true);
      expect(Array.from(c.data() as Float64Array)).toEqual([1.5, -0.5, -2, -4]);
      expect(c.tolist()).toEqual([{ re: 1.5, im: -0.5 }, { re: -2, im: -4 }]);
      // imag of a conjugate is a lazily negated view: its memory is read negated too
      expect(Array.from(c.imag.data() as Float64Array)).toEqual([-0.5, -4]);
      expect(Array.from(c.imag.bytes())).toEqual(Array.from(torch.tensor([-0.5, -4]).bytes()));
      expect(c.resolveConj().isConj()).toBe(false);
    });
  });
  test('gradients of real losses of complex leaves follow PyTorch (conjugate Wirtinger) convention', () => {
    torch.tidy(() => {
      const z = torch.tensor([{ re: 1, im: 2 }, { re: -3, im: 0.5 }], { dtype: 'complex128', requiresGrad: true });
      // d/dz of sum |z|^2 is 2 z in PyTorch's convention; of sum Re(z) it is 1.
      z.abs().pow(2).sum().add(z.real.sum()).backward();
      const want = torch.tensor([{ re: 3, im: 4 }, { re: -5, im: 1 }], { dtype: 'complex128' });
      expect(z.grad!.sub(want).abs().max().item()).toBeLessThan(1e-15);
      expect(() => z.mul(2).sum().backward()).toThrow(/grad can be implicitly created only for real scalar outputs/);
      expect(() => torch.autograd.grad(z.mul(2).sum(), [z])).toThrow(/grad can be implicitly created only for real scalar outputs/);
      expect(() => torch.autograd.backward([z.real.sum(), z.sum()])).toThrow(/only for real scalar outputs/);
      // with the output's gradient given, a complex output is fine
      const [g] = torch.autograd.grad(z.mul(2).sum(), [z], { gradOutputs: [torch.tensor({ re: 1, im: 0 }, { dtype: 'complex128' })] });
      expect(g!.tolist()).toEqual([{ re: 2, im: 0 }, { re: 2, im: 0 }]);
    });
  });
});

describe('PyTorch checkpoints with complex tensors', () => {
  test('Python -> tstorch and tstorch -> Python, bit for bit (ComplexFloatStorage / ComplexDoubleStorage)', () => {
    const fromPy = path.join(tmp, 'py.pt'), fromUs = path.join(tmp, 'ts.pt');
    python(`
import sys, torch
torch.manual_seed(0)
torch.save({"c64": torch.randn(3, 2, dtype=torch.complex64), "c128": torch.randn(4, dtype=torch.complex128).conj()}, sys.argv[1])
`, fromPy);
    const loaded = torch.load(fromPy);
    expect(loaded.get('c64')!.dtype).toBe('complex64');
    expect(loaded.get('c128')!.dtype).toBe('complex128');
    torch.save({ c64: loaded.get('c64')!, c128: loaded.get('c128')!, twice: loaded.get('c64')!.mul(2) }, fromUs);
    // Python compares what we wrote with its own tensors (the conjugate written as its values).
    python(`
import sys, torch
a, b = torch.load(sys.argv[1]), torch.load(sys.argv[2])
assert a["c64"].dtype == torch.complex64 and b["c128"].dtype == torch.complex128
assert torch.equal(a["c64"], b["c64"]) and torch.equal(a["c128"].resolve_conj(), b["c128"]), "mismatch"
assert torch.equal(b["twice"], a["c64"] * 2)
`, fromPy, fromUs);
  });
  test('safetensors, which has no complex dtype, refuses them with the way out', () => {
    torch.tidy(() => {
      const file = path.join(tmp, 'c.safetensors');
      const z = torch.complex(torch.randn([2]), torch.randn([2]));
      expect(() => torch.io.safetensors.saveFile(file, { z })).toThrow("safetensors: 'z' is complex64, which safetensors cannot hold: save torch.viewAsReal(x)");
      expect(fs.existsSync(file)).toBe(false);
      torch.io.safetensors.saveFile(file, { z: torch.viewAsReal(z) });
      const back = torch.viewAsComplex(torch.io.safetensors.loadFile(file).tensors.get('z')!);
      expect(torch.equal(back, z)).toBe(true);
    });
  });
});

describe('bad input is a clear error, never a crash', () => {
  test('complex values', () => {
    torch.tidy(() => {
      const x = torch.randn([3]);
      expect(() => torch.tensor([{ re: 1, im: 0 }], { dtype: 'float32' })).toThrow(/complex values need a complex dtype \(complex64 or complex128\), got 'float32'/);
      expect(() => torch.tensor([1, { re: 1, im: 0 }] as never)).toThrow(/complex values \{ re, im \} must come first or not at all/);
      expect(() => torch.tensor([{ re: 1, im: 0 }, 'a'] as never)).toThrow(/expected a number or \{ re, im \}, got "a"/);
      expect(() => torch.tensor([{ re: 1, im: 2 }]).sum().item()).toThrow(/item\(\) gives one number, and a complex value has two: use x.real.item\(\) and x.imag.item\(\)/);
      expect(() => x.imag).toThrow(/imag is not implemented for tensors with non-complex dtypes/);
      expect(() => torch.viewAsComplex(torch.randn([3, 3]))).toThrow(/Tensor must have a last dimension of size 2/);
      expect(() => torch.complex(x, torch.randn([3], { dtype: 'float64' }))).toThrow(/Expected object of scalar type Float but got scalar type Double|same dtype/);
      expect(() => torch.tensor([1], { dtype: 'complex32' as never })).toThrow(/unknown dtype 'complex32'/);
    });
  });
  test('fft and stft', () => {
    torch.tidy(() => {
      const x = torch.randn([4, 8]);
      expect(() => torch.fft.fft(x, { norm: 'half' as never })).toThrow("fft.fft: norm must be 'backward', 'ortho' or 'forward', got 'half'");
      expect(() => torch.fft.rfft2(x, { norm: 'none' as never })).toThrow(/fft.rfft2: norm must be/);
      expect(() => torch.fft.fft(x, 0)).toThrow(/Invalid number of data points \(0\) specified/);
      expect(() => torch.fft.fft(x, null, 2)).toThrow(/Dimension out of range/);
      expect(() => torch.fft.fftn(x, [4, 8, 2])).toThrow(/Got shape with 3 values but input tensor only has 2 dimensions/);
      expect(() => torch.fft.rfft(torch.complex(x, x))).toThrow(/rfft expects a real input tensor|expects a real/);
      expect(() => torch.stft(x, 16)).toThrow("stft: with center (the default) and padMode 'reflect', the signal (length 8) must be longer than nFft / 2 = 8: use a smaller nFft, or padMode 'constant'");
      expect(() => torch.stft(x, 16, { center: false })).toThrow(/n_fft/);
      expect(() => torch.stft(x, 4, { window: torch.hannWindow(3) })).toThrow(/window/);
      expect(() => torch.stft(torch.randn([2, 3, 16]), 4)).toThrow(/expected a 1D or 2D tensor/);
      expect(() => torch.hannWindow(-1)).toThrow(/requires non-negative window_length/);
    });
  });
});
