// PyTorch's examples/time_sequence_prediction ported as written
// (scripts/examples/time-sequence-prediction.ts) against the Python original on the same sine
// waves (scripts/reference/time_sequence_ref.py): the model as built (bit for bit, then in
// float64), every loss LBFGS's closure computes through its line searches, each step's test
// loss, the final weights and the prediction into the future.
import * as torch from '../lib';
import { Sequence, sineWaves, trainSequence } from '../scripts/examples/time-sequence-prediction';
import { runExampleReference, stateDictDiff } from './helpers';

test('Sequence and train.py as PyTorch\'s: init bit for bit, every closure\'s loss and each test loss (1e-9, float64), final weights and the prediction; nothing left in memory', () => {
  const opt = { steps: 2, future: 40 };
  const data = sineWaves(12, 60, 20, 2);
  const ref = runExampleReference<{ losses: number[]; test_losses: number[] }>('time_sequence_ref.py', opt, { data });
  const before = torch.memory().liveTensors;
  torch.manualSeed(0);
  const built = new Sequence();
  built.double();
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();

  const { seq, losses, testLosses, pred } = trainSequence(data, opt);
  expect(losses.length).toBe(ref.out.losses.length);
  expect(losses.length).toBeGreaterThan(2 * opt.steps); // (LBFGS evaluates the closure many times a step)
  losses.forEach((l, i) => expect([i, Math.abs(l - ref.out.losses[i]) <= 1e-9 * Math.max(1, Math.abs(l))]).toEqual([i, true]));
  testLosses.forEach((l, i) => expect([i, Math.abs(l - ref.out.test_losses[i]) <= 1e-9]).toEqual([i, true]));
  expect(losses[losses.length - 1]).toBeLessThan(losses[0] / 2); // LBFGS fitted the waves
  expect(stateDictDiff(seq.stateDict(), ref.files.final)).toBeLessThan(1e-9);
  expect(pred.shape).toEqual([3, 59 + opt.future]);
  expect(stateDictDiff(new Map([['pred', pred]]), ref.files.pred)).toBeLessThan(1e-9);
  pred.dispose();
  seq.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  data.dispose();
  ref.dispose();
}, 300_000);
