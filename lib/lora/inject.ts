// Injecting LoRA into a model, freezing its base, counting, merging, and adapter files in
// PEFT's layout (adapter_config.json + adapter_model.safetensors, keys like
// base_model.model.transformer.h.0.attn.c_attn.lora_A.weight), so that Python's PEFT loads
// ours and we load theirs.
import { keywordOptions } from '../tensor/options';
import * as fs from 'fs';
import * as path from 'path';
import { Tensor } from '../tensor/tensor';
import { noGrad } from '../tensor/runtime';
import { tidy } from '../tensor/scope';
import { cat } from '../tensor/ops';
import { svd } from '../tensor/linalg';
import { Module } from '../nn/module';
import { Conv1D, Embedding, Linear } from '../nn/layers';
import { saveFile } from '../io/safetensors';
import { saveTorchFile } from '../io/torchsave';
import { loadWeights } from '../io/weights';
import { writeFileAtomic } from '../io/atomic';
import { readJsonObject } from '../io/json';
import { writeAdapterCard } from '../train/modelcard';
import { GPT2ForSequenceClassification } from '../models/sequence_classification';
import { GPT2ForTokenClassification } from '../models/token_classification';
import { CLASSIFIER_MODULE_NAMES, TASK_TYPES, TaskType, LoRABase, LoRAEmbedding, LoRALayer, LoRAOptions, LoraInit, ResolvedLoRAOptions, isTargeted, layerOptions, matchesTarget, patternKey, resolveLoRAOptions } from './lora';
import { resolvePretrained } from '../io/hub';

const PREFIX = 'base_model.model.';
/** The active adapter's options, by model. */
const configs = new WeakMap<Module, ResolvedLoRAOptions>();
/** Every adapter's options and which one is active (PEFT's adapter names; the first is 'default'). */
const adapterSets = new WeakMap<Module, { active: string; all: Map<string, ResolvedLoRAOptions> }>();

/** The LoRA options a model was given, or null when it has no LoRA. */
export function loraConfig(model: Module): ResolvedLoRAOptions | null {
  return configs.get(model) ?? null;
}

/** Every LoRA layer with its dotted name (the Conv1D / Linear wrappers). */
export function loraLayers(model: Module): [string, LoRALayer][] {
  return [...model.namedModules()].filter(([, m]) => m instanceof LoRALayer) as [string, LoRALayer][];
}
/** Every LoRA module with its dotted name: the layers' and the embeddings' (LoRAEmbedding). */
export function loraModules(model: Module): [string, LoRALayer | LoRAEmbedding][] {
  return [...model.namedModules()].filter(([, m]) => m instanceof LoRALayer || m instanceof LoRAEmbedding) as [string, LoRALayer | LoRAEmbedding][];
}
/** The layers LoRA can wrap: Conv1D and nn.Linear ('all-linear'), and an nn.Embedding named in targetModules. */
const wrappable = (m: Module): m is LoRABase => m instanceof Conv1D || m instanceof Linear;

function parentOf(model: Module, name: string): [Module, string] {
  const parts = name.split('.');
  let m: Module = model;
  for (const p of parts.slice(0, -1)) {
    const child = [...m.namedChildren()].find(([n]) => n === p);
    if (!child) throw new Error(`LoRA: no module '${name}'`);
    m = child[1];
  }
  return [m, parts[parts.length - 1]];
}

/**
 * Wraps every targeted Conv1D (or nn.Linear) in LoRA and freezes the base. peft mode: only LoRA weights (plus
 * biases per `bias`, plus modulesToSave) train. seed mode: as the notebook, only the wrapped
 * layers' own weight and bias are frozen; embeddings, LayerNorms and other biases stay
 * trainable (a documented quirk of the seed, reproduced for parity). r = 0 leaves a layer as it is.
 */
export function applyLoRA<M extends Module>(model: M, options: LoRAOptions & { adapterName?: string } = {}): M {
  if (configs.has(model)) throw new Error('applyLoRA: this model already has LoRA layers (another adapter: torch.lora.addAdapter)');
  const adapterName = checkAdapterName(options.adapterName ?? 'default');
  const opts = resolveLoRAOptions(options);
  if (opts.targetModules === 'all-linear') {
    // PEFT's 'all-linear': every linear layer but the output one (lm_head), saved as the names it resolved to.
    const names = [...model.namedModules()].filter(([n, m]) => wrappable(m) && n !== 'lm_head').map(([n]) => n.split('.').pop()!);
    opts.targetModules = [...new Set(names)];
  }
  const targets = [...model.namedModules()].filter(([n, m]) => (wrappable(m) || m instanceof Embedding) && isTargeted(n, opts)) as [string, LoRABase | Embedding][];
  if (!targets.length) {
    const asked = typeof opts.targetModules === 'string' ? `'${opts.targetModules}'` : `[${opts.targetModules.join(', ')}]`;
    const narrowed = opts.layersToTransform !== null || opts.excludeModules !== null ? ' within layersToTransform / excludeModules' : '';
    throw new Error(`applyLoRA: no Conv1D matches targetModules ${asked}${narrowed} (nor does any nn.Linear or nn.Embedding layer)`);
  }
  // A pattern key that matches no wrapped layer is most likely a typo (PEFT ignores it silently).
  for (const [what, pattern] of [['rankPattern', opts.rankPattern], ['alphaPattern', opts.alphaPattern]] as const) {
    for (const key of Object.keys(pattern)) {
      if (!targets.some(([n]) => patternKey([key], n) !== undefined)) console.warn(`LoRA: ${what} key '${key}' matches no wrapped layer (their names are like ${targets[0][0]})`);
    }
  }
  // PEFT's task_type: a classifier's head trains in full (modules_to_save), whichever of PEFT's two names it has.
  opts.taskType ??= model instanceof GPT2ForSequenceClassification ? 'SEQ_CLS' : model instanceof GPT2ForTokenClassification ? 'TOKEN_CLS' : 'CAUSAL_LM';
  const headNames = opts.taskType === 'CAUSAL_LM' ? [] : CLASSIFIER_MODULE_NAMES;
  if (headNames.length) {
    if (!headNames.some((t) => [...model.namedModules()].some(([n]) => matchesTarget(n, [t])))) throw new Error(`applyLoRA: taskType ${opts.taskType} needs a classification head (a module named ${headNames.join(' or ')}); this model has none`);
    opts.modulesToSave = [...new Set([...(opts.modulesToSave ?? []), ...headNames])];
  }
  for (const t of opts.modulesToSave ?? []) {
    if (headNames.includes(t)) continue;
    if (![...model.namedModules()].some(([n]) => matchesTarget(n, [t]))) throw new Error(`applyLoRA: modulesToSave '${t}' matches no module`);
  }
  checkNotTied(model, opts);
  if (opts.r > 0) {
    for (const [name, layer] of targets) {
      const [parent, child] = parentOf(model, name);
      const own = layerOptions(name, opts); // its rank and alpha (rankPattern, alphaPattern)
      // In the mode of the layer it replaces: LoRA added to a model in eval mode (loaded for
      // inference) must not start its dropout.
      parent.replaceModule(child, (layer instanceof Embedding ? new LoRAEmbedding(layer, own) : new LoRALayer(layer, own)).train(layer.training));
    }
  }
  configs.set(model, opts);
  adapterSets.set(model, { active: adapterName, all: new Map([[adapterName, opts]]) });
  markTrainable(model, opts);
  return model;
}

function checkAdapterName(name: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`LoRA: an adapter name is letters, digits, _ and -; got '${name}'`);
  return name;
}

function adaptersOf(model: Module): { active: string; all: Map<string, ResolvedLoRAOptions> } {
  const set = adapterSets.get(model);
  if (!set) throw new Error('LoRA: the model has no LoRA (applyLoRA first)');
  return set;
}

/** The active adapter's name (PEFT's active_adapter). */
export function activeAdapter(model: Module): string {
  return adaptersOf(model).active;
}
/** The model's adapters, the active one first. */
export function adapterNames(model: Module): string[] {
  const { active, all } = adaptersOf(model);
  return [active, ...[...all.keys()].filter((n) => n !== active)];
}

/**
 * PEFT's add_adapter: a further adapter with its own options (rank, alpha, targets, ...), made as
 * applyLoRA makes one and parked: the active adapter stays active (setAdapter switches). Plain
 * LoRA and DoRA on Conv1D / Linear layers; biases and modulesToSave stay the first adapter's.
 */
export function addAdapter(model: Module, name: string, options: LoRAOptions = {}): void {
  const set = adaptersOf(model);
  checkAdapterName(name);
  if (set.all.has(name)) throw new Error(`addAdapter: the model has an adapter '${name}' already (deleteAdapter first)`);
  const opts = resolveLoRAOptions(options);
  const refusal = addRefusal(model, opts);
  if (refusal) throw new Error(`addAdapter: ${refusal}`);
  if (opts.targetModules === 'all-linear') {
    opts.targetModules = [...new Set([...model.namedModules()].filter(([n, m]) => (wrappable(m) || m instanceof LoRALayer) && n !== 'lm_head' && !n.endsWith('.base_layer')).map(([n]) => n.split('.').pop()!))];
  }
  // the layers: LoRA wrappers already there (by their own names), and plain layers not inside one
  const inside = new Set(loraModules(model).map(([n]) => `${n}.base_layer`));
  const targets = [...model.namedModules()].filter(([n, m]) => !inside.has(n) && (m instanceof LoRALayer || wrappable(m) || m instanceof Embedding) && isTargeted(n, opts));
  if (!targets.length) throw new Error(`addAdapter: no Conv1D or Linear layer matches targetModules ${JSON.stringify(opts.targetModules)}`);
  if (targets.some(([, m]) => m instanceof Embedding || m instanceof LoRAEmbedding)) throw new Error('addAdapter: several adapters on an embedding are not supported; leave the embedding out of targetModules');
  for (const [n, m] of targets) {
    const own = layerOptions(n, opts);
    if (m instanceof LoRALayer) {
      // the new factors, initialised by a wrapper of their own around the same base, then taken over
      const made = new LoRALayer(m.base, own);
      made.park(name);
      m.adoptParked(name, made);
    } else {
      // a new wrapper: its adapter waits parked, the active adapter not wrapping this layer
      const layer = new LoRALayer(m as LoRABase, own).train(m.training);
      layer.park(name);
      const [parent, child] = parentOf(model, n);
      parent.replaceModule(child, layer);
    }
  }
  set.all.set(name, opts);
  markTrainable(model, configs.get(model)!); // (the base of newly wrapped layers frozen too)
}

/** Why addAdapter refuses these options on this model, whatever their targets; null where it does not. */
function addRefusal(model: Module, opts: ResolvedLoRAOptions): string | null {
  if (opts.mode !== 'peft' || configs.get(model)!.mode !== 'peft') return 'several adapters are for peft mode, not the notebook\'s seed wrapper';
  if (typeof opts.initLoraWeights === 'string' && opts.initLoraWeights.startsWith('pissa')) return 'PiSSA changes the base weights the other adapters share; use it for the first adapter only';
  if (opts.bias !== 'none' || opts.modulesToSave?.length) return 'bias and modulesToSave train base tensors all adapters share; leave them to the first adapter';
  return null;
}

/**
 * Why a LoRA model cannot take a second adapter with these options (an adapter's own, read with
 * readAdapterConfig) and switch to it, or null where it can: a caller's way to choose another
 * plan (the CLI's DPO reference) instead of failing.
 */
export function secondAdapterRefusal(model: Module, options: LoRAOptions): string | null {
  if (!adapterSets.has(model)) return 'the model has no LoRA';
  if (loraModules(model).some(([, l]) => l instanceof LoRAEmbedding)) return 'several adapters with LoRA on an embedding are not supported';
  return addRefusal(model, resolveLoRAOptions(options));
}

/** PEFT's set_adapter: makes name the active adapter (the one that computes, trains and saves). */
export function setAdapter(model: Module, name: string): void {
  const set = adaptersOf(model);
  const opts = set.all.get(name);
  if (!opts) throw new Error(`setAdapter: no adapter '${name}' (the model has ${[...set.all.keys()].join(', ')})`);
  if (name === set.active) return;
  const layers = loraLayers(model);
  if (layers.some(([, l]) => l.merged)) throw new Error('setAdapter: unmerge first (the base weights hold the active adapter)');
  if (loraModules(model).some(([, l]) => l instanceof LoRAEmbedding)) throw new Error('setAdapter: several adapters with LoRA on an embedding are not supported');
  for (const [, l] of layers) {
    l.park(set.active);
    l.unpark(name);
  }
  set.active = name;
  configs.set(model, opts);
  markTrainable(model, opts);
}

/**
 * Runs fn with the adapter name active, then makes the adapter active before active again: TRL's
 * ref_adapter_name, where the reference of DPO or KTO is another adapter of the policy's model
 * (PEFT's set_adapter there and back). Every tensor keeps its identity, .grad and requiresGrad,
 * so an optimizer step may run on either side of it.
 */
export function withAdapter<T>(model: Module, name: string, fn: () => T): T {
  const set = adaptersOf(model);
  if (!set.all.has(name)) throw new Error(`withAdapter: no adapter '${name}' (the model has ${[...set.all.keys()].join(', ')})`);
  const before = set.active;
  if (name === before) return fn();
  const tensors = [...model.parameters(), ...model.buffers()];
  const trains = tensors.map((t) => t.requiresGrad);
  setAdapter(model, name);
  try {
    return fn();
  } finally {
    setAdapter(model, before);
    tensors.forEach((t, i) => { if (t.requiresGrad !== trains[i]) t.requiresGrad_(trains[i]); });
  }
}

export interface WeightedAdapterOptions {
  /**
   * PEFT's combination_type: 'cat' (A and B stacked, rank the sum: exactly Σ wᵢ·ΔWᵢ), 'linear'
   * (equal ranks; A and B each the weighted sum, by sqrt(|wᵢ·sᵢ|)), or 'svd' (default, as PEFT:
   * the weighted sum of the updates cut to svdRank, default the largest rank, by SVD)
   */
  combinationType?: 'cat' | 'linear' | 'svd';
  svdRank?: number;
  /** svd: clamp A and B's entries to ±(this quantile of all their entries) (PEFT's svd_clamp) */
  svdClamp?: number;
}

/**
 * PEFT's add_weighted_adapter: a new adapter name from the adapters' updates weighted (weights may
 * be negative), added beside them (setAdapter to use it). Its config is the first one's with
 * r = lora_alpha = the new rank and the targets' union, as PEFT makes it.
 */
export function addWeightedAdapter(model: Module, adapters: string[], weights: number[], name: string, opts: WeightedAdapterOptions = {}): void {
  const set = adaptersOf(model);
  if (!adapters.length || adapters.length !== weights.length) throw new Error(`addWeightedAdapter: one weight per adapter (${adapters.length} adapters, ${weights.length} weights)`);
  for (const a of adapters) if (!set.all.has(a)) throw new Error(`addWeightedAdapter: no adapter '${a}' (the model has ${[...set.all.keys()].join(', ')})`);
  const kind = adapters.length === 1 ? 'linear' : opts.combinationType ?? 'svd';
  if (!['cat', 'linear', 'svd'].includes(kind)) throw new Error(`addWeightedAdapter: combinationType must be cat, linear or svd; got '${kind}'`);
  const cfgs = adapters.map((a) => set.all.get(a)!);
  if (cfgs.some((c) => c.useDora)) throw new Error('addWeightedAdapter: DoRA adapters cannot be combined (their magnitudes do not add)');
  const ranks = cfgs.map((c) => Math.max(c.r, ...Object.values(c.rankPattern)));
  let rank: number;
  if (kind === 'linear') {
    if (new Set(ranks).size !== 1) throw new Error(`addWeightedAdapter: 'linear' needs adapters of one rank; got ${ranks.join(', ')} (use 'cat' or 'svd')`);
    rank = ranks[0];
  } else {
    rank = kind === 'cat' ? ranks.reduce((x, y) => x + y, 0) : opts.svdRank ?? Math.max(...ranks);
  }
  const targetKinds = new Set(cfgs.map((c) => typeof c.targetModules));
  if (targetKinds.size > 1) throw new Error('addWeightedAdapter: the adapters\' targetModules mix lists and regular expressions (PEFT refuses that too)');
  const targetModules = typeof cfgs[0].targetModules === 'string'
    ? cfgs.map((c) => `(${c.targetModules})`).join('|')
    : [...new Set(cfgs.flatMap((c) => c.targetModules as string[]))];
  addAdapter(model, name, { ...cfgs[0], r: rank, alpha: rank, targetModules, rankPattern: {}, alphaPattern: {}, initLoraWeights: true, bias: 'none', modulesToSave: null });
  try {
    fillWeightedAdapter(model, adapters, weights, name, kind, rank, opts);
  } catch (e) {
    deleteAdapter(model, name); // (whole or not at all)
    throw e;
  }
}

/** The new adapter's A and B in each layer, from the adapters' (see addWeightedAdapter). */
function fillWeightedAdapter(model: Module, adapters: string[], weights: number[], name: string, kind: string, rank: number, opts: WeightedAdapterOptions): void {
  const set = adaptersOf(model);
  noGrad(() => tidy(() => {
    for (const [layerName, l] of loraLayers(model)) {
      const target = l.adapterFactors(name, set.active);
      if (!target) continue;
      const sources = adapters.map((a, i) => ({ f: l.adapterFactors(a, set.active), w: weights[i] })).filter((x) => x.f !== null) as { f: NonNullable<ReturnType<LoRALayer['adapterFactors']>>; w: number }[];
      if (!sources.length) throw new Error(`addWeightedAdapter: internal error: none of the adapters wraps ${layerName}`);
      let A: Tensor, B: Tensor;
      if (kind === 'cat') {
        // ΔW = Σ wᵢsᵢ·BᵢAᵢ = [B₁ B₂ ...]·[w₁s₁A₁ ; w₂s₂A₂ ; ...]
        A = cat(sources.map(({ f, w }) => f.A.mul(w * f.scaling)), 0);
        B = cat(sources.map(({ f }) => f.B), 1);
      } else if (kind === 'linear') {
        const rs = sources.map(({ f }) => f.r);
        if (new Set(rs).size > 1) throw new Error(`addWeightedAdapter: 'linear' needs one rank in every layer; ${layerName} has ${rs.join(' and ')} (rankPattern): use 'cat' or 'svd'`);
        const ws = sources.map(({ f, w }) => w * f.scaling);
        A = sources.map(({ f }, i) => f.A.mul(Math.sign(ws[i] || 1) * Math.sqrt(Math.abs(ws[i])))).reduce((x, y) => x.add(y));
        B = sources.map(({ f }, i) => f.B.mul(Math.sqrt(Math.abs(ws[i])))).reduce((x, y) => x.add(y));
      } else {
        // PEFT's svd: Σ (wᵢ·sᵢ)·ΔWᵢ with ΔWᵢ = sᵢ·BᵢAᵢ (its get_delta_weight), cut to the rank
        const delta = sources.map(({ f, w }) => f.B.matmul(f.A).mul(w * f.scaling * f.scaling)).reduce((x, y) => x.add(y));
        const { U, S, Vh } = svd(delta, { fullMatrices: true });
        const k = Math.min(rank, S.shape[0]); // (a rank beyond the matrix's leaves the rest zero)
        B = U.narrow(1, 0, k).mul(S.narrow(0, 0, k).unsqueeze(0));
        A = Vh.narrow(0, 0, k);
        if (opts.svdClamp !== undefined) {
          const hi = cat([B.flatten(), A.flatten()]).quantile(opts.svdClamp).item() as number;
          [A, B] = [A.clamp(-hi, hi), B.clamp(-hi, hi)];
        }
      }
      target.A.zero_().narrow(0, 0, A.shape[0]).copy_(A);
      target.B.zero_().narrow(1, 0, B.shape[1]).copy_(B);
    }
  }));
}

/** PEFT's delete_adapter: frees an adapter that is not the active one. */
export function deleteAdapter(model: Module, name: string): void {
  const set = adaptersOf(model);
  if (!set.all.has(name)) throw new Error(`deleteAdapter: no adapter '${name}'`);
  if (name === set.active) throw new Error(`deleteAdapter: '${name}' is the active adapter; setAdapter to another first`);
  for (const [, l] of loraLayers(model)) l.dropParked(name);
  set.all.delete(name);
}

/** The adapter's own parameters: A, B, and DoRA's magnitude. */
const LORA_PARAM = /(^|\.)(lora_[AB]\.|lora_magnitude_vector$|lora_embedding_[AB]$)/;

function markTrainable(model: Module, opts: ResolvedLoRAOptions): void {
  if (opts.mode === 'seed') {
    for (const [, l] of loraLayers(model)) l.base.requiresGrad_(false);
    return;
  }
  const names = model.namedParameters();
  const saved = (n: string) => inModuleToSave(n, opts);
  const loraOwners = new Set(loraLayers(model).map(([n]) => n));
  for (const [n, p] of names) {
    let train = LORA_PARAM.test(n);
    if (opts.bias === 'all' && n.endsWith('.bias')) train = true;
    if (opts.bias === 'lora_only' && n.endsWith('.base_layer.bias') && loraOwners.has(n.slice(0, -'.base_layer.bias'.length))) train = true;
    if (saved(n)) train = true;
    p.requiresGrad_(train);
  }
}

/**
 * A module to save must own its weights: PEFT trains a copy of the module, cut loose from any
 * tensor it shares (GPT-2's lm_head is wte's weight), which a tied GPT-2 cannot hold; training
 * the shared tensor instead would save an adapter that means something else to PEFT.
 */
function checkNotTied(model: Module, opts: ResolvedLoRAOptions): void {
  const names = new Map<Tensor, string[]>();
  for (const [m, mod] of model.namedModules()) {
    for (const [p, t] of mod.namedParameters({ recurse: false })) names.set(t, [...(names.get(t) ?? []), m ? `${m}.${p}` : p]);
  }
  for (const shared of names.values()) {
    const saved = shared.filter((n) => inModuleToSave(n, opts));
    if (shared.length > 1 && saved.length) {
      throw new Error(`applyLoRA: modulesToSave takes ${saved[0]}, but ${shared.join(' and ')} are one tensor (tied); PEFT would train an untied copy, which this model cannot hold. ` +
        'Train the embedding with LoRA (targetModules wte; the CLI\'s --lora-targets wte) or fine-tune fully');
    }
  }
}

/** Whether a parameter belongs to one of the modules to save (the module, or one above it, matches). */
function inModuleToSave(param: string, opts: ResolvedLoRAOptions): boolean {
  const mod = param.split('.').slice(0, -1).join('.');
  return (opts.modulesToSave ?? []).some((t) => matchesTarget(mod, [t]) || [...moduleAncestors(mod)].some((a) => matchesTarget(a, [t])));
}

function* moduleAncestors(name: string): Generator<string> {
  const parts = name.split('.');
  for (let i = parts.length - 1; i > 0; i--) yield parts.slice(0, i).join('.');
}

/** PEFT's print_trainable_parameters line (all params: the inactive adapters' too, as PEFT's, where they stay parameters). */
export function trainableParametersLine(model: Module): string {
  const all = model.numParameters() + loraLayers(model).reduce((n, [, l]) => n + l.parkedNumel(), 0);
  const trainable = model.numParameters({ trainableOnly: true });
  const pct = all ? (100 * trainable) / all : 0;
  return `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${all.toLocaleString('en-US')} || trainable%: ${pct.toFixed(4)}`;
}
export function printTrainableParameters(model: Module): void {
  console.log(trainableParametersLine(model));
}

export function merge(model: Module): void {
  warnTiedEmbeddings(model);
  for (const [, l] of loraModules(model)) l.merge();
}

/**
 * Merging LoRA into an embedding whose table another layer shares (GPT-2's lm_head is tied to
 * wte) changes that layer too, which the unmerged adapter does not: say so, as PEFT warns.
 */
function warnTiedEmbeddings(model: Module): void {
  const embeddings = loraModules(model).filter(([, l]) => l instanceof LoRAEmbedding && !l.merged) as [string, LoRAEmbedding][];
  if (!embeddings.length) return;
  const owners = new Map<Tensor, string[]>();
  // (namedParameters lists a shared tensor once: walk each module's own parameters instead)
  for (const [mname, m] of model.namedModules()) {
    for (const [pname, p] of m.namedParameters({ recurse: false })) owners.set(p, [...(owners.get(p) ?? []), mname ? `${mname}.${pname}` : pname]);
  }
  for (const [name, l] of embeddings) {
    const others = (owners.get(l.base_layer.weight) ?? []).filter((n) => !n.startsWith(`${name}.`));
    if (others.length) console.warn(`LoRA: merging into ${name}, whose table ${others.join(', ')} shares (tied weights): that layer changes too, unlike with the unmerged adapter (as with PEFT)`);
  }
}
export function unmerge(model: Module): void {
  for (const [, l] of loraModules(model)) l.unmerge();
}

/**
 * Runs fn with every LoRA layer off, so the model computes as its base (PEFT's
 * `with model.disable_adapter():`); merged layers are unmerged for it and merged again after.
 */
export function disableAdapter<T>(model: Module, fn: () => T): T {
  const layers = loraModules(model).map(([, l]) => l);
  if (!layers.length) throw new Error('disableAdapter: the model has no LoRA layers');
  const state = layers.map((l) => ({ l, merged: l.merged, disabled: l.disabled }));
  try {
    for (const l of layers) { l.unmerge(); l.disabled = true; }
    return fn();
  } finally {
    for (const s of state) { s.l.disabled = s.disabled; if (s.merged) s.l.merge(); }
  }
}

/** Merges every LoRA layer and puts the plain Conv1D (or Linear) back: a model Hugging Face can load as is. */
export function mergeAndUnload<M extends Module>(model: M): M {
  warnTiedEmbeddings(model);
  for (const [name, l] of loraModules(model)) {
    const [parent, child] = parentOf(model, name);
    parent.replaceModule(child, l.unload());
  }
  configs.delete(model);
  adapterSets.delete(model);
  model.requiresGrad_(true);
  return model;
}

// ---------- adapter files ----------

/** The adapter's tensors under PEFT's saved names. */
export function adapterStateDict(model: Module, save: { convertToLora?: boolean } = {}): Map<string, Tensor> {
  const opts = configs.get(model);
  if (!opts) throw new Error('saveAdapter: the model has no LoRA (applyLoRA first)');
  if (save.convertToLora) checkPissa(model);
  const out = new Map<string, Tensor>();
  for (const [name, l] of loraModules(model)) {
    if (l instanceof LoRALayer && !l.hasActive) continue; // (the active adapter does not wrap it)
    if (l instanceof LoRAEmbedding) {
      out.set(`${PREFIX}${name}.lora_embedding_A`, l.lora_embedding_A); // (PEFT's saved names)
      out.set(`${PREFIX}${name}.lora_embedding_B`, l.lora_embedding_B);
    } else if (l.mode === 'seed') {
      // x·W_B·W_A == PEFT's (B·A)ᵀ with B = W_Aᵀ, A = W_Bᵀ and scaling 1 (alpha = r).
      out.set(`${PREFIX}${name}.lora_A.weight`, l.W_B.t().contiguous());
      out.set(`${PREFIX}${name}.lora_B.weight`, l.W_A.t().contiguous());
    } else if (save.convertToLora) {
      // PEFT's PiSSA conversion: W = W_res + s·B0A0, so W_res + s·BA = W + s·[B | -B0][A ; A0]: rank 2r over the original base
      out.set(`${PREFIX}${name}.lora_A.weight`, cat([l.lora_A.weight, l.pissa_initial_A!], 0));
      out.set(`${PREFIX}${name}.lora_B.weight`, cat([l.lora_B.weight, l.pissa_initial_B!.neg()], 1));
      if (l.useDora) out.set(`${PREFIX}${name}.lora_magnitude_vector`, l.lora_magnitude_vector);
    } else {
      out.set(`${PREFIX}${name}.lora_A.weight`, l.lora_A.weight);
      out.set(`${PREFIX}${name}.lora_B.weight`, l.lora_B.weight);
      if (l.useDora) out.set(`${PREFIX}${name}.lora_magnitude_vector`, l.lora_magnitude_vector); // (PEFT's saved name)
    }
  }
  if (opts.mode === 'peft') {
    for (const [n, p] of model.namedParameters()) {
      const isBias = n.endsWith('.bias') && (opts.bias === 'all' || (opts.bias === 'lora_only' && n.endsWith('.base_layer.bias')));
      // (a module to save's bias too: PEFT saves the whole module)
      const isSaved = p.requiresGrad && !LORA_PARAM.test(n) && (!n.endsWith('.bias') || inModuleToSave(n, opts));
      if (isBias || isSaved) out.set(PREFIX + n, p);
    }
  }
  return out;
}

/** convertToLora needs every layer's PiSSA starting factors. */
function checkPissa(model: Module): void {
  const o = configs.get(model)!;
  if (typeof o.initLoraWeights !== 'string' || !o.initLoraWeights.startsWith('pissa')) {
    throw new Error(`saveAdapter: convertToLora is for PiSSA adapters (initLoraWeights 'pissa'); this one has initLoraWeights ${JSON.stringify(o.initLoraWeights)} and is plain LoRA already`);
  }
  const missing = loraLayers(model).filter(([, l]) => l.hasActive && !l.pissa_initial_A).map(([n]) => n);
  if (missing.length) throw new Error(`saveAdapter: convertToLora: ${missing[0]} has no PiSSA starting factors (loaded from a file? they exist only where PiSSA ran in this process)`);
}

/** adapter_config.json's fields; convertToLora: as PEFT writes a PiSSA adapter converted to plain LoRA (rank and alpha doubled). */
export function adapterConfigJson(model: Module, baseModelNameOrPath: string | null = null, save: { convertToLora?: boolean } = {}): Record<string, unknown> {
  const o0 = configs.get(model);
  if (!o0) throw new Error('saveAdapter: the model has no LoRA (applyLoRA first)');
  let o = o0;
  if (save.convertToLora) {
    checkPissa(model);
    // twice the rank; alpha so that the scaling stays (rsLoRA: alpha / sqrt(r))
    const f = o.useRslora ? Math.SQRT2 : 2;
    const times = (p: Record<string, number>, k: number) => Object.fromEntries(Object.entries(p).map(([n, v]) => [n, v * k]));
    o = { ...o, r: 2 * o.r, alpha: f * o.alpha, rankPattern: times(o.rankPattern, 2), alphaPattern: times(o.alphaPattern, f), initLoraWeights: true };
  }
  return {
    peft_type: 'LORA',
    task_type: o.taskType ?? 'CAUSAL_LM',
    // as PEFT: the base's name_or_path (what from_pretrained was given), unless said otherwise
    base_model_name_or_path: baseModelNameOrPath ?? (model as { nameOrPath?: string | null }).nameOrPath ?? null,
    r: o.r,
    lora_alpha: o.mode === 'seed' ? o.r : o.alpha,
    lora_dropout: o.mode === 'seed' ? 0 : o.dropout,
    target_modules: o.targetModules,
    // PEFT's flag for Conv1D's (in, out) weights (GPT-2); PEFT corrects it per layer type anyway.
    fan_in_fan_out: loraLayers(model).some(([, l]) => l.fanInFanOut) || [...model.namedModules()].some(([n, m]) => m instanceof Conv1D && matchesTarget(n, o.targetModules)),
    bias: o.bias,
    modules_to_save: o.modulesToSave,
    use_rslora: o.mode === 'seed' ? false : o.useRslora, // seed adapters are exported with scaling 1
    init_lora_weights: o.initLoraWeights,
    inference_mode: true,
    layers_to_transform: o.layersToTransform,
    layers_pattern: o.layersPattern,
    rank_pattern: o.rankPattern,
    alpha_pattern: o.mode === 'seed' ? {} : o.alphaPattern,
    ...(o.excludeModules !== null ? { exclude_modules: o.excludeModules } : {}), // (PEFT >= 0.14; older versions refuse unknown keys)
    use_dora: o.useDora,
    revision: null,
    // Ours, ignored by PEFT: which wrapper math trained this adapter.
    tstorch_lora_mode: o.mode,
    // and, for a classifier, what PEFT leaves to the base's config: the label names, the problem, the pad token
    ...(model instanceof GPT2ForSequenceClassification ? {
      tstorch_id2label: model.config.id2label, tstorch_problem_type: model.config.problem_type, tstorch_pad_token_id: model.config.pad_token_id,
    } : model instanceof GPT2ForTokenClassification ? { tstorch_id2label: model.config.id2label } : {}),
  };
}

export interface SaveAdapterOptions {
  baseModelNameOrPath?: string;
  /** which adapter (default: the active one) */
  adapterName?: string;
  /**
   * A PiSSA adapter saved as plain LoRA over the original base (rank 2r; PEFT's
   * path_initial_model_for_weight_conversion): it then needs no PiSSA on loading, and adapters
   * of one base can be swapped. Without it, loading recomputes the base's residual (as PEFT does).
   */
  convertToLora?: boolean;
  /** adapter_model.safetensors (default, PEFT's safe_serialization=True), or false: adapter_model.bin (torch.save's format), for tools that read only that */
  safeSerialization?: boolean;
}

/** Writes adapter_config.json and adapter_model.safetensors (or .bin) into dir, each atomically. */
export async function saveAdapter(model: Module, dir: string, opts: SaveAdapterOptions = {}): Promise<void> {
  keywordOptions('saveAdapter', opts, ['baseModelNameOrPath', 'adapterName', 'convertToLora', 'safeSerialization']);
  writeAdapter(model, dir, opts);
}

/** saveAdapter, synchronously. */
export function writeAdapter(model: Module, dir: string, opts: SaveAdapterOptions = {}): void {
  const set = adapterSets.get(model);
  if (set && opts.adapterName !== undefined && opts.adapterName !== set.active) {
    const active = set.active;
    setAdapter(model, opts.adapterName);
    try {
      writeAdapter(model, dir, { ...opts, adapterName: undefined });
    } finally {
      setAdapter(model, active);
    }
    return;
  }
  const config = adapterConfigJson(model, opts.baseModelNameOrPath ?? null, opts);
  fs.mkdirSync(dir, { recursive: true });
  // tidy frees the transposed copies a seed-mode adapter makes (and a converted PiSSA's); parameters are kept.
  const safe = opts.safeSerialization ?? true;
  tidy(() => (safe
    ? saveFile(path.join(dir, 'adapter_model.safetensors'), adapterStateDict(model, opts), { format: 'pt' })
    : saveTorchFile(path.join(dir, 'adapter_model.bin'), adapterStateDict(model, opts))));
  // (an earlier save's other file would be read instead of this one, or beside it: gone)
  fs.rmSync(path.join(dir, safe ? 'adapter_model.bin' : 'adapter_model.safetensors'), { force: true });
  writeFileAtomic(path.join(dir, 'adapter_config.json'), JSON.stringify(config, null, 2) + '\n');
  writeAdapterCard(dir, config); // (README.md, as PEFT's save_pretrained writes one into every adapter folder)
}

export function readAdapterConfig(dir: string): ResolvedLoRAOptions {
  const file = path.join(dir, 'adapter_config.json');
  // (not an object, e.g. null: said so, not "cannot read properties of null" below)
  const c = readJsonObject(file, 'adapter', 'a PEFT adapter folder needs a readable adapter_config.json');
  if (c.peft_type !== 'LORA') throw new Error(`adapter: ${file} is a '${c.peft_type}' adapter; only LORA is supported`);
  const targets = c.target_modules as string[] | string; // (a string: a regular expression, or 'all-linear')
  // How A and B started matters on loading only where it changed the base weights (PiSSA: done
  // again here, as PEFT does); other such inits are refused, plain ones load as LoRA.
  let init = (c.init_lora_weights ?? true) as LoraInit | string;
  if (init === 'eva' || init === 'orthogonal') init = true;
  if (typeof init === 'string' && init.startsWith('pissa_niter_')) {
    console.warn(`adapter: ${file} is a PiSSA adapter from a randomized SVD (${init}): the base's residual is recomputed with another draw, not the one it was trained on; save it converted to LoRA (convertToLora / PEFT's path_initial_model_for_weight_conversion)`);
  } else if (!(typeof init === 'boolean' || init === 'gaussian' || init === 'pissa')) {
    throw new Error(`adapter: ${file} was made with init_lora_weights ${JSON.stringify(init)}, which changes the base weights; convert it to plain LoRA first (PEFT: save_pretrained(..., path_initial_model_for_weight_conversion=...))`);
  }
  return resolveLoRAOptions({
    r: c.r as number,
    alpha: c.lora_alpha as number,
    dropout: (c.lora_dropout as number) ?? 0,
    targetModules: targets,
    bias: (c.bias as 'none') ?? 'none',
    modulesToSave: (c.modules_to_save as string[] | null) ?? null,
    useRslora: (c.use_rslora as boolean) ?? false,
    useDora: (c.use_dora as boolean) ?? false,
    rankPattern: (c.rank_pattern as Record<string, number>) ?? {},
    alphaPattern: (c.alpha_pattern as Record<string, number>) ?? {},
    layersToTransform: (c.layers_to_transform as number | number[] | null) ?? null,
    layersPattern: (c.layers_pattern as string | string[] | null) ?? null,
    excludeModules: (c.exclude_modules as string[] | string | null) ?? null,
    initLoraWeights: init as LoraInit,
    taskType: TASK_TYPES.includes(c.task_type as TaskType) ? c.task_type as TaskType : undefined,
    mode: 'peft', // a seed-mode adapter is saved in the equivalent peft form
  });
}

/**
 * Loads a PEFT LoRA adapter folder into the model: applies LoRA with the folder's config when
 * the model has none, then copies every tensor (all must be present and of the right shape).
 * With adapterName (PEFT's load_adapter) into a model with LoRA: added as a further adapter,
 * the active one staying active (setAdapter switches); without, into the active adapter.
 */
export async function loadAdapter<M extends Module>(model: M, nameOrPath: string, options: { adapterName?: string; revision?: string; isTrainable?: boolean } = {}): Promise<M> {
  keywordOptions('loadAdapter', options, ['adapterName', 'revision', 'isTrainable']);
  await loadAdapterWeights(model, nameOrPath, options);
  if (options.isTrainable === false) {
    // PEFT's is_trainable=False (its default; ours is true, loading being how training goes on):
    // eval mode, and the adapter frozen (where it is the active one: the whole model then is)
    const active = options.adapterName === undefined || adapterSets.get(model)?.active === options.adapterName;
    if (active) for (const p of model.parameters()) p.requiresGrad_(false);
    model.eval();
  }
  return model;
}

async function loadAdapterWeights(model: Module, nameOrPath: string, options: { adapterName?: string; revision?: string }): Promise<void> {
  const dir = resolvePretrained(nameOrPath, { revision: options.revision });
  const opts = readAdapterConfig(dir);
  const set = adapterSets.get(model);
  if (!set) {
    applyLoRA(model, { ...opts, adapterName: options.adapterName });
  } else if (options.adapterName !== undefined && options.adapterName !== set.active) {
    if (set.all.has(options.adapterName)) throw new Error(`loadAdapter: the model has an adapter '${options.adapterName}' already (setAdapter to it and load without adapterName, or deleteAdapter first)`);
    addAdapter(model, options.adapterName, opts);
    const active = set.active;
    setAdapter(model, options.adapterName);
    try {
      copyAdapterWeights(model, dir, opts);
    } catch (e) {
      setAdapter(model, active);
      deleteAdapter(model, options.adapterName);
      throw e;
    }
    setAdapter(model, active);
    return;
  }
  copyAdapterWeights(model, dir, opts);
}

/** An adapter folder's tensors into the model's active adapter, which must be made as the folder's config says. */
function copyAdapterWeights(model: Module, dir: string, opts: ResolvedLoRAOptions): void {
  const mine = configs.get(model)!;
  if (mine.mode !== 'peft') throw new Error('loadAdapter: the model has seed-mode LoRA; load adapters into a model without LoRA or with peft mode');
  if (mine.r !== opts.r) throw new Error(`loadAdapter: the model has LoRA rank ${mine.r}, the adapter ${opts.r}`);
  if (mine.useDora !== opts.useDora) throw new Error(`loadAdapter: the model's LoRA ${mine.useDora ? 'uses' : 'does not use'} DoRA, the adapter ${opts.useDora ? 'does' : 'does not'}`);
  // The weights alone do not carry alpha: a model whose LoRA scales otherwise would compute something else.
  for (const [name, layer] of loraModules(model)) {
    if (layer instanceof LoRALayer && !layer.hasActive) continue;
    const o = layerOptions(name, opts);
    const scaling = o.useRslora ? o.alpha / Math.sqrt(o.r) : o.alpha / o.r;
    if (Math.abs(layer.scaling - scaling) > 1e-12 * scaling) {
      throw new Error(`loadAdapter: the model's LoRA at ${name} scales by ${layer.scaling}, the adapter's by ${scaling} (another lora_alpha, alpha_pattern or use_rslora): load it into a model without LoRA`);
    }
  }
  // adapter_model.safetensors, or the adapter_model.bin older PEFT versions wrote
  const { tensors, file } = loadWeights(dir, 'adapter');
  try {
    const own = new Map(model.namedParameters().map(([n, p]) => [n, p] as [string, Tensor]));
    const expected = tidy(() => [...adapterStateDict(model).keys()]);
    const absent = expected.filter((k) => !tensors.has(k) && !tensors.has(k.replace('.weight', '.default.weight')));
    // (earlier tstorch versions left a module to save's bias out of the file: the base's stays, with a word)
    const oldBias = (k: string) => k.endsWith('.bias') && inModuleToSave(k.slice(PREFIX.length), opts);
    const missing = absent.filter((k) => !oldBias(k));
    if (missing.length) throw new Error(`adapter: ${file} lacks ${missing.length} tensors, e.g. ${missing.slice(0, 3).join(', ')}`);
    if (absent.length) console.warn(`adapter: ${file} has no ${absent.join(', ')} (an adapter saved without its modules' biases): the base's are kept`);
    noGrad(() => {
      for (const [key, t] of tensors) {
        const name = key.startsWith(PREFIX) ? key.slice(PREFIX.length) : key;
        const target = own.get(name.replace('.default.weight', '.weight')) ?? own.get(name.replace(/\.bias$/, '.base_layer.bias'));
        if (!target) throw new Error(`adapter: ${file}: '${key}' matches no parameter of the model`);
        if (target.shape.join() !== t.shape.join()) throw new Error(`adapter: ${file}: '${key}' is [${t.shape}], the model expects [${target.shape}]`);
        target.copy_(t);
      }
    });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}
