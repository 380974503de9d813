// PyTorch's examples/reinforcement_learning/reinforce.py ported as written
// (scripts/examples/reinforce.ts) against the Python original on the same CartPole starts
// (scripts/reference/reinforce_ref.py): the policy as built (bit for bit), then every episode —
// dropout's masks and Categorical's samples drawn as PyTorch draws them, so the same actions,
// the same episode lengths — and its policy-gradient loss, and the policy after training.
import * as torch from '../lib';
import { Policy, ActorCritic, main, actorCritic, startStates } from '../scripts/examples/reinforce';
import { runExampleReference, stateDictDiff } from './helpers';

test('REINFORCE as PyTorch\'s: init bit for bit, every episode\'s reward (the same actions drawn) and loss (1e-4 relative), the final policy; nothing left in memory', () => {
  const opt = { gamma: 0.99, seed: 543, lr: 1e-2 };
  const starts = startStates(30, 543);
  const ref = runExampleReference<{ episodes: { reward: number; loss: number }[]; running_reward: number }>('reinforce_ref.py', { ...opt, starts });
  const before = torch.memory().liveTensors;
  torch.manualSeed(opt.seed);
  const built = new Policy();
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();

  const { policy, episodes, runningReward } = main(starts, opt);
  expect(episodes.length).toBe(ref.out.episodes.length);
  episodes.forEach((e, i) => {
    const w = ref.out.episodes[i];
    expect([i, e.reward, Math.abs(e.loss - w.loss) <= 1e-4 * Math.max(1, Math.abs(w.loss))]).toEqual([i, w.reward, true]);
  });
  expect(Math.abs(runningReward - ref.out.running_reward)).toBeLessThan(1e-9);
  expect(stateDictDiff(policy.stateDict(), ref.files.final)).toBeLessThan(1e-4);
  policy.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  ref.dispose();
}, 300_000);

test('actor-critic as PyTorch\'s: init bit for bit, every episode\'s reward and loss (value head, advantages, smooth_l1_loss), the final model; nothing left in memory', () => {
  const opt = { gamma: 0.99, seed: 543, lr: 3e-2 };
  const starts = startStates(30, 7);
  const ref = runExampleReference<{ episodes: { reward: number; loss: number }[]; running_reward: number }>('reinforce_ref.py', { algo: 'actor_critic', ...opt, starts });
  const before = torch.memory().liveTensors;
  torch.manualSeed(opt.seed);
  const built = new ActorCritic();
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();

  const { model, episodes, runningReward } = actorCritic(starts, opt);
  expect(episodes.length).toBe(ref.out.episodes.length);
  episodes.forEach((e, i) => {
    const w = ref.out.episodes[i];
    expect([i, e.reward, Math.abs(e.loss - w.loss) <= 1e-4 * Math.max(1, Math.abs(w.loss))]).toEqual([i, w.reward, true]);
  });
  expect(Math.abs(runningReward - ref.out.running_reward)).toBeLessThan(1e-9);
  expect(stateDictDiff(model.stateDict(), ref.files.final)).toBeLessThan(1e-4);
  model.dispose();
  expect(torch.memory().liveTensors).toBe(before);
  ref.dispose();
}, 300_000);
