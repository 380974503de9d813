// PyTorch's examples/reinforcement_learning (reinforce.py, actor_critic.py) ported as written
// (scripts/examples/reinforce.ts) against the Python originals on the same CartPole starts
// (scripts/reference/reinforce_ref.py): the policy as built (bit for bit), then every episode —
// dropout's masks and Categorical's samples drawn as PyTorch draws them, so the same actions,
// the same episode lengths — and its loss, and the policy after training.
import * as torch from '../lib';
import { Policy, ActorCritic, main, actorCritic, startStates } from '../scripts/examples/reinforce';
import { runExampleReference, stateDictDiff } from './helpers';

const algos = {
  reinforce: { build: () => new Policy(), run: (starts: number[][], o: object) => { const r = main(starts, o); return { model: r.policy, ...r }; }, lr: 1e-2, startSeed: 543 },
  actor_critic: { build: () => new ActorCritic(), run: (starts: number[][], o: object) => actorCritic(starts, o), lr: 3e-2, startSeed: 7 },
};

test.each(['reinforce', 'actor_critic'] as const)('%s as PyTorch\'s: init bit for bit, every episode\'s reward (the same actions drawn) and loss (1e-4 relative), the final model; nothing left in memory', (algo) => {
  const a = algos[algo];
  const opt = { gamma: 0.99, seed: 543, lr: a.lr };
  const starts = startStates(30, a.startSeed);
  const ref = runExampleReference<{ episodes: { reward: number; loss: number }[]; running_reward: number }>('reinforce_ref.py', { algo, ...opt, starts });
  const before = torch.memory().liveTensors;
  torch.manualSeed(opt.seed);
  const built = a.build();
  expect(stateDictDiff(built.stateDict(), ref.files.init)).toBe(0);
  built.dispose();

  const { model, episodes, runningReward } = a.run(starts, opt);
  expect(episodes.length).toBe(ref.out.episodes.length);
  expect(new Set(episodes.map((e) => e.reward)).size).toBeGreaterThan(5); // (episodes of many lengths: the actions matter)
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
