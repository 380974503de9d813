// PyTorch's examples/differentiable_physics (mass_spring.py, BSD-3-Clause) ported as written with
// tstorch: a mass-spring system stepped by semi-implicit Euler integration, differentiable end to
// end, and the initial positions of its free particles learned with Adam by backpropagating the
// distance of the final positions from a target through every simulation step. The Python
// in-place index updates (forces[i] += force, forces[:, 1] -= g·m, positions[0] = p0) become
// index(...).add_ / sub_ and indexPut_, with the same autograd. matplotlib's figure is left out:
// the three point sets it plots are returned (and printed). test/mass_spring.test.ts runs it
// beside the Python original.
//   node dist/scripts/examples/mass-spring.js [--epochs 1000] [--steps 50] [--mode train|eval]
import * as torch from '../../lib';

const nn = torch.nn;
type Tensor = torch.Tensor;
/** A spring between particles i and j: [i, j, restLength, stiffness]. */
type Spring = [number, number, number, number];

export class MassSpringSystem extends nn.Module {
  mass: number;
  springs: Spring[];
  dt: number;
  gravity: number;
  initial_position_0: Tensor;
  declare initial_positions_rest: Tensor;
  velocities: Tensor;
  constructor(numParticles: number, springs: Spring[], { mass = 1.0, dt = 0.01, gravity = 9.81, device = 'cpu' as torch.Device } = {}) {
    super();
    this.mass = mass;
    this.springs = springs;
    this.dt = dt;
    this.gravity = gravity;

    // Particle 0 is fixed at the origin
    this.initial_position_0 = torch.keep(torch.tensor([0.0, 0.0], { device }));

    // Remaining particles are trainable
    this.initial_positions_rest = nn.Parameter(torch.randn([numParticles - 1, 2], { device }));

    // Velocities
    this.velocities = torch.keep(torch.zeros([numParticles, 2], { device }));
  }

  forward(steps: number): Tensor {
    return torch.tidy(() => {
      let positions = torch.cat([this.initial_position_0.unsqueeze(0), this.initial_positions_rest], 0);
      let velocities = this.velocities;

      for (let step = 0; step < steps; step++) {
        const forces = torch.zerosLike(positions);

        // Compute spring forces
        for (const [i, j, restLength, stiffness] of this.springs) {
          const [xi, xj] = [positions.index(i), positions.index(j)];
          const dirVec = xj.sub(xi);
          const dist = dirVec.norm();
          const force = dist.sub(restLength).mul(stiffness).mul(dirVec).div(dist.add(1e-6));
          forces.index(i).add_(force);
          forces.index(j).sub_(force);
        }

        // Apply gravity
        forces.index(':', 1).sub_(this.gravity * this.mass);

        // Semi-implicit Euler integration
        const acceleration = forces.div(this.mass);
        velocities = velocities.add(acceleration.mul(this.dt));
        positions = positions.add(velocities.mul(this.dt));

        // Fix particle 0 at origin
        positions.indexPut_([0], this.initial_position_0);
        velocities.indexPut_([0], torch.tensor([0.0, 0.0], { device: positions.device }));
      }
      return positions;
    });
  }

  override dispose(): void {
    this.initial_position_0.dispose();
    this.velocities.dispose();
    super.dispose();
  }
}

export interface MassSpringArgs { epochs: number; steps: number; lr: number; dt: number; mass: number; stiffness: number; numParticles: number; gravity: number; logInterval: number; log?: (line: string) => void }

const systemOf = (args: MassSpringArgs) => new MassSpringSystem(args.numParticles, [[0, 1, 1.0, args.stiffness]], { mass: args.mass, dt: args.dt, gravity: args.gravity });

/** mass_spring.py's train(args): the losses, and the initial, final and target positions its figure plots. */
export function train(args: MassSpringArgs) {
  const system = systemOf(args);

  const optimizer = new torch.optim.Adam(system.parameters(), { lr: args.lr });
  const targetPositions = torch.tensor([[0.0, 0.0], [1.0, 0.0]]);

  const losses: number[] = [];
  let finalPositions: Tensor | null = null;
  try {
    for (let epoch = 0; epoch < args.epochs; epoch++) {
      finalPositions?.dispose();
      finalPositions = torch.tidy(() => {
        optimizer.zeroGrad();
        const finalPositions = system(args.steps);
        const loss = finalPositions.sub(targetPositions).pow(2).mean();
        loss.backward();
        optimizer.step();
        losses.push(loss.item());
        return finalPositions.detach();
      });

      if ((epoch + 1) % args.logInterval === 0) {
        args.log?.(`Epoch ${epoch + 1}/${args.epochs}, Loss: ${losses[epoch].toFixed(6)}`);
      }
    }

    // (the figure's three point sets)
    const initial = torch.tidy(() => torch.cat([system.initial_position_0.unsqueeze(0), system.initial_positions_rest.detach()], 0).tolist() as number[][]);
    const final = finalPositions!.tolist() as number[][], target = targetPositions.tolist() as number[][];
    args.log?.('\nTraining completed.');
    args.log?.(`Final positions:\n${finalPositions!.toString()}`);
    args.log?.(`Target positions:\n${targetPositions.toString()}`);
    return { losses, initial, final, target };
  } finally {
    // (what Python's garbage collector frees, on success or error)
    finalPositions?.dispose();
    targetPositions.dispose();
    optimizer.dispose();
    system.dispose();
  }
}

/** mass_spring.py's evaluate(args): a new system (fresh random positions) simulated without autograd. */
export function evaluate(args: MassSpringArgs): number[][] {
  const system = systemOf(args);
  const positions = torch.noGrad(() => torch.tidy(() => system(args.steps).tolist() as number[][]));
  args.log?.(`Final positions after ${args.steps} steps:\n${JSON.stringify(positions)}`);
  system.dispose();
  return positions;
}

export const defaults: MassSpringArgs = { epochs: 1000, steps: 50, lr: 0.01, dt: 0.01, mass: 1.0, stiffness: 10.0, numParticles: 2, gravity: 9.81, logInterval: 100 };

if (require.main === module) {
  const flag = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const args: MassSpringArgs = { ...defaults, log: console.log };
  for (const k of ['epochs', 'steps', 'lr', 'dt', 'mass', 'stiffness', 'gravity'] as const) if (flag(`--${k}`) !== undefined) args[k] = Number(flag(`--${k}`));
  if (flag('--num_particles') !== undefined) args.numParticles = Number(flag('--num_particles'));
  if (flag('--mode') === 'eval') evaluate(args);
  else train(args);
}
