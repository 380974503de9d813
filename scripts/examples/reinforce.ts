// PyTorch's examples/reinforcement_learning (reinforce.py and actor_critic.py, BSD-3-Clause)
// ported as written with tstorch: REINFORCE on CartPole — a policy network with dropout, actions
// drawn from Categorical(probs), the log-probabilities kept, discounted and normalised returns,
// Adam — and the actor-critic variant (a value head, advantages, smooth_l1_loss). gym
// is not installed here (nor anything to download), so CartPole-v1's physics come with it, step
// for step as gym's; test/reinforce.test.ts runs it beside the Python original on the same
// starting states.
//   node dist/scripts/examples/reinforce.js [--episodes 300]
import * as torch from '../../lib';

const nn = torch.nn;
const F = nn.functional;

/** gym's CartPole-v1 (its dynamics, termination and reward); reset() takes the start state, which gym draws from U(-0.05, 0.05). */
export class CartPole {
  static readonly rewardThreshold = 475.0;
  private readonly gravity = 9.8;
  private readonly masscart = 1.0;
  private readonly masspole = 0.1;
  private readonly totalMass = this.masspole + this.masscart;
  private readonly length = 0.5; // actually half the pole's length
  private readonly polemassLength = this.masspole * this.length;
  private readonly forceMag = 10.0;
  private readonly tau = 0.02; // seconds between state updates
  // Angle at which to fail the episode
  private readonly thetaThresholdRadians = (12 * 2 * Math.PI) / 360;
  private readonly xThreshold = 2.4;
  private state: [number, number, number, number] = [0, 0, 0, 0];
  /** the state as gym gives it: float32 */
  private observe(): Float32Array { return Float32Array.from(this.state); }
  reset(start: number[]): Float32Array {
    this.state = [start[0], start[1], start[2], start[3]];
    return this.observe();
  }
  step(action: number): [Float32Array, number, boolean] {
    let [x, xDot, theta, thetaDot] = this.state;
    const force = action === 1 ? this.forceMag : -this.forceMag;
    const costheta = Math.cos(theta);
    const sintheta = Math.sin(theta);
    // For the interested reader: https://coneural.org/florian/papers/05_cart_pole.pdf
    const temp = (force + this.polemassLength * thetaDot ** 2 * sintheta) / this.totalMass;
    const thetaacc = (this.gravity * sintheta - costheta * temp) / (this.length * (4.0 / 3.0 - (this.masspole * costheta ** 2) / this.totalMass));
    const xacc = temp - (this.polemassLength * thetaacc * costheta) / this.totalMass;
    // euler
    x = x + this.tau * xDot;
    xDot = xDot + this.tau * xacc;
    theta = theta + this.tau * thetaDot;
    thetaDot = thetaDot + this.tau * thetaacc;
    this.state = [x, xDot, theta, thetaDot];
    const terminated = x < -this.xThreshold || x > this.xThreshold || theta < -this.thetaThresholdRadians || theta > this.thetaThresholdRadians;
    return [this.observe(), 1.0, terminated];
  }
}

/** Both scripts' returns: each step's discounted reward-to-go, normalised to mean 0 and std 1 (eps: np.finfo(np.float32).eps). */
function normalizedReturns(rewards: number[], gamma: number): torch.Tensor {
  const eps = 1.1920928955078125e-7;
  let R = 0;
  const returns: number[] = [];
  for (const r of [...rewards].reverse()) {
    R = r + gamma * R;
    returns.unshift(R);
  }
  const ret = torch.tensor(returns);
  return ret.sub(ret.mean()).div(ret.std().add(eps));
}

/**
 * Both scripts' main loop: an episode from each start state (until done, at most 9999 steps), the
 * agent learning after each; stops early once the running reward passes CartPole's threshold.
 */
function runEpisodes(env: CartPole, starts: number[][], agent: { selectAction(s: Float32Array): number; rewards: number[]; finishEpisode(): number }, log?: (line: string) => void) {
  let runningReward = 10;
  const episodes: { reward: number; loss: number }[] = [];
  for (const start of starts) {
    // reset environment and episode reward
    let state = env.reset(start);
    let epReward = 0;
    for (let t = 1; t < 10000; t++) { // Don't infinite loop while learning
      const action = agent.selectAction(state);
      const [next, reward, done] = env.step(action);
      state = next;
      agent.rewards.push(reward);
      epReward += reward;
      if (done) break;
    }
    // update cumulative reward, then learn from the episode
    runningReward = 0.05 * epReward + (1 - 0.05) * runningReward;
    episodes.push({ reward: epReward, loss: agent.finishEpisode() });
    if (log && episodes.length % 10 === 0) log(`Episode ${episodes.length}\tLast reward: ${epReward.toFixed(2)}\tAverage reward: ${runningReward.toFixed(2)}`);
    if (runningReward > CartPole.rewardThreshold) {
      log?.(`Solved! Running reward is now ${runningReward} and the last episode runs to ${epReward} time steps!`);
      break;
    }
  }
  return { episodes, runningReward };
}

export class Policy extends nn.Module {
  declare affine1: torch.nn.Linear;
  declare dropout: torch.nn.Dropout;
  declare affine2: torch.nn.Linear;
  savedLogProbs: torch.Tensor[] = [];
  rewards: number[] = [];
  constructor() {
    super();
    this.affine1 = new nn.Linear(4, 128);
    this.dropout = new nn.Dropout({ p: 0.6 });
    this.affine2 = new nn.Linear(128, 2);
  }
  forward(x: torch.Tensor): torch.Tensor {
    return torch.tidy(() => {
      x = this.affine1(x);
      x = this.dropout(x);
      x = F.relu(x);
      const actionScores = this.affine2(x);
      return F.softmax(actionScores, { dim: 1 });
    });
  }
}

/** reinforce.py's main(): episodes until the running reward passes the threshold (or maxEpisodes); each episode's reward and loss. */
export function main(starts: number[][], o: { gamma?: number; seed?: number; lr?: number; log?: (line: string) => void } = {}) {
  const gamma = o.gamma ?? 0.99;
  const env = new CartPole();
  torch.manualSeed(o.seed ?? 543);
  const policy = new Policy();
  const optimizer = new torch.optim.Adam(policy.parameters(), { lr: o.lr ?? 1e-2 });

  const selectAction = (state: Float32Array): number => {
    const [action, logProb] = torch.tidy(() => {
      const s = torch.tensor(Array.from(state)).float().unsqueeze(0);
      const probs = policy(s);
      const m = new torch.distributions.Categorical(probs);
      const action = m.sample();
      return [action, m.logProb(action)];
    });
    policy.savedLogProbs.push(logProb);
    const a = action.item();
    action.dispose();
    return a;
  };

  const finishEpisode = (): number => {
    const loss = torch.tidy(() => {
      const ret = normalizedReturns(policy.rewards, gamma);
      const policyLoss = policy.savedLogProbs.map((logProb, i) => logProb.neg().mul(ret.index(i)));
      optimizer.zeroGrad();
      const total = torch.cat(policyLoss).sum();
      total.backward();
      optimizer.step();
      return total.item();
    });
    policy.rewards.length = 0;
    for (const t of policy.savedLogProbs) t.dispose();
    policy.savedLogProbs.length = 0;
    return loss;
  };

  const { episodes, runningReward } = runEpisodes(env, starts, { selectAction, rewards: policy.rewards, finishEpisode }, o.log);
  optimizer.dispose();
  return { policy, episodes, runningReward };
}

/** actor_critic.py's Policy: a shared layer, then the actor's action probabilities and the critic's state value. */
export class ActorCritic extends nn.Module {
  declare affine1: torch.nn.Linear;
  declare action_head: torch.nn.Linear;
  declare value_head: torch.nn.Linear;
  /** action & reward buffer: (log_prob, value) of each action taken */
  savedActions: { logProb: torch.Tensor; value: torch.Tensor }[] = [];
  rewards: number[] = [];
  constructor() {
    super();
    this.affine1 = new nn.Linear(4, 128);
    // actor's layer
    this.action_head = new nn.Linear(128, 2);
    // critic's layer
    this.value_head = new nn.Linear(128, 1);
  }
  /** forward of both actor and critic */
  forward(x: torch.Tensor): [torch.Tensor, torch.Tensor] {
    return torch.tidy(() => {
      x = F.relu(this.affine1(x));
      // actor: chooses action to take from state s_t by returning probability of each action
      const actionProb = F.softmax(this.action_head(x), { dim: -1 });
      // critic: evaluates being in the state s_t
      const stateValues = this.value_head(x);
      // return values for both actor and critic as a tuple of 2 values
      return [actionProb, stateValues] as [torch.Tensor, torch.Tensor];
    });
  }
}

/** actor_critic.py's main(): as reinforce's, with its select_action and finish_episode. */
export function actorCritic(starts: number[][], o: { gamma?: number; seed?: number; lr?: number; log?: (line: string) => void } = {}) {
  const gamma = o.gamma ?? 0.99;
  const env = new CartPole();
  torch.manualSeed(o.seed ?? 543);
  const model = new ActorCritic();
  const optimizer = new torch.optim.Adam(model.parameters(), { lr: o.lr ?? 3e-2 });

  const selectAction = (stateArray: Float32Array): number => {
    const [action, logProb, stateValue] = torch.tidy(() => {
      const state = torch.tensor(Array.from(stateArray)).float();
      const [probs, stateValue] = model(state);
      // create a categorical distribution over the list of probabilities of actions
      const m = new torch.distributions.Categorical(probs);
      // and sample an action using the distribution
      const action = m.sample();
      return [action, m.logProb(action), stateValue];
    });
    // save to action buffer
    model.savedActions.push({ logProb, value: stateValue });
    const a = action.item();
    action.dispose();
    return a;
  };

  /** Training code. Calculates actor and critic loss and performs backprop. */
  const finishEpisode = (): number => {
    const loss = torch.tidy(() => {
      const policyLosses: torch.Tensor[] = []; // list to save actor (policy) loss
      const valueLosses: torch.Tensor[] = []; // list to save critic (value) loss
      // the true values, from the rewards returned from the environment
      const ret = normalizedReturns(model.rewards, gamma);
      model.savedActions.forEach(({ logProb, value }, i) => {
        const Ri = ret.index(i);
        const advantage = Ri.sub(value.item<number>());
        // calculate actor (policy) loss
        policyLosses.push(logProb.neg().mul(advantage));
        // calculate critic (value) loss using L1 smooth loss
        valueLosses.push(F.smoothL1Loss(value, torch.stack([Ri])));
      });
      // reset gradients
      optimizer.zeroGrad();
      // sum up all the values of policy_losses and value_losses
      const total = torch.stack(policyLosses).sum().add(torch.stack(valueLosses).sum());
      // perform backprop
      total.backward();
      optimizer.step();
      return total.item();
    });
    // reset rewards and action buffer
    model.rewards.length = 0;
    for (const { logProb, value } of model.savedActions) for (const t of [logProb, value]) t.dispose();
    model.savedActions.length = 0;
    return loss;
  };

  const { episodes, runningReward } = runEpisodes(env, starts, { selectAction, rewards: model.rewards, finishEpisode }, o.log);
  optimizer.dispose();
  return { model, episodes, runningReward };
}

/** n start states as gym's reset draws them: U(-0.05, 0.05) for each of the 4 coordinates. */
export function startStates(n: number, seed: number): number[][] {
  return torch.tidy(() => torch.rand([n, 4], { generator: new torch.Generator().manualSeed(seed), dtype: 'float64' }).mul(0.1).sub(0.05).tolist() as number[][]);
}

if (require.main === module) {
  const i = process.argv.indexOf('--episodes');
  main(startStates(i >= 0 ? Number(process.argv[i + 1]) : 300, 543), { log: console.log });
}
