// Containers and shape-only layers: nn.Sequential, ModuleDict, ParameterList, ParameterDict, Identity, Flatten.
import { native } from '../tensor/native';
import { Tensor, _wrap as wrap, _id as id } from '../tensor/tensor';
import { Module, ModuleList, describeNonModule } from './module';
import { optionsOf, PositionalOr, isOptionsObject } from '../tensor/options';
import { requiredByName } from './args';

/** A new handle to the same tensor (same autograd identity): a result the caller may dispose. */
export const sameTensor = (x: Tensor): Tensor => wrap(native.alias(id(x)));

/** A layer mapping one tensor to one tensor. */
export type TensorModule = { (x: Tensor): Tensor; forward(x: Tensor): Tensor } & Module;

/**
 * Layers applied in order, named '0', '1', ... as PyTorch's nn.Sequential (so state dicts match),
 * or by the names of a Map / object given alone (PyTorch's Sequential(OrderedDict([('fc', ...)]))):
 * then `seq.fc`, `seq.get('fc')` and state-dict names 'fc.weight'. Intermediate results are
 * disposed as it goes (autograd keeps what backward needs).
 */
export class Sequential extends ModuleList<TensorModule> {
  constructor(...layers: TensorModule[]);
  constructor(named: Map<string, TensorModule> | Record<string, TensorModule>);
  constructor(...layers: unknown[]) {
    const named = layers.length === 1 && !(layers[0] instanceof Module) && (layers[0] instanceof Map || isOptionsObject(layers[0]))
      ? [...(layers[0] instanceof Map ? layers[0] : Object.entries(layers[0] as object))] as [unknown, unknown][]
      : null;
    super(named ? [] : layers as TensorModule[]);
    for (const [name, m] of named ?? []) {
      if (typeof name !== 'string') throw new Error(`nn.Sequential: the names of its layers must be strings, got ${typeof name}`);
      checkName('nn.Sequential', this, [], name);
      if (!(m instanceof Module)) throw new Error(`nn.Sequential: '${name}' is ${describeNonModule(m)}, not a module`);
      this.registerModule(name, m);
    }
  }
  /** The i-th layer (negative i counts from the end), or the layer by its name (seq.get('fc')). */
  override get(i: number | string): TensorModule {
    if (typeof i === 'number') return super.get(i);
    const children = [...this.namedChildren()];
    const m = children.find(([n]) => n === i)?.[1];
    if (!m) throw new Error(`nn.Sequential has no layer '${i}' (it has ${children.map(([n]) => `'${n}'`).join(', ') || 'none'})`);
    return m as TensorModule;
  }
  /**
   * Python's seq[start:end] (vgg.features[:23]): a Sequential of those layers, the same modules
   * under the same names ('4', '5', ... or a named Sequential's), so state-dict keys stay as they were.
   */
  override slice(start?: number, end?: number): Sequential {
    return new Sequential(new Map(this.namedItems().slice(start, end)));
  }
  override forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this.items) {
      const next = m.forward(h);
      if (h !== x && next !== h) h.dispose();
      h = next;
    }
    return h === x ? sameTensor(x) : h;
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return sameTensor(x);
  }
}

/** Flattens dims startDim..endDim (1..-1: everything but the batch), as nn.Flatten. */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  /** nn.Flatten(startDim=1, endDim=-1), or an options object */
  constructor(...args: PositionalOr<[startDim?: number, endDim?: number], { startDim?: number; endDim?: number }>) {
    super();
    ({ startDim: this.startDim = 1, endDim: this.endDim = -1 } = optionsOf<{ startDim?: number; endDim?: number }>('nn.Flatten', args, ['startDim', 'endDim']));
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
  protected override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

// As PyTorch's add_module / register_parameter: no dots, and no name the object already has.
function checkName(what: string, self: object, names: string[], name: string): void {
  if (name.includes('.') || name === '') throw new Error(`${what}: a name must be non-empty and without '.', got '${name}'`);
  if (!names.includes(name) && name in self) throw new Error(`${what}: attribute '${name}' already exists; choose another name`);
}

/**
 * Modules by name, in insertion order (nn.ModuleDict); names appear in state dicts as 'name.param'.
 * Each is a property too, as in PyTorch (dict.wte); see the ModuleDict constructor's types.
 */
class ModuleDictBase<M extends Module = Module> extends Module {
  private readonly names: string[] = [];
  constructor(modules: Record<string, M> | [string, M][] = {}) {
    super();
    for (const [k, m] of Array.isArray(modules) ? modules : Object.entries(modules)) this.set(k, m);
  }
  set(name: string, m: M): this {
    checkName('ModuleDict', this, this.names, name);
    if (this.names.includes(name)) this.replaceModule(name, m);
    else {
      this.names.push(name);
      this.registerModule(name, m);
    }
    return this;
  }
  get(name: string): M {
    if (!this.names.includes(name)) throw new Error(`ModuleDict has no module '${name}' (it has ${this.names.map((n) => `'${n}'`).join(', ') || 'none'})`);
    return (this as unknown as Record<string, M>)[name];
  }
  has(name: string): boolean {
    return this.names.includes(name);
  }
  /** Removes a module (del module_dict[name]). */
  delete(name: string): boolean {
    const i = this.names.indexOf(name);
    if (i < 0) return false;
    this.names.splice(i, 1);
    this.unregisterModule(name);
    return true;
  }
  keys(): string[] {
    return [...this.names];
  }
  values(): M[] {
    return this.names.map((n) => this.get(n));
  }
  entries(): [string, M][] {
    return this.names.map((n) => [n, this.get(n)]);
  }
  /** PyTorch's items(): entries() */
  items(): [string, M][] {
    return this.entries();
  }
  get size(): number {
    return this.names.length;
  }
  forward(..._args: unknown[]): unknown {
    throw new Error('ModuleDict has no forward(); call its modules');
  }
}
/**
 * new nn.ModuleDict({ wte: ..., h: ... }) is typed with its modules as properties (dict.wte is
 * an Embedding, as nanoGPT's self.transformer.wte); from entries, or with the module type given
 * (new nn.ModuleDict<nn.Linear>()), a dict of that type, read with get(name).
 */
export interface ModuleDictConstructor {
  new <T extends Record<string, Module>>(modules: T): ModuleDictBase<T[keyof T]> & T;
  new <M extends Module = Module>(modules?: Record<string, M> | [string, M][]): ModuleDictBase<M>;
  readonly prototype: ModuleDictBase;
}
export const ModuleDict = ModuleDictBase as unknown as ModuleDictConstructor;
export type ModuleDict<M extends Module = Module> = ModuleDictBase<M>;

/** Parameters in a list, named '0', '1', ... (nn.ParameterList); each kept and requiring grad. */
export class ParameterList extends Module {
  readonly items: Tensor[] = [];
  constructor(params: Tensor[] = []) {
    super();
    params.forEach((p) => this.append(p));
  }
  append(p: Tensor): this {
    this.registerParameter(String(this.items.length), p);
    this.items.push(p);
    return this;
  }
  get length(): number {
    return this.items.length;
  }
  get(i: number): Tensor {
    return this.items[i < 0 ? this.items.length + i : i];
  }
  [Symbol.iterator](): Iterator<Tensor> {
    return this.items[Symbol.iterator]();
  }
  forward(..._args: unknown[]): unknown {
    throw new Error('ParameterList has no forward(); use its parameters');
  }
}

/** Parameters by name (nn.ParameterDict). */
export class ParameterDict extends Module {
  private readonly names: string[] = [];
  constructor(params: Record<string, Tensor> = {}) {
    super();
    for (const [k, p] of Object.entries(params)) this.set(k, p);
  }
  set(name: string, p: Tensor): this {
    checkName('ParameterDict', this, this.names, name);
    if (!this.names.includes(name)) this.names.push(name);
    this.registerParameter(name, p);
    return this;
  }
  get(name: string): Tensor {
    if (!this.names.includes(name)) throw new Error(`ParameterDict has no parameter '${name}'`);
    return (this as unknown as Record<string, Tensor>)[name];
  }
  has(name: string): boolean {
    return this.names.includes(name);
  }
  keys(): string[] {
    return [...this.names];
  }
  values(): Tensor[] {
    return this.names.map((n) => this.get(n));
  }
  entries(): [string, Tensor][] {
    return this.names.map((n) => [n, this.get(n)]);
  }
  /** PyTorch's items(): entries() */
  items(): [string, Tensor][] {
    return this.entries();
  }
  get size(): number {
    return this.names.length;
  }
  forward(..._args: unknown[]): unknown {
    throw new Error('ParameterDict has no forward(); use its parameters');
  }
}

/** Dim dim split into unflattenedSize (nn.Unflatten), the inverse of Flatten. */
export class Unflatten extends Module {
  readonly dim: number;
  readonly unflattenedSize: number[];
  constructor(dim: number, unflattenedSize: number[]);
  /** every argument by name, as Python's keywords */
  constructor(opts: { dim: number; unflattenedSize: number[] } & Record<string, unknown>);
  constructor(...all: unknown[]) {
    const [[dim, unflattenedSize], _rest] = requiredByName('Unflatten', ['dim', 'unflattenedSize'], all) as [[number, number[]], unknown[]];
    if (_rest.length) throw new Error('nn.Unflatten: takes only dim, unflattenedSize');
    super();
    this.dim = dim;
    this.unflattenedSize = unflattenedSize;
  }
  forward(x: Tensor): Tensor {
    const s = x.shape, d = this.dim < 0 ? s.length + this.dim : this.dim;
    if (this.unflattenedSize.reduce((a, b) => a * b, 1) !== s[d] && !this.unflattenedSize.includes(-1)) {
      throw new Error(`Unflatten: dim ${this.dim} has size ${s[d]}, which [${this.unflattenedSize}] does not split`);
    }
    return x.reshape([...s.slice(0, d), ...this.unflattenedSize, ...s.slice(d + 1)]);
  }
  protected override extraRepr(): string {
    return `dim=${this.dim}, unflattenedSize=[${this.unflattenedSize}]`;
  }
}
