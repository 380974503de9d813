// PyTorch checkpoints (pytorch_model.bin, adapter_model.bin) written by Python's torch.save, in
// both its formats, read by tstorch without Python: every tensor bit for bit, GPT-2 folders and
// adapters that have only .bin files, and refusals of what is not a state dict (nothing run).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { fixtures } from './helpers';
import { native } from '../lib/tensor/native';
import { _id as id } from '../lib/tensor/tensor';
import { tensorBytePieces, _devicePieces } from '../lib/io/tensor_bytes';
import { crc32, crc32Parts, _crc32Table } from '../lib/io/checksum';

const REF = path.join(__dirname, '..', 'scripts', 'reference');
let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-torchfile-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function python(code: string, ...args: string[]): void {
  const r = spawnSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: REF } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
}

/** Bit-for-bit equality (NaN-safe): the same bytes. */
function sameBytes(a: torch.Tensor, b: torch.Tensor): boolean {
  return a.dtype === b.dtype && a.shape.join() === b.shape.join() && Buffer.from(a.contiguous().bytes()).equals(Buffer.from(b.contiguous().bytes()));
}

test.each(['zip', 'legacy'] as const)('torch.save (%s format): every dtype, views, offsets, strides, scalars and tied tensors, bit for bit', (format) => {
  const file = path.join(tmp, `sd-${format}.bin`), ref = path.join(tmp, `sd-${format}.safetensors`);
  python(`
import collections, sys, torch, st
torch.manual_seed(0)
sd = collections.OrderedDict()
sd["f32"] = torch.randn(3, 4)
sd["transposed"] = torch.randn(4, 3).t()          # non-contiguous
sd["offset"] = torch.arange(10)[2:7]               # int64, storage offset
sd["strided"] = torch.randn(6, 5)[::2, 1::2]       # strides and offset
sd["f16"] = torch.randn(2, 3).half()
sd["bf16"] = torch.randn(2, 3).bfloat16()
sd["f64"] = torch.randn(5, dtype=torch.float64)
sd["i32"] = torch.tensor([-7, 0, 2**31 - 1], dtype=torch.int32)
sd["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
sd["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
sd["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
sd["bool"] = torch.tensor([True, False, True])
sd["scalar"] = torch.tensor(3.5)
sd["empty"] = torch.zeros(0, 4)
sd["nan"] = torch.tensor([float("nan"), float("inf"), -0.0])
sd["tied"] = sd["f32"]
sd._metadata = {"": {"version": 1}}
torch.save(sd, sys.argv[1], _use_new_zipfile_serialization=sys.argv[3] == "zip")
st.save(sys.argv[2], {k: v.contiguous() for k, v in sd.items() if k != "tied"})
`, file, ref, format);
  const { tensors } = torch.io.loadTorchFile(file);
  const want = torch.io.safetensors.loadFile(ref).tensors;
  expect([...tensors.keys()].sort()).toEqual([...want.keys(), 'tied'].sort());
  for (const [name, t] of want) expect(sameBytes(tensors.get(name)!, t)).toBe(true);
  expect(sameBytes(tensors.get('tied')!, want.get('f32')!)).toBe(true);
  expect(tensors.get('strided')!.shape).toEqual([3, 2]);
  // filter reads only what it accepts
  expect([...torch.io.loadTorchFile(file, { filter: (n) => n.startsWith('i') }).tensors.keys()].sort()).toEqual(['i16', 'i32', 'i8']);
});

test('a GPT-2 folder with only pytorch_model.bin (the original checkpoints\' legacy file and key layout, or shards) loads as its safetensors does', async () => {
  const base = path.join(fixtures, 'gpt2', 'tiny');
  const ids = torch.tensor([[5, 17, 3, 99, 42, 8]], { dtype: 'int64' });
  const want = (await torch.GPT2LMHeadModel.fromPretrained(base)).forward(ids).logits;
  const legacy = path.join(tmp, 'gpt2-legacy'), sharded = path.join(tmp, 'gpt2-sharded');
  for (const d of [legacy, sharded]) {
    fs.mkdirSync(d);
    fs.copyFileSync(path.join(base, 'config.json'), path.join(d, 'config.json'));
  }
  // As OpenAI's GPT-2 on the Hub: no "transformer." prefix, attn.bias buffers included, legacy format.
  python(`
import json, os, sys, torch, st
sd = st.load(os.path.join(sys.argv[1], "model.safetensors"))
cfg = json.load(open(os.path.join(sys.argv[1], "config.json")))
n = cfg["n_positions"]
old = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in sd.items()}
for i in range(cfg["n_layer"]):
    old[f"h.{i}.attn.bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n)
torch.save(old, os.path.join(sys.argv[2], "pytorch_model.bin"), _use_new_zipfile_serialization=False)
# Two zip shards with an index, as save_pretrained(safe_serialization=False, max_shard_size=...)
names = sorted(sd)
shards = {"pytorch_model-00001-of-00002.bin": names[: len(names) // 2], "pytorch_model-00002-of-00002.bin": names[len(names) // 2 :]}
for f, ks in shards.items():
    torch.save({k: sd[k] for k in ks}, os.path.join(sys.argv[3], f))
json.dump({"metadata": {}, "weight_map": {k: f for f, ks in shards.items() for k in ks}}, open(os.path.join(sys.argv[3], "pytorch_model.bin.index.json"), "w"))
`, base, legacy, sharded);
  for (const d of [legacy, sharded]) {
    const m = await torch.GPT2LMHeadModel.fromPretrained(d);
    expect(sameBytes(m.forward(ids).logits, want)).toBe(true);
    m.dispose();
  }
  // A missing shard is named.
  fs.rmSync(path.join(sharded, 'pytorch_model-00002-of-00002.bin'));
  await expect(torch.GPT2LMHeadModel.fromPretrained(sharded)).rejects.toThrow(/lists pytorch_model-00002-of-00002\.bin, which is not in that folder/);
  // No weights at all: what was looked for.
  fs.rmSync(path.join(legacy, 'pytorch_model.bin'));
  await expect(torch.GPT2LMHeadModel.fromPretrained(legacy)).rejects.toThrow(/model\.safetensors not found \(nor model\.safetensors\.index\.json, pytorch_model\.bin, pytorch_model\.bin\.index\.json\)/);
});

test('a PEFT adapter folder with adapter_model.bin (older PEFT) loads as its safetensors does, and saveAdapter writes one with safeSerialization: false', async () => {
  const base = path.join(fixtures, 'gpt2', 'tiny');
  const model = await torch.GPT2LMHeadModel.fromPretrained(base);
  torch.manualSeed(3);
  torch.lora.applyLoRA(model, { r: 4, alpha: 8 });
  torch.noGrad(() => { for (const [n, p] of model.namedParameters()) if (n.includes('lora_B')) p.normal_(0, 0.1); });
  const st = path.join(tmp, 'adapter-st'), bin = path.join(tmp, 'adapter-bin');
  await torch.lora.saveAdapter(model, st);
  fs.mkdirSync(bin);
  fs.copyFileSync(path.join(st, 'adapter_config.json'), path.join(bin, 'adapter_config.json'));
  python(`
import sys, torch, st
torch.save(st.load(sys.argv[1] + "/adapter_model.safetensors"), sys.argv[2] + "/adapter_model.bin")
`, st, bin);
  const ids = torch.tensor([[1, 2, 3, 4]], { dtype: 'int64' });
  const logits = async (dir: string) => {
    const m = await torch.GPT2LMHeadModel.fromPretrained(base);
    await torch.lora.loadAdapter(m, dir);
    return m.forward(ids).logits;
  };
  expect(sameBytes(await logits(bin), await logits(st))).toBe(true);
  expect(sameBytes(await logits(bin), model.eval().forward(ids).logits)).toBe(true);
  // and written so (PEFT's safe_serialization=False): the same tensors as Python's torch.load reads
  // them; saving into the folder the other way round leaves one weights file, the new one
  const ours = path.join(tmp, 'adapter-bin-ours');
  await torch.lora.saveAdapter(model, ours, { safeSerialization: false });
  python(`
import sys, torch, st
a, b = torch.load(sys.argv[1] + "/adapter_model.bin", weights_only=True), st.load(sys.argv[2] + "/adapter_model.safetensors")
assert sorted(a) == sorted(b) and all(torch.equal(a[k], b[k]) for k in a), sorted(a)
`, ours, st);
  expect(sameBytes(await logits(ours), await logits(st))).toBe(true);
  await torch.lora.saveAdapter(model, ours);
  expect(fs.readdirSync(ours).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.safetensors']);
  await torch.lora.saveAdapter(model, ours, { safeSerialization: false });
  expect(fs.readdirSync(ours).sort()).toEqual(['README.md', 'adapter_config.json', 'adapter_model.bin']);
});

test('what is not a state dict is refused, and nothing in a pickle is ever run', () => {
  const evil = path.join(tmp, 'evil.bin'), marker = path.join(tmp, 'pwned');
  python(`
import os, sys, torch
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
torch.save({"weight": torch.ones(2), "payload": Evil()}, sys.argv[1])
torch.save(torch.nn.Linear(2, 2), sys.argv[1] + ".module")
torch.save({"a": torch.ones(3)}, sys.argv[1] + ".ok")
`, evil, marker);
  expect(fs.existsSync(marker)).toBe(false); // (saving does not run it either)
  expect(() => torch.io.loadTorchFile(evil)).toThrow(/pickles (posix|os)\.system, which a state dict does not hold; tstorch reads only state dicts/);
  expect(fs.existsSync(marker)).toBe(false);
  expect(() => torch.io.loadTorchFile(evil + '.module')).toThrow(/pickles torch\.nn\.modules\.linear\.Linear/);
  // Damaged files: one line saying so.
  const ok = fs.readFileSync(evil + '.ok');
  fs.writeFileSync(path.join(tmp, 'truncated.bin'), ok.subarray(0, ok.length - 200));
  expect(() => torch.io.loadTorchFile(path.join(tmp, 'truncated.bin'))).toThrow(/truncated/);
  fs.writeFileSync(path.join(tmp, 'text.bin'), 'hello, not a checkpoint');
  expect(() => torch.io.loadTorchFile(path.join(tmp, 'text.bin'))).toThrow(/neither a zip archive nor a legacy torch\.save file/);
  expect(() => torch.io.loadTorchFile(path.join(tmp, 'absent.bin'))).toThrow(/not found/);
});

test('damaged files: 600 random corruptions of each format (and of a file with NumPy values) give a clear torch checkpoint error (or load) from torch.load and torch.loadObject, never another exception', () => {
  const base = path.join(tmp, 'fuzz');
  python(`
import sys, torch
sd = {"a": torch.randn(3, 4), "b": torch.arange(5), "c": torch.randn(4, 2).t()}
torch.save(sd, sys.argv[1] + ".legacy", _use_new_zipfile_serialization=False)
torch.save(sd, sys.argv[1] + ".zip")
import numpy as np  # (NumPy's values, as in HF's rng_state.pth)
torch.save({"n": np.arange(6, dtype=">f4").reshape(2, 3), "f": np.asfortranarray(np.ones((2, 2))), "s": np.float64(2.5), "k": (3, [1, 2], None), "t": torch.ones(2)}, sys.argv[1] + ".numpy")
`, base);
  let seed = 11;
  const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
  const outcomes = { loaded: 0, refused: 0 };
  for (const f of [`${base}.legacy`, `${base}.zip`, `${base}.numpy`]) {
    const orig = fs.readFileSync(f);
    for (let i = 0; i < 600; i++) {
      const b = Buffer.from(orig);
      // A few bytes changed where the structure is (the pickle, the zip records), sometimes cut short too.
      for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) b[Math.floor(rnd() * Math.min(b.length, 600))] = Math.floor(rnd() * 256);
      const cut = rnd() < 0.3 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
      fs.writeFileSync(`${base}.bad`, cut);
      for (const load of [torch.io.loadTorchFile, torch.io.loadTorchObject]) {
        try {
          torch.tidy(() => { load(`${base}.bad`); });
          outcomes.loaded++;
        } catch (e) {
          expect((e as Error).message).toMatch(/^torch checkpoint: /);
          outcomes.refused++;
        }
      }
    }
  }
  expect(outcomes.refused).toBeGreaterThan(1200);
});

test('torch.save writes what Python\'s torch.load reads (weights_only too), every dtype bit for bit; torch.load reads it back and tells the formats apart', () => {
  torch.manualSeed(3);
  const sd: Record<string, torch.Tensor> = {
    f32: torch.randn([3, 4]),
    transposed: torch.randn([4, 3]).t(), // saved as a contiguous copy
    scalar: torch.tensor(2.5),
    empty: torch.zeros([0, 3]),
    f16: torch.randn([2, 3]).half(),
    bf16: torch.randn([2, 3]).bfloat16(),
    f64: torch.randn([5], { dtype: 'float64' }).requiresGrad_(),
    i64: torch.tensor(new BigInt64Array([2n ** 62n + 5n, -1n])),
    i32: torch.tensor([-7, 0, 2 ** 31 - 1], { dtype: 'int32' }),
    u8: torch.tensor([0, 255], { dtype: 'uint8' }),
    i8: torch.tensor([-128, 127], { dtype: 'int8' }),
    bool: torch.tensor([true, false, true]),
    'name with spaces.é': torch.arange(300),
  };
  sd.tied = sd.f32; // one tensor under two names (GPT-2's lm_head.weight): one storage, as PyTorch writes it
  const file = path.join(tmp, 'ours.pt'), back = path.join(tmp, 'ours-back.safetensors');
  torch.save(sd, file);
  python(`
import sys, torch, st, zipfile
a = torch.load(sys.argv[1], weights_only=True)
b = torch.load(sys.argv[1])
assert list(a) == list(b)
for k in a:
    assert torch.equal(a[k], b[k]) and a[k].is_contiguous() and not a[k].requires_grad, k
assert type(a).__name__ == "OrderedDict"
assert a["tied"].data_ptr() == a["f32"].data_ptr() and len([n for n in zipfile.ZipFile(sys.argv[1]).namelist() if "/data/" in n]) == len(a) - 1
st.save(sys.argv[2], {k: v for k, v in a.items()})
`, file, back);
  const fromPython = torch.io.safetensors.loadFile(back).tensors;
  const ours = torch.load(file);
  expect([...ours.keys()]).toEqual(Object.keys(sd));
  for (const [k, t] of Object.entries(sd)) {
    expect([k, sameBytes(fromPython.get(k)!, t.detach().contiguous())]).toEqual([k, true]);
    expect([k, sameBytes(ours.get(k)!, t.detach().contiguous())]).toEqual([k, true]);
  }
  // .safetensors picks safetensors; torch.load reads that too; a module round-trips its state.
  const lin = new torch.nn.Linear(3, 2);
  torch.save(lin.stateDict(), path.join(tmp, 'lin.safetensors'));
  torch.save(lin.stateDict(), path.join(tmp, 'lin.bin'));
  const lin2 = new torch.nn.Linear(3, 2);
  lin2.loadStateDict(torch.load(path.join(tmp, 'lin.bin')));
  expect(lin2.weight.equal(lin.weight)).toBe(true);
  expect(torch.load(path.join(tmp, 'lin.safetensors')).get('bias')!.equal(lin.bias!)).toBe(true);
  // Errors name the file and say what to do.
  fs.writeFileSync(path.join(tmp, 'junk.bin'), 'hello, not a checkpoint');
  expect(() => torch.load(path.join(tmp, 'junk.bin'))).toThrow(/junk\.bin is neither a torch\.save file nor safetensors/);
  expect(() => torch.load(path.join(tmp, 'missing.bin'))).toThrow(/cannot read .*missing\.bin/);
  expect(() => torch.save({ x: new Date() as never }, path.join(tmp, 'bad.bin'))).toThrow(/the object.x is a Date/);
  expect(fs.existsSync(path.join(tmp, 'bad.bin'))).toBe(false);
});

test('whole checkpoints both ways: Python\'s {epoch, model, optimizer, ...} read by torch.loadObject; ours read by Python\'s torch.load', () => {
  // Python -> tstorch: a training checkpoint as PyTorch users write them.
  const file = path.join(tmp, 'ckpt-python.pt');
  python(`
import sys, torch
torch.manual_seed(0)
model = torch.nn.Linear(3, 2)
opt = torch.optim.Adam(model.parameters(), lr=0.01)
model(torch.randn(4, 3)).sum().backward()
opt.step()
w = torch.arange(4.0)
torch.save({"epoch": 7, "model": model.state_dict(), "optimizer": opt.state_dict(), "losses": [1.5, 1.25],
            "name": "run-1", "done": False, "note": None, "big": 2 ** 40, "pair": (3, 0.5), "shared": [w, w],
            "by_id": {0: "zero", 1: "one"}}, sys.argv[1])
`, file);
  const ckpt = torch.loadObject(file) as Record<string, unknown>;
  expect([ckpt.epoch, ckpt.losses, ckpt.name, ckpt.done, ckpt.note, ckpt.big, ckpt.pair]).toEqual([7, [1.5, 1.25], 'run-1', false, null, 2 ** 40, [3, 0.5]]);
  const model = ckpt.model as Record<string, torch.Tensor>;
  expect(Object.keys(model)).toEqual(['weight', 'bias']);
  const lin = new torch.nn.Linear(3, 2);
  lin.loadStateDict(model);
  const optState = ckpt.optimizer as { state: Map<number, Record<string, torch.Tensor>>; param_groups: Record<string, unknown>[] };
  expect(optState.state).toBeInstanceOf(Map); // integer keys stay a Map
  expect(optState.state.get(0)!.exp_avg.shape).toEqual([2, 3]);
  expect(optState.param_groups[0].lr).toBe(0.01);
  expect(optState.param_groups[0].betas).toEqual([0.9, 0.999]);
  const [a, b] = ckpt.shared as torch.Tensor[];
  expect(a).toBe(b); // one tensor, as it was one in Python
  expect((ckpt.by_id as Map<number, string>).get(1)).toBe('one');
  expect([...torch.load(file).keys()]).toEqual(['weight', 'bias']); // torch.load looks one level in, for the model's state dict
  // nanoGPT's checkpoint has a loose tensor beside the model (best_val_loss): the model's weights
  // are still what torch.load gives, not that one tensor; two dicts of weights are not guessed between.
  const nano = path.join(tmp, 'ckpt-nano.pt'), two = path.join(tmp, 'ckpt-two.pt');
  python(`
import sys, torch
m = torch.nn.Linear(3, 2)
torch.save({"model": m.state_dict(), "optimizer": torch.optim.AdamW(m.parameters()).state_dict(), "iter_num": 5, "best_val_loss": torch.tensor(1.5)}, sys.argv[1])
torch.save({"model": m.state_dict(), "ema": m.state_dict(), "step": 3}, sys.argv[2])
`, nano, two);
  const nanoSd = torch.load(nano);
  expect([...nanoSd.keys()]).toEqual(['weight', 'bias']);
  expect(nanoSd.get('weight')!.equal((torch.loadObject(nano) as { model: Record<string, torch.Tensor> }).model.weight)).toBe(true);
  // a whole checkpoint given to loadStateDict (Python's model.load_state_dict(torch.load(f)) of such a file) says what to take
  const lin2 = new torch.nn.Linear(3, 2);
  expect(() => lin2.loadStateDict(undefined as never)).toThrow('loadStateDict: expected a state dict (tensors by name, a Map or an object), got undefined; torch.load(file) gives a file\'s weights, torch.loadObject(file).model an entry of a whole checkpoint');
  expect(() => lin2.loadStateDict(torch.loadObject(nano) as never)).toThrow("loadStateDict: 'model' is a dict, not a tensor: is this a whole checkpoint? Take the model's entry of it (torch.loadObject(file).model)");
  lin2.loadStateDict(nanoSd);
  expect(lin2.weight.equal(nanoSd.get('weight')!)).toBe(true);
  lin2.dispose();
  expect(() => torch.load(two)).toThrow(`is a checkpoint of 'model', 'ema', 'step', with 2 dicts of tensors ('model', 'ema'): not one state dict. Read it whole with torch.loadObject(file)`);

  // tstorch -> Python: the same kind of checkpoint, read with weights_only=True (no code run).
  const ours = path.join(tmp, 'ckpt-ours.pt');
  const t = torch.arange(6).reshape([2, 3]).to({ dtype: 'float32' });
  torch.save({ epoch: 3, model: lin.stateDict(), losses: [0.5, 0.25], lr: 1e-3, name: 'ts', flags: [true, false, null], big: 2n ** 40n, shared: [t, t], byStep: new Map<number, number>([[10, 0.1], [20, 0.2]]),
    pair: new torch.io.PyTuple([3, 0.5, [1]]) }, ours);
  // (libtorch 1.13's weights_only unpickler has no floats: that load is checked on a float-free twin)
  torch.save({ epoch: 3, model: lin.stateDict(), name: 'ts', flags: [true, false, null], byStep: new Map([[10, 'a']]) }, ours + '.nofloat');
  python(`
import sys, torch
w = torch.load(sys.argv[1] + ".nofloat", weights_only=True)
assert w["epoch"] == 3 and w["flags"] == [True, False, None] and w["byStep"] == {10: "a"} and list(w["model"]) == ["weight", "bias"], w
c = torch.load(sys.argv[1], weights_only=torch.__version__ >= "2")
assert c["epoch"] == 3 and c["losses"] == [0.5, 0.25] and c["lr"] == 1e-3 and c["name"] == "ts", c
assert c["flags"] == [True, False, None] and c["big"] == 2 ** 40 and c["byStep"] == {10: 0.1, 20: 0.2}, c
assert type(c["pair"]) is tuple and c["pair"] == (3, 0.5, [1]), c["pair"]
assert list(c["model"]) == ["weight", "bias"] and c["model"]["weight"].shape == (2, 3)
a, b = c["shared"]
assert torch.equal(a, torch.arange(6.0).reshape(2, 3)) and a.data_ptr() == b.data_ptr()  # one storage
m = torch.nn.Linear(3, 2)
m.load_state_dict(c["model"])
`, ours);
  const back = torch.loadObject(ours) as Record<string, unknown>;
  expect(back.byStep).toEqual(new Map([[10, 0.1], [20, 0.2]]));
  expect(back.pair).toEqual([3, 0.5, [1]]); // (a tuple reads back as an array)
  expect((back.model as Record<string, torch.Tensor>).weight.equal(lin.weight)).toBe(true);
  // What cannot be saved is said.
  expect(() => torch.save({ f: (() => 1) as never }, path.join(tmp, 'bad.pt'))).toThrow(/the object.f is a Function; torch.save holds tensors, numbers, strings, booleans, null, arrays, Maps and plain objects/);
  // a whole module (PyTorch pickles its class): its state dict is what a file holds
  expect(() => torch.save({ model: new torch.nn.Linear(2, 2) } as never, path.join(tmp, 'bad.pt'))).toThrow(/the object.model is a Linear, whose code a file cannot hold: save its stateDict\(\) instead/);
  expect(() => torch.save({ epoch: 1 } as never, path.join(tmp, 'bad.safetensors'))).toThrow(/safetensors holds only tensors by name/);
  const loop: Record<string, unknown> = {};
  loop.self = loop;
  expect(() => torch.save(loop as never, path.join(tmp, 'loop.pt'))).toThrow(/contains itself/);
  expect(fs.existsSync(path.join(tmp, 'loop.pt'))).toBe(false);
  // torch.load's options as PyTorch's: map_location (by name or as the second argument), weights_only
  const sd = path.join(tmp, 'sd.pt');
  torch.save(lin.stateDict(), sd);
  for (const opts of [{ mapLocation: 'cpu' }, 'cpu', { weightsOnly: true }, { device: 'cpu' }] as const) {
    expect([opts, torch.load(sd, opts).get('weight')!.equal(lin.weight)]).toEqual([opts, true]);
  }
  expect((torch.loadObject(ours, { mapLocation: 'cpu' }) as { model: Record<string, torch.Tensor> }).model.weight.equal(lin.weight)).toBe(true);
  expect(() => torch.load(sd, { map_location: 'cpu' } as never)).toThrow("torch.load: unknown option 'map_location' (did you mean mapLocation?)");
  expect(() => torch.load(sd, { mapLocation: (() => 'cpu') as never })).toThrow('torch.load: mapLocation must be a device string');
  lin.dispose();
});

test('NumPy values in a checkpoint (HF\'s rng_state.pth; arrays of each dtype, big-endian or Fortran-ordered; scalars) and protocol-2 bytes read by torch.loadObject as Python has them', () => {
  const file = path.join(tmp, 'numpy.pt'), want = path.join(tmp, 'numpy.json'), bad = path.join(tmp, 'numpy-object.pt'), text = path.join(tmp, 'numpy-text.pt');
  python(`
import json, random, sys, numpy as np, torch
random.seed(3); np.random.seed(4); torch.manual_seed(5)
rs = np.random.RandomState(0)
arrays = {d: (rs.randn(2, 3) * 50).astype(d) for d in ['float16', 'float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'complex64', 'complex128']}
arrays['uint64'] = np.abs(arrays['uint64'].astype(np.int64)).astype(np.uint64) + np.uint64(2 ** 62)
arrays['uint32'] += np.uint32(2 ** 31)
arrays['bool'] = rs.randn(4) > 0
arrays['big_endian'] = np.arange(6, dtype='>f8').reshape(2, 3)
arrays['fortran'] = np.asfortranarray(rs.randn(3, 4))
arrays['empty'] = np.zeros((0, 3), dtype=np.float32)
scalars = {'f4': np.float32(1.5), 'f8': np.float64(-0.1), 'i8': np.int64(-(2 ** 40)), 'u1': np.uint8(200), 'b': np.bool_(True), 'f2': np.float16(0.333)}
# HF Trainer's _save_rng_state, as it writes rng_state.pth
torch.save({'python': random.getstate(), 'numpy': np.random.get_state(), 'cpu': torch.random.get_rng_state(), 'arrays': arrays, 'scalars': scalars, 'raw': b'\\x00\\xffab'}, sys.argv[1])
def listed(a):
    a = a.astype(np.complex128) if a.dtype.kind == 'c' else a
    return [[v.real, v.imag] for v in a.ravel().tolist()] if a.dtype.kind == 'c' else a.ravel().tolist()
json.dump({'arrays': {k: {'shape': list(a.shape), 'values': [str(v) for v in listed(a)] if a.dtype == np.uint64 else listed(a)} for k, a in arrays.items()},
           'scalars': {k: (bool(v) if k == 'b' else float(v)) for k, v in scalars.items()},
           'numpy_key0': int(np.random.get_state()[1][0]), 'cpu': torch.random.get_rng_state().tolist()[:16], 'python_len': len(random.getstate()[1])}, open(sys.argv[2], 'w'))
torch.save({'objects': np.array([1, 'a'], dtype=object)}, sys.argv[3])
torch.save({'words': np.array(['ab', 'c'])}, sys.argv[4])
`, file, want, bad, text);
  const py = JSON.parse(fs.readFileSync(want, 'utf8'));
  const got = torch.loadObject(file) as { python: unknown[]; numpy: unknown[]; cpu: torch.Tensor; arrays: Record<string, torch.Tensor>; scalars: Record<string, unknown>; raw: Buffer };
  const dtypes: Record<string, torch.DType> = {
    float16: 'float16', float32: 'float32', float64: 'float64', int8: 'int8', int16: 'int16', int32: 'int32', int64: 'int64', uint8: 'uint8',
    uint16: 'int32', uint32: 'int64', uint64: 'int64', complex64: 'complex64', complex128: 'complex128', bool: 'bool', big_endian: 'float64', fortran: 'float64', empty: 'float32',
  };
  for (const [k, a] of Object.entries(got.arrays)) {
    expect([k, a.dtype, a.shape]).toEqual([k, dtypes[k], py.arrays[k].shape]);
    const values = k === 'uint64' ? Array.from(a.data() as BigInt64Array, String)
      : a.dtype.startsWith('complex') ? (a.flatten().tolist() as { re: number; im: number }[]).map((c) => [c.re, c.im]) : a.flatten().tolist();
    expect([k, values]).toEqual([k, py.arrays[k].values]);
  }
  expect(got.scalars).toEqual(py.scalars);
  expect(got.raw).toEqual(Buffer.from([0, 255, 0x61, 0x62]));
  // rng_state.pth: Python's generator (version, 625 words, None), NumPy's ('MT19937', its 624 words, position, ...), torch's CPU state
  expect([got.python[0], (got.python[1] as number[]).length, got.python[2]]).toEqual([3, py.python_len, null]);
  expect([got.numpy[0], (got.numpy[1] as torch.Tensor).shape, (got.numpy[1] as torch.Tensor).index(0).item()]).toEqual(['MT19937', [624], py.numpy_key0]);
  expect([got.cpu.dtype, got.cpu.shape, got.cpu.slice(0, 0, 16).tolist()]).toEqual(['uint8', [5056], py.cpu]);
  expect(() => torch.loadObject(bad)).toThrow(/a numpy array of dtype \|?O8? holds Python objects, which tstorch does not read/);
  expect(() => torch.loadObject(text)).toThrow(/a numpy array of dtype <?U2, which tstorch does not read \(numbers and booleans only\)/);
});

test('big checkpoints: tensors are written a piece at a time (a 68 MB one in two), with zip64 records when asked (as past 4 GiB); Python\'s zipfile checks every CRC, its torch.load reads every value', () => {
  const n = 17_000_001; // int32: 68 MB, more than one 64 MiB piece
  const sd: Record<string, torch.Tensor> = {
    big: torch.arange(n, { dtype: 'int32' }),
    strided: torch.arange(24).reshape([4, 6]).t(), // copied out contiguous
    half: torch.tensor([0.5, -2, 65504], { dtype: 'float16' }),
    scalar: torch.tensor(1.5),
    empty: torch.zeros([0, 2]),
  };
  for (const zip64 of [false, true]) {
    const file = path.join(tmp, `pieces-${zip64}.pt`), st = path.join(tmp, `pieces-${zip64}.safetensors`);
    torch.io.saveTorchFile(file, sd, { forceZip64: zip64 });
    torch.io.safetensors.saveFile(st, sd);
    python(`
import struct, sys, zipfile, torch, st
file, st_file, zip64 = sys.argv[1], sys.argv[2], sys.argv[3] == "true"
z = zipfile.ZipFile(file)
assert z.testzip() is None  # every record's CRC-32 right (the central directory's)
with open(file, "rb") as f:
    for i in z.infolist():  # and each local header's, the same
        f.seek(i.header_offset + 14)
        assert struct.unpack("<I", f.read(4))[0] == i.CRC, i.filename
    f.seek(-98, 2)
    tail = f.read()
assert (b"PK\\x06\\x06" in tail and b"PK\\x06\\x07" in tail) == zip64, tail  # zip64 end record and locator
for d in (torch.load(file, weights_only=True), st.load(st_file)):
    assert sorted(d) == ["big", "empty", "half", "scalar", "strided"], list(d)  # (safetensors orders by size)
    assert torch.equal(d["big"], torch.arange(17000001, dtype=torch.int32))
    assert torch.equal(d["strided"], torch.arange(24).reshape(4, 6).t()) and d["strided"].is_contiguous()
    assert torch.equal(d["half"], torch.tensor([0.5, -2, 65504], dtype=torch.float16))
    assert d["scalar"].shape == () and d["scalar"].item() == 1.5 and d["empty"].shape == (0, 2)
`, file, st, String(zip64));
    const back = torch.load(file);
    for (const [k, t] of Object.entries(sd)) expect([k, sameBytes(back.get(k)!, t.contiguous())]).toEqual([k, true]);
    for (const t of back.values()) t.dispose();
  }
  for (const t of Object.values(sd)) t.dispose();
});

test('tensorBytePieces: the pieces of any tensor, put together, are its bytes(); those of a CPU tensor dense already can share its memory', () => {
  const cases = [torch.arange(1000, { dtype: 'float64' }), torch.arange(60).reshape([6, 10]).t(), torch.tensor([true, false, true]), torch.tensor(3), torch.zeros([0])];
  for (const t of cases) {
    for (const pieceBytes of [1, 7, 64, 1 << 20]) {
      const pieces = [...tensorBytePieces(t, { pieceBytes })];
      expect(Buffer.concat(pieces).equals(t.bytes())).toBe(true);
      expect(pieces.every((p) => p.length <= pieceBytes)).toBe(true);
      expect(pieces.length).toBe(t.nbytes <= pieceBytes ? 1 : Math.ceil(t.nbytes / pieceBytes));
      const shared = [...tensorBytePieces(t, { pieceBytes, shared: true })];
      expect(Buffer.concat(shared).equals(t.bytes())).toBe(true);
      expect(shared.length).toBe(Math.max(1, Math.ceil(t.nbytes / pieceBytes)));
    }
  }
  const live = torch.memory().liveTensors;
  [...tensorBytePieces(cases[1], { pieceBytes: 8 })]; // the strided one: a contiguous copy, freed after
  const it = tensorBytePieces(cases[1], { pieceBytes: 8 });
  it.next();
  it.return(undefined); // a writer that stops early (an error mid-file) frees the copy too
  expect(torch.memory().liveTensors).toBe(live);
  expect(() => native.bytes(id(cases[0]), 7990, 11)).toThrow(/range 7990\+11 is outside the tensor's 8000 bytes/);
  // shared pieces are the tensor's memory: a change in place shows in them (and a copied piece not);
  // they keep that memory alive after the tensor is disposed; a lazily conjugated tensor is resolved first
  const x = torch.arange(4, { dtype: 'float32' });
  const [view] = tensorBytePieces(x, { shared: true }), [copy] = tensorBytePieces(x);
  x.mul_(2);
  expect([...new Float32Array(view.buffer, view.byteOffset, 4)]).toEqual([0, 2, 4, 6]);
  expect([...new Float32Array(copy.buffer, copy.byteOffset, 4)]).toEqual([0, 1, 2, 3]);
  x.dispose();
  expect([...new Float32Array(view.buffer, view.byteOffset, 4)]).toEqual([0, 2, 4, 6]);
  const z = torch.complex(torch.tensor([1.5, 2]), torch.tensor([3.5, -4])), zc = z.conj();
  expect(zc.isConj()).toBe(true);
  expect(Buffer.concat([...tensorBytePieces(zc, { shared: true })]).equals(zc.resolveConj().bytes())).toBe(true);
  expect(() => native.bytesView(id(zc), 0, 8)).toThrow(/contiguous CPU tensor without lazy conjugation/);
  expect(() => native.bytesView(id(cases[0]), 7990, 11)).toThrow(/range 7990\+11 is outside the tensor's 8000 bytes/);
  for (const t of cases) t.dispose();
});

test('a GPU tensor\'s bytes come a piece at a time (the slicing checked here on CPU tensors: the same code, its .cpu() a no-op)', () => {
  const cases = [torch.arange(1000, { dtype: 'float64' }), torch.arange(60, { dtype: 'int16' }).reshape([6, 10]).t(), torch.tensor([true, false, true]), torch.tensor(3), torch.zeros([0]),
    torch.complex(torch.tensor([1.5, 2]), torch.tensor([3.5, -4])).conj()];
  const live = torch.memory().liveTensors;
  for (const t of cases) {
    const want = torch.tidy(() => t.resolveConj().bytes());
    for (const pieceBytes of [1, 7, 64, 1 << 20]) {
      const pieces = [..._devicePieces(t, pieceBytes)];
      expect(Buffer.concat(pieces).equals(want)).toBe(true);
      // whole elements in each piece: as many as fit, at least one
      const perPiece = Math.max(1, Math.floor(pieceBytes / t.itemsize));
      expect(pieces.length).toBe(Math.max(1, Math.ceil(t.numel() / perPiece)));
      expect(pieces.every((p) => p.length <= perPiece * t.itemsize && p.length % t.itemsize === 0)).toBe(true);
    }
  }
  const it = _devicePieces(cases[1], 8);
  it.next();
  it.return(undefined); // stopped early: the dense copy and the piece are freed all the same
  expect(torch.memory().liveTensors).toBe(live);
  for (const t of cases) t.dispose();
});

test('CRC-32 (zip records): zlib\'s where node has it and the table elsewhere agree, whole or piece by piece, with Python\'s zlib.crc32', () => {
  const bytes = torch.randint(0, 256, [100_003], { dtype: 'uint8' }).bytes();
  const file = path.join(tmp, 'crc.bin');
  fs.writeFileSync(file, bytes);
  const want = spawnSync('/usr/bin/python3', ['-c', 'import sys, zlib; print(zlib.crc32(open(sys.argv[1], "rb").read()))', file], { encoding: 'utf8' });
  const crc = Number(want.stdout.trim());
  expect(crc32(bytes)).toBe(crc);
  expect(_crc32Table(bytes)).toBe(crc);
  const cuts = [0, 1, 4096, 50_000, 100_003];
  const pieces = cuts.slice(1).map((c, i) => bytes.subarray(cuts[i], c));
  expect(pieces.reduce((c, p) => crc32(p, c), 0)).toBe(crc);
  expect(pieces.reduce((c, p) => _crc32Table(p, c), 0)).toBe(crc);
  expect(crc32Parts(pieces)).toBe(crc);
});

test.each(['zip', 'legacy'] as const)('tensors that share a storage in the file (%s format) share it after torch.load and torch.loadObject, as in PyTorch: a change in place shows through each', (format) => {
  // In Python: a base, a view of part of it (offset, reshaped), its transpose (strided), a tied
  // name, and a tensor alone on its storage. After torch.load, writing 100 into the base's
  // element 2 is seen by every tensor on that storage and by no other: PyTorch's answer is the
  // reference for which values change.
  const file = path.join(tmp, `shared-${format}.pt`), want = path.join(tmp, `shared-${format}.json`);
  python(`
import json, sys, torch
base = torch.arange(6.0)
sd = {"base": base, "part": base[2:].view(2, 2), "t": base.view(2, 3).t(), "tied": base, "alone": torch.arange(3.0) + 10}
torch.save(sd, sys.argv[1], _use_new_zipfile_serialization=sys.argv[3] == "zip")
got = torch.load(sys.argv[1])
got["base"][2] = 100
json.dump({k: v.tolist() for k, v in got.items()}, open(sys.argv[2], "w"))
`, file, want, format);
  const after = JSON.parse(fs.readFileSync(want, 'utf8')) as Record<string, unknown>;
  const sd = torch.load(file);
  expect(sd.get('t')!.stride()).toEqual([1, 3]); // the saved strides, as PyTorch keeps them
  torch.noGrad(() => sd.get('base')!.index(2).fill_(100));
  for (const [k, v] of Object.entries(after)) expect([k, sd.get(k)!.tolist()]).toEqual([k, v]);
  // each name its own Tensor: disposing one leaves the others (and their shared memory) intact
  sd.get('tied')!.dispose();
  expect(sd.get('part')!.tolist()).toEqual(after.part);
  // torch.loadObject: the same sharing (and one Tensor where Python had one object)
  const obj = torch.loadObject(file) as Record<string, torch.Tensor>;
  expect(obj.tied).toBe(obj.base);
  torch.noGrad(() => obj.base.index(2).fill_(100));
  for (const [k, v] of Object.entries(after)) expect([k, obj[k].tolist()]).toEqual([k, v]);
});
