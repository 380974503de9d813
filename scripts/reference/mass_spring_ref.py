"""Reference for test/mass_spring.test.ts: PyTorch's examples/differentiable_physics (mass_spring.py:
a mass-spring system simulated with semi-implicit Euler steps, and the initial positions of its
free particles learned by backpropagating through the whole simulation with Adam), in PyTorch as
written, without argument parsing, devices and the matplotlib figure (its three point sets are
written out instead).

Usage: mass_spring_ref.py RUN.json OUT_DIR

RUN: epochs, steps, lr, dt, mass, stiffness, num_particles, gravity, seed. OUT_DIR gets
out.json: every epoch's loss, and the initial, final and target positions the figure would plot,
and the positions evaluate() prints (a fresh system from the generator's next draws, under no_grad).
"""
import json
import os
import sys
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.optim as optim


class MassSpringSystem(nn.Module):
    def __init__(self, num_particles, springs, mass=1.0, dt=0.01, gravity=9.81, device="cpu"):
        super().__init__()
        self.device = device
        self.mass = mass
        self.springs = springs
        self.dt = dt
        self.gravity = gravity

        # Particle 0 is fixed at the origin
        self.initial_position_0 = torch.tensor([0.0, 0.0], device=device)

        # Remaining particles are trainable
        self.initial_positions_rest = nn.Parameter(torch.randn(num_particles - 1, 2, device=device))

        # Velocities
        self.velocities = torch.zeros(num_particles, 2, device=device)

    def forward(self, steps):
        positions = torch.cat([self.initial_position_0.unsqueeze(0), self.initial_positions_rest], dim=0)
        velocities = self.velocities

        for _ in range(steps):
            forces = torch.zeros_like(positions)

            # Compute spring forces
            for (i, j, rest_length, stiffness) in self.springs:
                xi, xj = positions[i], positions[j]
                dir_vec = xj - xi
                dist = dir_vec.norm()
                force = stiffness * (dist - rest_length) * dir_vec / (dist + 1e-6)
                forces[i] += force
                forces[j] -= force

            # Apply gravity
            forces[:, 1] -= self.gravity * self.mass

            # Semi-implicit Euler integration
            acceleration = forces / self.mass
            velocities = velocities + acceleration * self.dt
            positions = positions + velocities * self.dt

            # Fix particle 0 at origin
            positions[0] = self.initial_position_0
            velocities[0] = torch.tensor([0.0, 0.0], device=positions.device)

        return positions


def train(args, out):
    device = torch.device("cpu")
    system = MassSpringSystem(
        num_particles=args.num_particles,
        springs=[(0, 1, 1.0, args.stiffness)],
        mass=args.mass,
        dt=args.dt,
        gravity=args.gravity,
        device=device,
    )

    optimizer = optim.Adam(system.parameters(), lr=args.lr)
    target_positions = torch.tensor(
        [[0.0, 0.0], [1.0, 0.0]], device=device
    )
    out["init"] = system.initial_positions_rest.tolist()

    for epoch in range(args.epochs):
        optimizer.zero_grad()
        final_positions = system(args.steps)
        loss = (final_positions - target_positions).pow(2).mean()
        loss.backward()
        optimizer.step()
        out["losses"].append(loss.item())

    # (the figure's three point sets)
    initial_positions = torch.cat([system.initial_position_0.unsqueeze(0), system.initial_positions_rest.detach()], dim=0).cpu().numpy()
    out["initial"] = initial_positions.tolist()
    out["final"] = final_positions.detach().cpu().numpy().tolist()
    out["target"] = target_positions.cpu().numpy().tolist()


def evaluate(args, out):
    device = torch.device("cpu")
    system = MassSpringSystem(
        num_particles=args.num_particles,
        springs=[(0, 1, 1.0, args.stiffness)],
        mass=args.mass,
        dt=args.dt,
        gravity=args.gravity,
        device=device,
    )

    with torch.no_grad():
        final_positions = system(args.steps)
        out["evaluated"] = final_positions.cpu().numpy().tolist()


def main(run_path, out_dir):
    with open(run_path) as f:
        args = SimpleNamespace(**json.load(f))
    torch.manual_seed(args.seed)
    out = {"losses": []}
    train(args, out)
    evaluate(args, out)
    with open(os.path.join(out_dir, "out.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(*sys.argv[1:3])
