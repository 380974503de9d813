// torch.jit.load: TorchScript modules (Python's torch.jit.script / trace, saved with
// torch.jit.save) run from TypeScript as they are. A ScriptModule is a Module: its parameters
// are the scripted module's own tensors (shared, not copied), so parameters(), stateDict(),
// train()/eval(), autograd and our optimizers work on it; forward runs the TorchScript code.
import * as fs from 'fs';
import { native } from '../tensor/native';
import { Tensor, ToArgs, _wrap as wrap, _id as id } from '../tensor/tensor';
import { deviceCode, Device } from '../tensor/dtype';
import { Module } from './module';

/** What a TorchScript method takes: tensors, numbers, booleans, strings, null, and arrays of them (tuples). */
export type ScriptValue = Tensor | number | boolean | string | null | ScriptValue[];
/** What it returns: the same, and string-keyed objects for dicts. */
export type ScriptResult = Tensor | number | boolean | string | null | ScriptResult[] | { [key: string]: ScriptResult };

// Tensors cross as { t: handle } both ways, which tells them apart from numbers.
const encode = (v: ScriptValue): unknown => (v instanceof Tensor ? { t: id(v) } : Array.isArray(v) ? v.map(encode) : v);

export class ScriptModule extends Module {
  private handle: number;
  /** @internal Module.deepCopy's refusal: the scripted module lives in libtorch, one per load */
  get deepCopyRefused(): string {
    return 'a ScriptModule cannot be deep-copied: load it again with torch.jit.load';
  }
  /** the TorchScript methods this module has (forward among them) */
  readonly methods: string[];

  /** @internal use torch.jit.load */
  constructor(handle: number) {
    super();
    this.handle = handle;
    this.methods = native.jitMethods(handle) as string[];
    // Register the module's own tensors under their dotted names (as flat names: TorchScript
    // owns the hierarchy), so that parameters(), stateDict() and optimizers see them.
    for (const buffers of [false, true]) {
      const [names, handles] = native.jitNamed(handle, buffers) as [string[], number[]];
      names.forEach((n, k) => {
        const t = wrap(handles[k]);
        if (buffers) this.registerBuffer(n, t);
        else this.registerParameter(n, t, t.requiresGrad);
      });
    }
  }

  /** Runs forward(...args); tensors in the result are new handles the caller owns (tidy frees them). */
  forward(...args: ScriptValue[]): ScriptResult {
    return this.runMethod('forward', ...args);
  }
  /** Runs another method of the scripted module by name. */
  runMethod(name: string, ...args: ScriptValue[]): ScriptResult {
    if (this.handle < 0) throw new Error('ScriptModule: this module was disposed');
    return wrapResult(native.jitRun(this.handle, name, args.map(encode)));
  }
  /** A TorchScript module stays where it was loaded: load it where it should run instead. */
  override to(...args: ToArgs): this {
    throw new Error(`ScriptModule.to(${args.map((a) => JSON.stringify(a)).join(', ')}): a TorchScript module cannot be moved or cast from here; load it where it should run: torch.jit.load(file, { device })`);
  }
  override train(mode = true): this {
    super.train(mode);
    if (this.handle >= 0) native.jitTrain(this.handle, mode);
    return this;
  }
  /**
   * torch.jit.save: the module as it is now (weights trained here included) to a TorchScript file
   * Python's torch.jit.load reads; written whole or not at all.
   */
  save(file: string): void {
    if (this.handle < 0) throw new Error('ScriptModule: this module was disposed');
    const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
    try {
      native.jitSave(this.handle, tmp);
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw new Error(`torch.jit.save: could not write ${file}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  override dispose(): void {
    super.dispose();
    if (this.handle >= 0) native.jitDispose(this.handle);
    this.handle = -1;
  }
}

function wrapResult(v: unknown): ScriptResult {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && 't' in (v as object) && Object.keys(v as object).length === 1 && typeof (v as { t: unknown }).t === 'number') {
    return wrap((v as { t: number }).t);
  }
  if (Array.isArray(v)) return v.map(wrapResult);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, wrapResult(x)]));
  return v as ScriptResult;
}

/** torch.jit.save(module, file): ScriptModule.save. */
export function save(module: ScriptModule, file: string): void {
  if (!(module instanceof ScriptModule)) throw new Error('torch.jit.save: only a ScriptModule (from torch.jit.load) can be saved as TorchScript; save other modules\' weights with torch.save(model.stateDict(), file)');
  module.save(file);
}

/** torch.jit.load(file, { device }): a TorchScript module (.pt saved by torch.jit.save). */
export function load(file: string, opts: { device?: Device } = {}): ScriptModule {
  if (!fs.existsSync(file)) throw new Error(`torch.jit.load: no file ${file}`);
  const device = deviceCode(opts.device ?? 'cpu');
  if (device >= 0 && !native.cudaIsAvailable()) throw new Error(`torch.jit.load: device '${opts.device}' is not available (this build or machine has no CUDA); load it on 'cpu'`);
  let handle: number;
  try {
    handle = native.jitLoad(file, device);
  } catch (e) {
    throw new Error(`torch.jit.load: ${file} is not a TorchScript module libtorch can read (save it with torch.jit.save): ${(e as Error).message.split('\n')[0]}`);
  }
  return new ScriptModule(handle);
}
