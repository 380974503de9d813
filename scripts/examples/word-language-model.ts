// PyTorch's examples/word_language_model (model.py and main.py's training loop, BSD-3-Clause)
// ported as written with tstorch: an LSTM / GRU / RNN or Transformer word-level language model,
// batchify, truncated backprop through time (repackage_hidden), gradient clipping, plain SGD
// written out (p.data.add_(p.grad, alpha=-lr)), lr annealing on the validation loss.
// test/word_language_model.test.ts runs it beside the Python original.
//   node dist/scripts/examples/word-language-model.js [--model LSTM|GRU|RNN_TANH|RNN_RELU|Transformer] [--epochs 3]
import * as torch from '../../lib';

const nn = torch.nn;
const F = nn.functional;

export type ModelType = 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU' | 'Transformer';
type Hidden = torch.Tensor | [torch.Tensor, torch.Tensor];

/** Container module with an encoder, a recurrent module, and a decoder. */
export class RNNModel extends nn.Module {
  declare drop: torch.nn.Dropout;
  declare encoder: torch.nn.Embedding;
  declare rnn: torch.nn.LSTM | torch.nn.GRU | torch.nn.RNN;
  declare decoder: torch.nn.Linear;
  readonly ntoken: number;
  readonly rnnType: ModelType;
  readonly nhid: number;
  readonly nlayers: number;
  constructor(rnnType: ModelType, ntoken: number, ninp: number, nhid: number, nlayers: number, dropout = 0.5, tieWeights = false) {
    super();
    this.ntoken = ntoken;
    this.drop = new nn.Dropout(dropout);
    this.encoder = new nn.Embedding(ntoken, ninp);
    if (rnnType === 'LSTM') this.rnn = new nn.LSTM(ninp, nhid, nlayers, { dropout });
    else if (rnnType === 'GRU') this.rnn = new nn.GRU(ninp, nhid, nlayers, { dropout });
    else {
      const nonlinearity = ({ RNN_TANH: 'tanh', RNN_RELU: 'relu' } as const)[rnnType as 'RNN_TANH' | 'RNN_RELU'];
      if (!nonlinearity) throw new Error("An invalid option for `--model` was supplied, options are ['LSTM', 'GRU', 'RNN_TANH' or 'RNN_RELU']");
      this.rnn = new nn.RNN(ninp, nhid, nlayers, { nonlinearity, dropout });
    }
    this.decoder = new nn.Linear(nhid, ntoken);

    // Optionally tie weights as in:
    // "Using the Output Embedding to Improve Language Models" (Press & Wolf 2016)
    // https://arxiv.org/abs/1608.05859
    // and
    // "Tying Word Vectors and Word Classifiers: A Loss Framework for Language Modeling" (Inan et al. 2016)
    // https://arxiv.org/abs/1611.01462
    if (tieWeights) {
      if (nhid !== ninp) throw new Error('When using the tied flag, nhid must be equal to emsize');
      this.decoder.weight.dispose(); // (the decoder's own weight, replaced next: freed now, as Python's GC would)
      this.decoder.weight = this.encoder.weight;
    }
    this.initWeights();
    this.rnnType = rnnType;
    this.nhid = nhid;
    this.nlayers = nlayers;
  }
  initWeights(): void {
    const initrange = 0.1;
    nn.init.uniform_(this.encoder.weight, -initrange, initrange);
    nn.init.zeros_(this.decoder.bias!);
    nn.init.uniform_(this.decoder.weight, -initrange, initrange);
  }
  forward(input: torch.Tensor, hidden: Hidden): [torch.Tensor, Hidden] {
    const emb = this.drop(this.encoder(input));
    let [output, next] = (this.rnn.forward as (x: torch.Tensor, h: Hidden) => [torch.Tensor, Hidden])(emb, hidden);
    output = this.drop(output);
    let decoded = this.decoder(output);
    decoded = decoded.view(-1, this.ntoken);
    return [F.logSoftmax(decoded, { dim: 1 }), next];
  }
  initHidden(bsz: number): Hidden {
    const weight = this.parameters()[0];
    if (this.rnnType === 'LSTM') return [weight.newZeros(this.nlayers, bsz, this.nhid), weight.newZeros(this.nlayers, bsz, this.nhid)];
    return weight.newZeros(this.nlayers, bsz, this.nhid);
  }
}

/**
 * Inject some information about the relative or absolute position of the tokens in the
 * sequence: sines and cosines of different frequencies, added to the embeddings.
 */
class PositionalEncoding extends nn.Module {
  declare dropout: torch.nn.Dropout;
  declare pe: torch.Tensor;
  constructor(dModel: number, dropout = 0.1, maxLen = 5000) {
    super();
    this.dropout = new nn.Dropout({ p: dropout });
    torch.tidy(() => {
      let pe = torch.zeros(maxLen, dModel);
      const position = torch.arange(0, maxLen, { dtype: 'float32' }).unsqueeze(1);
      const divTerm = torch.exp(torch.arange(0, dModel, 2).float().mul(-Math.log(10000.0) / dModel));
      pe.indexPut_([':', '0::2'], torch.sin(position.mul(divTerm)));
      pe.indexPut_([':', '1::2'], torch.cos(position.mul(divTerm)));
      pe = pe.unsqueeze(0).transpose(0, 1);
      this.registerBuffer('pe', pe);
    });
  }
  forward(x: torch.Tensor): torch.Tensor {
    x = x.add(this.pe.index(`:${x.size(0)}`, ':'));
    return this.dropout(x);
  }
}

/** Container module with an encoder, a recurrent or transformer module, and a decoder. */
export class TransformerModel extends nn.Transformer {
  declare pos_encoder: PositionalEncoding;
  declare input_emb: torch.nn.Embedding;
  readonly modelType = 'Transformer';
  srcMask: torch.Tensor | null = null;
  readonly ninp: number;
  constructor(ntoken: number, ninp: number, nhead: number, nhid: number, nlayers: number, dropout = 0.5) {
    super({ dModel: ninp, nhead, dimFeedforward: nhid, numEncoderLayers: nlayers });
    this.pos_encoder = new PositionalEncoding(ninp, dropout);
    this.input_emb = new nn.Embedding(ntoken, ninp);
    this.ninp = ninp;
    // (nn.Transformer has a decoder of its own: the output layer is registered as 'decoder'
    // over it, as model.py's self.decoder = nn.Linear(...) replaces it; the old one is freed
    // now, as Python's GC would)
    const transformerDecoder = this.decoder;
    this.replaceModule('decoder', new nn.Linear(ninp, ntoken));
    transformerDecoder.dispose();
    this.initWeights();
  }
  get outputLayer(): torch.nn.Linear {
    return this.decoder as unknown as torch.nn.Linear;
  }
  private generateSquareSubsequentMask(sz: number): torch.Tensor {
    return torch.tidy(() => torch.log(torch.tril(torch.ones(sz, sz))));
  }
  initWeights(): void {
    const initrange = 0.1;
    nn.init.uniform_(this.input_emb.weight, -initrange, initrange);
    nn.init.zeros_(this.outputLayer.bias!);
    nn.init.uniform_(this.outputLayer.weight, -initrange, initrange);
  }
  // (nn.Transformer's forward takes (src, tgt, ...masks); this model's, (src, has_mask): the second
  // is typed loosely, and the rest taken and unused, for TS to accept the override)
  override forward(src: torch.Tensor, hasMask: unknown = true, ..._unused: unknown[]): torch.Tensor {
    if (hasMask) {
      const device = src.device;
      if (this.srcMask === null || this.srcMask.size(0) !== src.size(0)) {
        this.srcMask?.dispose();
        this.srcMask = torch.keep(this.generateSquareSubsequentMask(src.size(0)).to(device));
      }
    } else {
      this.srcMask?.dispose();
      this.srcMask = null;
    }
    return torch.tidy(() => {
      let x = this.input_emb(src).mul(Math.sqrt(this.ninp));
      x = this.pos_encoder(x);
      let output = this.encoder(x, { mask: this.srcMask });
      output = this.outputLayer(output);
      return F.logSoftmax(output, { dim: -1 });
    });
  }
}

/** Starting from sequential data, batchify arranges the dataset into columns: (nbatch, bsz). */
export function batchify(data: torch.Tensor, bsz: number): torch.Tensor {
  return torch.tidy(() => {
    // Work out how cleanly we can divide the dataset into bsz parts.
    const nbatch = Math.floor(data.size(0) / bsz);
    // Trim off any extra elements that wouldn't cleanly fit (remainders).
    data = data.narrow(0, 0, nbatch * bsz);
    // Evenly divide the data across the bsz batches.
    return data.view(bsz, -1).t().contiguous();
  });
}

/** Wraps hidden states in new Tensors, to detach them from their history (the old ones freed). */
function repackageHidden(h: Hidden): Hidden {
  if (h instanceof torch.Tensor) {
    const d = torch.keep(h.detach());
    h.dispose();
    return d;
  }
  return h.map((v) => repackageHidden(v)) as [torch.Tensor, torch.Tensor];
}

/** get_batch subdivides the source data into chunks of length bptt: the inputs, and the targets (the next words, flattened). */
function getBatch(source: torch.Tensor, i: number, bptt: number): [torch.Tensor, torch.Tensor] {
  const seqLen = Math.min(bptt, source.size(0) - 1 - i);
  const data = source.index(`${i}:${i + seqLen}`);
  const target = source.index(`${i + 1}:${i + 1 + seqLen}`).view(-1);
  return [data, target];
}

export interface RunOptions {
  model: ModelType;
  /** word ids of the train, valid and test texts (each sentence ending in <eos>) */
  train: number[];
  valid: number[];
  ntokens: number;
  emsize?: number;
  nhid?: number;
  nlayers?: number;
  nhead?: number;
  lr?: number;
  clip?: number;
  epochs?: number;
  batchSize?: number;
  bptt?: number;
  dropout?: number;
  tied?: boolean;
  seed?: number;
  log?: (line: string) => void;
}

/** main.py's model, from its options (the defaults are main.py's). */
export function buildModel(o: RunOptions): RNNModel | TransformerModel {
  return o.model === 'Transformer'
    ? new TransformerModel(o.ntokens, o.emsize ?? 200, o.nhead ?? 2, o.nhid ?? 200, o.nlayers ?? 2, o.dropout ?? 0.2)
    : new RNNModel(o.model, o.ntokens, o.emsize ?? 200, o.nhid ?? 200, o.nlayers ?? 2, o.dropout ?? 0.2, o.tied ?? false);
}

/** main.py: build the model, then per epoch train() and evaluate(val_data), dividing the lr by 4 when the validation loss stops improving. */
export function run(o: RunOptions): { model: RNNModel | TransformerModel; trainLosses: number[]; valLosses: number[] } {
  const { ntokens } = o;
  const bptt = o.bptt ?? 35, clip = o.clip ?? 0.25, batchSize = o.batchSize ?? 20, evalBatchSize = 10;
  // Set the random seed manually for reproducibility.
  torch.manualSeed(o.seed ?? 1111);
  const trainData = torch.tidy(() => batchify(torch.tensor(o.train), batchSize));
  const valData = torch.tidy(() => batchify(torch.tensor(o.valid), evalBatchSize));

  const model = buildModel(o);
  const criterion = new nn.NLLLoss();
  const forward = (data: torch.Tensor, hidden: Hidden | null): [torch.Tensor, Hidden | null] => {
    if (model instanceof TransformerModel) return [model(data).view(-1, ntokens), null];
    return model(data, hidden!);
  };
  const keepHidden = (h: Hidden | null) => { if (h) [h].flat().forEach((t) => torch.keep(t)); return h; };
  const freeHidden = (h: Hidden | null) => { if (h) [h].flat().forEach((t) => t.dispose()); };

  const evaluate = (dataSource: torch.Tensor): number => {
    // Turn on evaluation mode which disables dropout.
    model.eval();
    let totalLoss = 0;
    let hidden = model instanceof RNNModel ? keepHidden(model.initHidden(evalBatchSize)) : null;
    torch.noGrad(() => {
      for (let i = 0; i < dataSource.size(0) - 1; i += bptt) {
        torch.tidy(() => {
          const [data, targets] = getBatch(dataSource, i, bptt);
          const [output, next] = forward(data, hidden);
          if (next) {
            freeHidden(hidden);
            hidden = keepHidden(next);
          }
          totalLoss += data.size(0) * criterion(output, targets).item();
        });
      }
    });
    freeHidden(hidden);
    return totalLoss / (dataSource.size(0) - 1);
  };

  let lr = o.lr ?? 20;
  const trainLosses: number[] = [], valLosses: number[] = [];
  const trainEpoch = () => {
    // Turn on training mode which enables dropout.
    model.train();
    let hidden = model instanceof RNNModel ? keepHidden(model.initHidden(batchSize)) : null;
    for (let i = 0; i < trainData.size(0) - 1; i += bptt) {
      torch.tidy(() => {
        const [data, targets] = getBatch(trainData, i, bptt);
        // Starting each batch, we detach the hidden state from how it was previously produced.
        // If we didn't, the model would try backpropagating all the way to start of the dataset.
        model.zeroGrad();
        if (hidden) hidden = repackageHidden(hidden);
        const [output, next] = forward(data, hidden);
        if (next) {
          freeHidden(hidden); // (the detached state this batch started from)
          hidden = keepHidden(next);
        }
        const loss = criterion(output, targets);
        loss.backward();
        // `clip_grad_norm` helps prevent the exploding gradient problem in RNNs / LSTMs.
        nn.utils.clipGradNorm_(model.parameters(), clip);
        for (const p of model.parameters()) p.data.add_(p.grad!, { alpha: -lr });
        trainLosses.push(loss.item());
      });
    }
    freeHidden(hidden);
  };

  // At any point you can hit Ctrl + C to break out of training early.
  let bestValLoss: number | null = null;
  for (let epoch = 1; epoch <= (o.epochs ?? 40); epoch++) {
    trainEpoch();
    const valLoss = evaluate(valData);
    valLosses.push(valLoss);
    o.log?.(`| end of epoch ${epoch} | valid loss ${valLoss.toFixed(2)} | valid ppl ${Math.exp(valLoss).toFixed(2)} | lr ${lr}`);
    // Save the model if the validation loss is the best we've seen so far.
    if (bestValLoss === null || valLoss < bestValLoss) bestValLoss = valLoss;
    // Anneal the learning rate if no improvement has been seen in the validation dataset.
    else lr /= 4.0;
  }
  trainData.dispose();
  valData.dispose();
  if (model instanceof TransformerModel) model.srcMask?.dispose();
  return { model, trainLosses, valLosses };
}

/** A word-level corpus of texts, as main.py's data.Corpus: words split on spaces, <eos> after each line, ids in order of first use. */
export function corpus(texts: string[]): { words: string[]; ids: number[][] } {
  const index = new Map<string, number>();
  const ids = texts.map((text) => text.split('\n').flatMap((line) => [...line.split(' ').filter((w) => w), '<eos>']).map((w) => {
    if (!index.has(w)) index.set(w, index.size);
    return index.get(w)!;
  }));
  return { words: [...index.keys()], ids };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const flag = (name: string, dflt: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : dflt;
  };
  const docs = torch.data.brownDocuments(['a']).map((d) => d.text);
  const n = Math.floor(docs.length * 0.9);
  const { words, ids } = corpus([docs.slice(0, n).join('\n'), docs.slice(n).join('\n')]);
  const { model } = run({ model: flag('model', 'LSTM') as ModelType, train: ids[0], valid: ids[1], ntokens: words.length, epochs: Number(flag('epochs', '3')), log: console.log });
  console.log(`${model.parameters().reduce((s, p) => s + p.numel(), 0)} parameters; vocabulary ${words.length} words`);
}
