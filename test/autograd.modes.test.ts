// Autograd modes against PyTorch: torch.inferenceMode (inference tensors and their refusals),
// anomaly detection (the NaN-producing node named), with PyTorch's own words for each case
// (scripts run through /usr/bin/python3 on the same values).
import * as torch from '../lib';
import { pythonJson } from './helpers';

const message = (fn: () => unknown): string | null => {
  try {
    fn();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
};

/** Python's side of message(): PyTorch's error text, or None. */
const PY_PRELUDE = `import json, torch
def msg(fn):
    try:
        fn(); return None
    except RuntimeError as e:
        return str(e)
`;

test('inferenceMode: inference tensors, no graph, and PyTorch\'s refusals outside the region', () => {
  const want = pythonJson(`${PY_PRELUDE}w = torch.ones(2, requires_grad=True)
with torch.inference_mode():
    y = w * 2
    inner = [torch.is_inference_mode_enabled(), y.requires_grad, y.is_inference()]
    with torch.inference_mode(mode=False):
        nested = torch.is_inference_mode_enabled()
out = {"inner": inner, "nested": nested, "after": torch.is_inference_mode_enabled(),
       "saved": msg(lambda: (w * y).sum().backward()), "inplace": msg(lambda: y.add_(1)),
       "requires_grad": msg(lambda: y.requires_grad_()), "clone": y.clone().is_inference(), "values": y.tolist()}
print(json.dumps(out))
`);
  torch.tidy(() => {
    const w = torch.ones([2], { requiresGrad: true });
    let inner: boolean[] = [], nested = true;
    const y = torch.inferenceMode(() => {
      const r = w.mul(2);
      inner = [torch.isInferenceModeEnabled(), r.requiresGrad, r.isInference()];
      nested = torch.inferenceMode(() => torch.isInferenceModeEnabled(), { mode: false });
      return r;
    });
    const got = {
      inner, nested, after: torch.isInferenceModeEnabled(),
      saved: message(() => w.mul(y).sum().backward()), inplace: message(() => y.add_(1)),
      requires_grad: message(() => y.requiresGrad_()), clone: y.clone().isInference(), values: y.tolist(),
    };
    expect(got).toEqual(want);
    // a clone is a normal tensor again: training can use it (y is [3, 3] now: PyTorch's add_ above
    // wrote before it refused, in PyTorch too)
    const c = y.clone();
    w.mul(c).sum().backward();
    expect(w.grad!.tolist()).toEqual(c.tolist());
    // an error inside leaves the mode as it was
    expect(() => torch.inferenceMode(() => { throw new Error('inside'); })).toThrow('inside');
    expect(torch.isInferenceModeEnabled()).toBe(false);
  });
});

test('arithmetic with a number under inference mode leaves nothing that breaks training after it', () => {
  // (the native layer reuses a 0-d tensor for a number operand; one made under inference mode is an
  // inference tensor, which a graph outside cannot save: "Inference tensors cannot be saved for backward")
  torch.tidy(() => {
    const x = torch.ones([2], { dtype: 'float64', requiresGrad: true });
    const held = x.mul(2); // its graph holds the reused number: the next one is made anew ...
    torch.inferenceMode(() => torch.ones([2], { dtype: 'float64' }).mul(3)); // ... here, in inference mode
    held.dispose();
    const w = torch.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    w.mul(5).div(2).add(1).sub(3).sum().backward();
    expect(w.grad!.tolist()).toEqual([2.5, 2.5]);
  });
});

test('GPT-2 forward and generate run in inference mode as they do without it', () => {
  const m = new torch.GPT2LMHeadModel({ vocab_size: 50, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2 });
  m.eval();
  const ids = torch.tensor([[1, 2, 3, 4]]);
  const plain = torch.noGrad(() => m.forward(ids).logits);
  const inf = torch.inferenceMode(() => m.forward(ids).logits);
  expect(inf.isInference()).toBe(true);
  expect(torch.equal(plain, inf)).toBe(true);
  const greedy = (f: <T>(fn: () => T) => T) => f(() => m.generate(ids, { maxNewTokens: 5, doSample: false }));
  expect(greedy(torch.inferenceMode)).toEqual(greedy(torch.noGrad));
  m.dispose();
});

test('anomaly detection names the node that made NaN gradients, as PyTorch does', () => {
  const want = pythonJson(`${PY_PRELUDE}x = torch.tensor([0., 1.], requires_grad=True)
with torch.autograd.detect_anomaly():
    div = msg(lambda: (x / x).sum().backward())
    sq = msg(lambda: x.sqrt().sum().backward())
with torch.autograd.detect_anomaly(check_nan=False):
    quiet = msg(lambda: (x / x).sum().backward())
plain = msg(lambda: (x / x).sum().backward())
print(json.dumps({"div": div, "sqrt": sq, "quiet": quiet, "plain": plain, "grad": [str(v) for v in x.grad.tolist()]}))
`);
  torch.tidy(() => {
    const x = torch.tensor([0, 1], { dtype: 'float32', requiresGrad: true });
    const got = torch.autograd.detectAnomaly(() => ({
      div: message(() => x.div(x).sum().backward()),
      sqrt: message(() => x.sqrt().sum().backward()),
      enabled: torch.autograd.isAnomalyEnabled(),
    }));
    const quiet = torch.autograd.detectAnomaly(() => message(() => x.div(x).sum().backward()), { checkNan: false });
    const plain = message(() => x.div(x).sum().backward());
    expect({ div: got.div, sqrt: got.sqrt, quiet, plain, grad: (x.grad!.tolist() as number[]).map((v) => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : String(v))) })
      .toEqual({ ...want, grad: (want.grad as string[]).map((v) => v.replace(/\.0$/, '')) });
    expect(got.enabled).toBe(true);
    expect(torch.autograd.isAnomalyEnabled()).toBe(false);
    torch.autograd.setDetectAnomaly(true);
    expect(torch.autograd.isAnomalyEnabled()).toBe(true);
    torch.autograd.setDetectAnomaly(false);
  });
});
