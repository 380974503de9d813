// PyTorch's examples/differentiable_physics ported as written (scripts/examples/mass-spring.ts)
// against the Python original (scripts/reference/mass_spring_ref.py): backpropagation through
// every Euler step of the simulation, in-place index updates on tensors in the graph
// (forces[i] += force, forces[:, 1] -= g·m, positions[0] = p0, velocities[0] = 0) included; every
// epoch's loss, the learned initial positions, the final positions, and evaluate()'s no-grad run.
import * as torch from '../lib';
import { train, evaluate, defaults } from '../scripts/examples/mass-spring';
import { runExampleReference } from './helpers';

interface RefOut { losses: number[]; init: number[][]; initial: number[][]; final: number[][]; target: number[][]; evaluated: number[][] }

test('mass-spring system learned as PyTorch\'s: every epoch\'s loss and the positions (1e-5 relative); nothing left in memory', () => {
  const args = { ...defaults, epochs: 150, steps: 50, seed: 4 };
  const ref = runExampleReference<RefOut>('mass_spring_ref.py',
    { epochs: args.epochs, steps: args.steps, lr: args.lr, dt: args.dt, mass: args.mass, stiffness: args.stiffness, num_particles: args.numParticles, gravity: args.gravity, seed: args.seed });
  const before = torch.memory().liveTensors;
  torch.manualSeed(args.seed);
  const { losses, initial, final, target } = train(args);
  const evaluated = evaluate(args);
  expect(torch.memory().liveTensors).toBe(before);

  const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-3);
  expect(losses.length).toBe(args.epochs);
  expect(Math.max(...losses.map((l, i) => rel(l, ref.out.losses[i])))).toBeLessThan(1e-5);
  for (const [ours, theirs] of [[initial, ref.out.initial], [final, ref.out.final], [evaluated, ref.out.evaluated]]) {
    expect(Math.max(...ours.flat().map((v, i) => rel(v, theirs.flat()[i])))).toBeLessThan(1e-5);
  }
  expect(target).toEqual(ref.out.target);
  // it learned: the loss fell (the spring's particle was placed so that it ends near its target)
  expect(losses[losses.length - 1]).toBeLessThan(losses[0] / 2);
  ref.dispose();
}, 300_000);

test('with more than 2 particles the original\'s 2-point target does not fit, and says so as PyTorch does', () => {
  const before = torch.memory().liveTensors;
  expect(() => train({ ...defaults, epochs: 1, steps: 2, numParticles: 3 })).toThrow(/The size of tensor a \(3\) must match the size of tensor b \(2\) at non-singleton dimension 0/);
  expect(torch.memory().liveTensors).toBe(before);
});
