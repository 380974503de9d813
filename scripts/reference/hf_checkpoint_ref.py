# A tstorch Trainer checkpoint as Hugging Face's Trainer sees it, in plain PyTorch (there is no
# transformers here: what its resume does with the files is re-done below, line for line).
#
#   hf_checkpoint_ref.py check CHECKPOINT WARMUP TOTAL OUT.json [SEED]
#     Loads the checkpoint as Trainer._load_optimizer_and_scheduler and TrainerState.load_from_json
#     do (torch.load, AdamW.load_state_dict, LambdaLR.load_state_dict of
#     get_linear_schedule_with_warmup's schedule), then takes one step with fixed gradients; with
#     SEED, also restores rng_state.pth as _load_rng_state does and compares it with set_seed(SEED).
#   hf_checkpoint_ref.py rewrite CHECKPOINT WARMUP TOTAL
#     Turns the checkpoint into the one HF's Trainer writes: its optimizer.pt, scheduler.pt and
#     trainer_state.json as PyTorch and HF save them, rng_state.pth; tstorch's own files gone.
import dataclasses
import functools
import json
import os
import random
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Union

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import st  # noqa: E402


@dataclass
class TrainerState:
    """transformers.TrainerState's fields (4.5x); load_from_json is cls(**json), which refuses other keys."""
    epoch: Optional[float] = None
    global_step: int = 0
    max_steps: int = 0
    logging_steps: int = 500
    eval_steps: int = 500
    save_steps: int = 500
    train_batch_size: Optional[int] = None
    num_train_epochs: int = 0
    num_input_tokens_seen: int = 0
    total_flos: float = 0
    log_history: List[Dict[str, float]] = None
    best_metric: Optional[float] = None
    best_global_step: Optional[int] = None
    best_model_checkpoint: Optional[str] = None
    is_local_process_zero: bool = True
    is_world_process_zero: bool = True
    is_hyper_param_search: bool = False
    trial_name: Optional[str] = None
    trial_params: Optional[Dict[str, Union[str, float, int, bool]]] = None
    stateful_callbacks: Optional[dict] = None


def linear_lambda(current_step, *, num_warmup_steps, num_training_steps):
    """transformers' _get_linear_schedule_with_warmup_lr_lambda."""
    if current_step < num_warmup_steps:
        return float(current_step) / float(max(1, num_warmup_steps))
    return max(0.0, float(num_training_steps - current_step) / float(max(1, num_training_steps - num_warmup_steps)))


def load(ckpt, warmup, total):
    with open(os.path.join(ckpt, 'trainer_state.json')) as f:
        state = TrainerState(**json.load(f))
    # HF loads them with weights_only=True where PyTorch has it whole; 1.13's restricted unpickler
    # has no floats (BINFLOAT) and refuses PyTorch's own optimizer files, so here it is 2.x only.
    safe = {'weights_only': True} if int(torch.__version__.split('.')[0]) >= 2 else {}
    opt_sd = torch.load(os.path.join(ckpt, 'optimizer.pt'), map_location='cpu', **safe)
    sched_sd = torch.load(os.path.join(ckpt, 'scheduler.pt'), **safe)
    # (a LoRA run's trainable tensors, or a full fine-tune's model file)
    lora = os.path.exists(os.path.join(ckpt, 'trainable.safetensors'))
    weights = st.load(os.path.join(ckpt, 'trainable.safetensors' if lora else 'model.safetensors'))
    # The parameters in the optimizer's order (tstorch's groups name them, PyTorch 2.6's param_names).
    groups = [{'params': [torch.nn.Parameter(weights[n].clone()) for n in g['param_names']], 'weight_decay': g['weight_decay']}
              for g in opt_sd['param_groups']]
    names = [n for g in opt_sd['param_groups'] for n in g['param_names']]
    opt = torch.optim.AdamW(groups, lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, functools.partial(linear_lambda, num_warmup_steps=warmup, num_training_steps=total))
    opt.load_state_dict(opt_sd)
    sched.load_state_dict(sched_sd)
    return state, opt, sched, names


def fixed_grad(p, i):
    return torch.sin(torch.arange(p.numel(), dtype=p.dtype).reshape(p.shape) * 0.37 + i) * 0.01


def load_rng_state(ckpt, seed):
    """Trainer._load_rng_state on its rng_state.pth (CPU), and how its states compare with what
    set_seed(seed) gives Python's and NumPy's generators and with tstorch's rng_state.bin."""
    safe = {'weights_only': True} if int(torch.__version__.split('.')[0]) >= 2 else {}
    saved = torch.load(os.path.join(ckpt, 'rng_state.pth'), **safe)
    random.setstate(saved['python'])
    np.random.set_state(saved['numpy'])
    torch.random.set_rng_state(saved['cpu'])
    after = {'torch': torch.rand(4).tolist()}
    random.seed(seed)
    np.random.seed(seed)
    seeded_np = np.random.get_state()
    with open(os.path.join(ckpt, 'rng_state.bin'), 'rb') as f:
        own = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8)
    return {
        'python_is_seeded': saved['python'] == random.getstate(),
        'numpy_is_seeded': saved['numpy'][0] == seeded_np[0] and list(saved['numpy'][1]) == seeded_np[1].tolist() and tuple(saved['numpy'][2:]) == tuple(seeded_np[2:]),
        'cpu_is_tstorchs': bool(torch.equal(saved['cpu'], own)), 'draws': after,
    }


def check(ckpt, warmup, total, out, seed=None):
    state, opt, sched, names = load(ckpt, warmup, total)
    rng = load_rng_state(ckpt, seed) if seed is not None else None
    params = [p for g in opt.param_groups for p in g['params']]
    lr_loaded = sched.get_last_lr()
    for i, p in enumerate(params):
        p.grad = fixed_grad(p, i)
    opt.step()
    sched.step()
    result = {
        'global_step': state.global_step, 'max_steps': state.max_steps, 'epoch': state.epoch,
        'logged_steps': [e['step'] for e in state.log_history if 'loss' in e], 'train_batch_size': state.train_batch_size,
        'steps': [float(opt.state[p]['step']) for p in params], 'lr_loaded': lr_loaded, 'lr_next': sched.get_last_lr(),
        'groups': len(opt.param_groups), 'names': names,
        'stepped': {n: p.detach().flatten().tolist() for n, p in zip(names, params)}, 'rng': rng,
    }
    with open(out, 'w') as f:
        json.dump(result, f)


def rewrite(ckpt, warmup, total):
    state, opt, sched, _ = load(ckpt, warmup, total)
    torch.save(opt.state_dict(), os.path.join(ckpt, 'optimizer.pt'))
    torch.save(sched.state_dict(), os.path.join(ckpt, 'scheduler.pt'))
    with open(os.path.join(ckpt, 'trainer_state.json'), 'w') as f:  # TrainerState.save_to_json
        f.write(json.dumps(dataclasses.asdict(state), indent=2, sort_keys=True) + '\n')
    # HF's _save_rng_state, with the generator where the run left it (tstorch's rng_state.bin is
    # the bytes of libtorch's CPU generator state, what torch.random.get_rng_state() returns)
    bin_file = os.path.join(ckpt, 'rng_state.bin')
    if os.path.exists(bin_file):
        with open(bin_file, 'rb') as f:
            torch.random.set_rng_state(torch.frombuffer(bytearray(f.read()), dtype=torch.uint8))
    torch.save({'python': random.getstate(), 'numpy': np.random.get_state(), 'cpu': torch.random.get_rng_state()},
               os.path.join(ckpt, 'rng_state.pth'))
    for f in ['tstorch_state.json', 'trainable.safetensors', 'rng_state.bin']:
        if os.path.exists(os.path.join(ckpt, f)):
            os.remove(os.path.join(ckpt, f))


if __name__ == '__main__':
    cmd, ckpt, warmup, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if cmd == 'check':
        check(ckpt, warmup, total, sys.argv[5], int(sys.argv[6]) if len(sys.argv) > 6 else None)
    else:
        rewrite(ckpt, warmup, total)
