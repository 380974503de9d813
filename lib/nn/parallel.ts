// torch.nn.parallel.DistributedDataParallel: a module trained by several processes at once, each
// on its share of the data (torchrun + DDP). The wrapper starts every rank from rank 0's weights
// and, in each backward its forward prepared, averages the gradients across ranks in buckets
// whose all-reduce starts as soon as their gradients exist (c10d, lib/tensor/distributed.ts).
import { _queueBackwardCallback } from '../tensor/tensor';
import { isGradEnabled } from '../tensor/runtime';
import * as distributed from '../tensor/distributed';
import { Module } from './module';

export interface DistributedDataParallelOptions {
  /** gradient bucket size in MiB (default 25, as PyTorch) */
  bucketCapMb?: number;
  /** rank 0's buffers (BatchNorm's running statistics, ...) copied to every rank before each forward (default true) */
  broadcastBuffers?: boolean;
}

/** ddp(x) is the wrapped module's call, typed as it. */
export interface DistributedDataParallel<M extends Module = Module> {
  (...args: Parameters<M['forward']>): ReturnType<M['forward']>;
}
/**
 * Wraps a module for data-parallel training: call it as the module (forward), then backward as
 * usual; when backward() returns, each trainable parameter's .grad is the mean over ranks (the
 * gradient of the whole batch when every rank's loss is its batch's mean). The state dict is the
 * module's under `module.` (PyTorch's names). One DDP module (or Trainer) per process syncs gradients.
 */
export class DistributedDataParallel<M extends Module = Module> extends Module {
  declare module: M;
  readonly broadcastBuffers: boolean;
  private requireSync = true;

  constructor(module: M, opts: DistributedDataParallelOptions = {}) {
    super();
    if (!distributed.isInitialized()) throw new Error('DistributedDataParallel: no process group (call torch.distributed.initProcessGroup first)');
    const mb = opts.bucketCapMb ?? 25;
    if (!(mb > 0)) throw new Error(`DistributedDataParallel: bucketCapMb must be > 0, got ${mb}`);
    this.registerModule('module', module);
    this.broadcastBuffers = opts.broadcastBuffers ?? true;
    const params = module.parameters({ trainableOnly: true });
    if (!params.length) throw new Error('DistributedDataParallel: the module has no parameter that requires a gradient');
    // Every rank starts from rank 0's weights (frozen ones written only where they differ: a base mapped from its file stays shared).
    distributed.broadcast([...params, ...module.buffers()], 0);
    distributed.broadcastIfDifferent(module.parameters().filter((p) => !p.requiresGrad), 0);
    distributed.registerGradSync(params, Math.round(mb * 2 ** 20));
  }

  forward(...args: unknown[]): unknown {
    if (this.broadcastBuffers) {
      const buffers = this.module.buffers();
      if (buffers.length) distributed.broadcast(buffers, 0);
    }
    if (isGradEnabled() && this.requireSync) {
      distributed.prepareGradSync();
      _queueBackwardCallback(() => distributed.finishGradSync());
    }
    return this.module.forward(...args);
  }

  /**
   * DDP's no_sync(): forwards and backwards inside fn only accumulate into .grad on each rank
   * (gradient accumulation without communication); the next synced backward averages the whole
   * accumulated gradient.
   */
  noSync<T>(fn: () => T): T {
    const before = this.requireSync;
    this.requireSync = false;
    try {
      return fn();
    } finally {
      this.requireSync = before;
    }
  }
}
