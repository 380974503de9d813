"""Reference for test/reinforce.test.ts: PyTorch's examples/reinforcement_learning/reinforce.py
and actor_critic.py (their Policy, select_action, finish_episode and main loop, without argument
parsing and rendering), in PyTorch, on gym's CartPole-v1 (its dynamics written out here, as gym is not
installed; reset takes the test's start states instead of drawing them).

Usage: reinforce_ref.py RUN.json OUT_DIR

RUN: algo ("reinforce" or "actor_critic"), starts (one start state per episode), gamma, seed, lr. OUT_DIR gets init.safetensors,
final.safetensors and out.json: each episode's reward and policy loss, the running reward.
"""
import json
import math
import os
import sys
from collections import deque

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.distributions import Categorical

import st


class CartPole:
    """gym's CartPoleEnv (classic_control/cartpole.py): step() as there, reset(state)."""
    reward_threshold = 475.0

    def __init__(self):
        self.gravity = 9.8
        self.masscart = 1.0
        self.masspole = 0.1
        self.total_mass = self.masspole + self.masscart
        self.length = 0.5
        self.polemass_length = self.masspole * self.length
        self.force_mag = 10.0
        self.tau = 0.02
        self.theta_threshold_radians = 12 * 2 * math.pi / 360
        self.x_threshold = 2.4

    def reset(self, start):
        self.state = tuple(start)
        return np.array(self.state, dtype=np.float32), {}

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta = math.cos(theta)
        sintheta = math.sin(theta)
        temp = (force + self.polemass_length * theta_dot ** 2 * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (self.length * (4.0 / 3.0 - self.masspole * costheta ** 2 / self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        self.state = (x, x_dot, theta, theta_dot)
        terminated = bool(x < -self.x_threshold or x > self.x_threshold or theta < -self.theta_threshold_radians or theta > self.theta_threshold_radians)
        return np.array(self.state, dtype=np.float32), 1.0, terminated, False, {}


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(4, 128)
        self.dropout = nn.Dropout(p=0.6)
        self.affine2 = nn.Linear(128, 2)
        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


class ActorCriticPolicy(nn.Module):
    """actor_critic.py's Policy"""

    def __init__(self):
        super(ActorCriticPolicy, self).__init__()
        self.affine1 = nn.Linear(4, 128)
        self.action_head = nn.Linear(128, 2)
        self.value_head = nn.Linear(128, 1)
        self.saved_actions = []
        self.rewards = []

    def forward(self, x):
        x = F.relu(self.affine1(x))
        action_prob = F.softmax(self.action_head(x), dim=-1)
        state_values = self.value_head(x)
        return action_prob, state_values


def actor_critic(args, out_dir):
    env = CartPole()
    torch.manual_seed(args["seed"])
    model = ActorCriticPolicy()
    st.save(os.path.join(out_dir, "init.safetensors"), {k: v.clone() for k, v in model.state_dict().items()})
    optimizer = optim.Adam(model.parameters(), lr=args["lr"])
    eps = np.finfo(np.float32).eps.item()
    SavedAction = __import__("collections").namedtuple('SavedAction', ['log_prob', 'value'])

    def select_action(state):
        state = torch.from_numpy(state).float()
        probs, state_value = model(state)
        m = Categorical(probs)
        action = m.sample()
        model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
        return action.item()

    def finish_episode():
        R = 0
        saved_actions = model.saved_actions
        policy_losses = []
        value_losses = []
        returns = []
        for r in model.rewards[::-1]:
            R = r + args["gamma"] * R
            returns.insert(0, R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for (log_prob, value), R in zip(saved_actions, returns):
            advantage = R - value.item()
            policy_losses.append(-log_prob * advantage)
            value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))
        optimizer.zero_grad()
        loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
        loss.backward()
        optimizer.step()
        del model.rewards[:]
        del model.saved_actions[:]
        return loss.item()

    running_reward = 10
    episodes = []
    for start in args["starts"]:
        state, _ = env.reset(start)
        ep_reward = 0
        for t in range(1, 10000):
            action = select_action(state)
            state, reward, done, _, _ = env.step(action)
            model.rewards.append(reward)
            ep_reward += reward
            if done:
                break
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        episodes.append({"reward": ep_reward, "loss": finish_episode()})
        if running_reward > env.reward_threshold:
            break
    st.save(os.path.join(out_dir, "final.safetensors"), {k: v.clone() for k, v in model.state_dict().items()})
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump({"episodes": episodes, "running_reward": running_reward}, f)


def main(run_path, out_dir):
    with open(run_path) as f:
        args = json.load(f)
    if args.get("algo") == "actor_critic":
        return actor_critic(args, out_dir)
    env = CartPole()
    torch.manual_seed(args["seed"])
    policy = Policy()
    st.save(os.path.join(out_dir, "init.safetensors"), {k: v.clone() for k, v in policy.state_dict().items()})
    optimizer = optim.Adam(policy.parameters(), lr=args["lr"])
    eps = np.finfo(np.float32).eps.item()

    def select_action(state):
        state = torch.from_numpy(state).float().unsqueeze(0)
        probs = policy(state)
        m = Categorical(probs)
        action = m.sample()
        policy.saved_log_probs.append(m.log_prob(action))
        return action.item()

    def finish_episode():
        R = 0
        policy_loss = []
        returns = deque()
        for r in policy.rewards[::-1]:
            R = r + args["gamma"] * R
            returns.appendleft(R)
        returns = torch.tensor(returns)
        returns = (returns - returns.mean()) / (returns.std() + eps)
        for log_prob, R in zip(policy.saved_log_probs, returns):
            policy_loss.append(-log_prob * R)
        optimizer.zero_grad()
        policy_loss = torch.cat(policy_loss).sum()
        policy_loss.backward()
        optimizer.step()
        del policy.rewards[:]
        del policy.saved_log_probs[:]
        return policy_loss.item()

    running_reward = 10
    episodes = []
    for start in args["starts"]:
        state, _ = env.reset(start)
        ep_reward = 0
        for t in range(1, 10000):
            action = select_action(state)
            state, reward, done, _, _ = env.step(action)
            policy.rewards.append(reward)
            ep_reward += reward
            if done:
                break
        running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
        episodes.append({"reward": ep_reward, "loss": finish_episode()})
        if running_reward > env.reward_threshold:
            break
    st.save(os.path.join(out_dir, "final.safetensors"), {k: v.clone() for k, v in policy.state_dict().items()})
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump({"episodes": episodes, "running_reward": running_reward}, f)


if __name__ == "__main__":
    main(*sys.argv[1:3])
