// PyTorch's examples/language_translation (main.py, src/model.py, src/data.py; BSD-3-Clause)
// ported as written with tstorch: a Transformer encoder-decoder translator. Token embeddings and
// a sinusoidal PositionalEncoding buffer (with dropout) feed nn.Transformer, called with its masks
// by position as model.py calls it (a bool source mask, a float causal target mask, None for the
// memory mask, and the three padding masks); a Linear layer gives the target vocabulary's logits.
// data.py's insertion-order Vocabulary with <unk> <pad> <bos> <eos> first, sentences wrapped in
// <bos> ... <eos> and padded sequence-first by padSequence; the sentence pairs are a plain array
// given to the DataLoader, as data.py's list. Adam (betas 0.9 / 0.98, eps 1e-9), cross-entropy
// ignoring padding; the best and last weights saved each epoch; greedy decoding for inference.
// No corpus can be downloaded here (Multi30k), so the pairs are made up (syntheticPairs), and spaCy
// is absent, so the tokenizer is data.py's whitespace fallback. One change, needed to run it:
// Translator.encode / decode, which greedy_decode calls, are written as they are meant (model.py
// passes the masks to PositionalEncoding, which takes one argument, and calls the decoder without
// its memory). test/language_translation.test.ts runs it beside the Python original.
//   node dist/scripts/examples/language-translation.js [--epochs 20]
import * as path from 'path';
import * as torch from '../../lib';
import { PythonRandom } from '../../lib/data/python_random';

const nn = torch.nn;
type Tensor = torch.Tensor;

// ---- src/model.py ----
export class PositionalEncoding extends nn.Module {
  declare dropout: torch.nn.Dropout;
  declare pos_embedding: Tensor;
  constructor(embSize: number, dropout: number, maxlen = 5000) {
    super();
    const posEmbedding = torch.tidy(() => {
      const den = torch.exp(torch.arange(0, embSize, 2).neg().mul(Math.log(10000)).div(embSize));
      const pos = torch.arange(0, maxlen).reshape(maxlen, 1);
      const posEmbedding = torch.zeros([maxlen, embSize]);
      posEmbedding.indexPut_([':', '0::2'], torch.sin(pos.mul(den)));
      posEmbedding.indexPut_([':', '1::2'], torch.cos(pos.mul(den)));
      return posEmbedding.unsqueeze(-2);
    });

    this.dropout = new nn.Dropout(dropout);
    this.registerBuffer('pos_embedding', posEmbedding);
  }
  forward(tokenEmbedding: Tensor): Tensor {
    return torch.tidy(() => this.dropout(tokenEmbedding.add(this.pos_embedding.index(`:${tokenEmbedding.size(0)}`, ':'))));
  }
}

export interface TranslatorArgs { numEncoderLayers: number; numDecoderLayers: number; embedSize: number; numHeads: number; srcVocabSize: number; tgtVocabSize: number; dimFeedforward: number; dropout: number }

export class Translator extends nn.Module {
  declare src_embedding: torch.nn.Embedding;
  declare tgt_embedding: torch.nn.Embedding;
  declare pos_enc: PositionalEncoding;
  declare transformer: torch.nn.Transformer;
  declare ff: torch.nn.Linear;
  constructor(a: TranslatorArgs) {
    super();
    // Output of embedding must be equal (embed_size)
    this.src_embedding = new nn.Embedding(a.srcVocabSize, a.embedSize);
    this.tgt_embedding = new nn.Embedding(a.tgtVocabSize, a.embedSize);

    this.pos_enc = new PositionalEncoding(a.embedSize, a.dropout);

    this.transformer = new nn.Transformer({
      dModel: a.embedSize,
      nhead: a.numHeads,
      numEncoderLayers: a.numEncoderLayers,
      numDecoderLayers: a.numDecoderLayers,
      dimFeedforward: a.dimFeedforward,
      dropout: a.dropout,
    });

    this.ff = new nn.Linear(a.embedSize, a.tgtVocabSize);
  }

  forward(src: Tensor, trg: Tensor, srcMask: Tensor, tgtMask: Tensor, srcPaddingMask: Tensor, tgtPaddingMask: Tensor, memoryKeyPaddingMask: Tensor): Tensor {
    return torch.tidy(() => {
      const srcEmb = this.pos_enc(this.src_embedding(src));
      const tgtEmb = this.pos_enc(this.tgt_embedding(trg));

      const outs = this.transformer(
        srcEmb,
        tgtEmb,
        srcMask,
        tgtMask,
        null,
        srcPaddingMask,
        tgtPaddingMask,
        memoryKeyPaddingMask,
      );

      return this.ff(outs);
    });
  }

  encode(src: Tensor, srcMask: Tensor): Tensor {
    return torch.tidy(() => {
      const embed = this.src_embedding(src);
      // (model.py: self.pos_enc(embed, src_mask), then self.transformer.encoder(pos_enc))
      const posEnc = this.pos_enc(embed);
      return this.transformer.encoder(posEnc, srcMask);
    });
  }

  decode(tgt: Tensor, memory: Tensor, tgtMask: Tensor): Tensor {
    return torch.tidy(() => {
      const embed = this.tgt_embedding(tgt);
      // (model.py: self.pos_enc(embed, memory, tgt_mask), then self.transformer.decoder(pos_enc))
      const posEnc = this.pos_enc(embed);
      return this.transformer.decoder(posEnc, memory, tgtMask);
    });
  }
}

// ---- src/data.py ----
/** Simple vocabulary (data.py's replacement for torchtext's): special tokens first, then tokens in order of first appearance. */
export class Vocabulary {
  itos: string[];
  stoi: Map<string, number>;
  unkIndex: number;
  constructor(tokens: Iterable<string>, specialTokens: string[] = ['<unk>', '<pad>', '<bos>', '<eos>']) {
    this.itos = [...specialTokens];
    this.stoi = new Map(this.itos.map((token, idx) => [token, idx]));
    for (const token of tokens) {
      if (!this.stoi.has(token)) {
        this.stoi.set(token, this.itos.length);
        this.itos.push(token);
      }
    }
    this.unkIndex = this.stoi.get('<unk>') ?? 0;
  }
  get length(): number {
    return this.itos.length;
  }
  /** vocab(tokens): their ids (<unk>'s for unknown ones); vocab(token): one id */
  call(tokens: string): number;
  call(tokens: string[]): number[];
  call(tokens: string | string[]): number | number[] {
    if (typeof tokens === 'string') return this.stoi.get(tokens) ?? this.unkIndex;
    return tokens.map((token) => this.stoi.get(token) ?? this.unkIndex);
  }
  lookupTokens(indices: number[]): string[] {
    return indices.map((idx) => (idx < this.itos.length ? this.itos[idx] : '<unk>'));
  }
  setDefaultIndex(index: number): void {
    this.unkIndex = index;
  }
}

/** Build vocabulary from data (tokens counted, those seen minFreq times or more kept, in order of first appearance). */
export function buildVocabFromData(data: string[], tokenizer: (text: string) => string[], minFreq = 1, specialTokens?: string[]): Vocabulary {
  const counter = new Map<string, number>();
  for (const text of data) for (const token of tokenizer(text)) counter.set(token, (counter.get(token) ?? 0) + 1);
  const tokens = [...counter].filter(([, freq]) => freq >= minFreq).map(([token]) => token);
  return new Vocabulary(tokens, specialTokens);
}

export const specialSymbols = { '<unk>': 0, '<pad>': 1, '<bos>': 2, '<eos>': 3 } as const;
type Pair = [string, string];

export interface TranslationOpts {
  trainPairs: Pair[]; validPairs: Pair[]; epochs: number; lr: number; batch: number;
  attnHeads: number; encLayers: number; decLayers: number; embedSize: number; dimFeedforward: number; dropout: number;
  loggingDir: string; log?: (line: string) => void;
}

/** data.py's get_data over the pairs given: loaders, vocabularies and the text transforms. */
export function getData(opts: TranslationOpts) {
  const specialTokens = Object.keys(specialSymbols);
  // (data.py's fallback when spaCy's models are missing: whitespace)
  const srcTokenizer = (text: string) => text.split(/\s+/).filter(Boolean);
  const tgtTokenizer = srcTokenizer;

  const trainData = opts.trainPairs, validData = opts.validPairs;
  const srcVocab = buildVocabFromData(trainData.map((p) => p[0]), srcTokenizer, 1, specialTokens);
  const tgtVocab = buildVocabFromData(trainData.map((p) => p[1]), tgtTokenizer, 1, specialTokens);
  srcVocab.setDefaultIndex(specialSymbols['<unk>']);
  tgtVocab.setDefaultIndex(specialSymbols['<unk>']);

  const createTextTransform = (tokenizer: (text: string) => string[], vocab: Vocabulary) => (text: string): Tensor => torch.tidy(() => {
    const tokenIds = vocab.call(tokenizer(text));
    return torch.cat([
      torch.tensor([specialSymbols['<bos>']], { dtype: 'int64' }),
      torch.tensor(tokenIds, { dtype: 'int64' }),
      torch.tensor([specialSymbols['<eos>']], { dtype: 'int64' }),
    ]);
  });
  const srcLangTransform = createTextTransform(srcTokenizer, srcVocab);
  const tgtLangTransform = createTextTransform(tgtTokenizer, tgtVocab);

  const collateFn = (batch: Pair[]): [Tensor, Tensor] => {
    const srcBatch: Tensor[] = [], tgtBatch: Tensor[] = [];
    for (const [srcSample, tgtSample] of batch) {
      srcBatch.push(srcLangTransform(srcSample.replace(/\n+$/, '')));
      tgtBatch.push(tgtLangTransform(tgtSample.replace(/\n+$/, '')));
    }
    return [nn.utils.rnn.padSequence(srcBatch, { paddingValue: specialSymbols['<pad>'] }), nn.utils.rnn.padSequence(tgtBatch, { paddingValue: specialSymbols['<pad>'] })];
  };

  const trainDataloader = new torch.data.DataLoader(trainData, { batchSize: opts.batch, shuffle: true, collateFn });
  const validDataloader = new torch.data.DataLoader(validData, { batchSize: opts.batch, shuffle: false, collateFn });
  return { trainDataloader, validDataloader, srcVocab, tgtVocab, srcLangTransform, tgtLangTransform };
}

export function generateSquareSubsequentMask(size: number): Tensor {
  return torch.tidy(() => {
    const mask = torch.triu(torch.ones([size, size])).eq(1).transpose(0, 1);
    return mask.float().maskedFill(mask.eq(0), -Infinity).maskedFill(mask.eq(1), 0.0);
  });
}

/** Create masks for input into model: [srcMask, tgtMask, srcPaddingMask, tgtPaddingMask]. */
export function createMask(src: Tensor, tgt: Tensor, padIdx: number): [Tensor, Tensor, Tensor, Tensor] {
  return torch.tidy(() => {
    const srcSeqLen = src.shape[0], tgtSeqLen = tgt.shape[0];
    const tgtMask = generateSquareSubsequentMask(tgtSeqLen);
    const srcMask = torch.zeros([srcSeqLen, srcSeqLen]).type('bool');
    // Overlay the mask over the original input
    const srcPaddingMask = src.eq(padIdx).transpose(0, 1);
    const tgtPaddingMask = tgt.eq(padIdx).transpose(0, 1);
    return [srcMask, tgtMask, srcPaddingMask, tgtPaddingMask];
  });
}

// ---- main.py ----
/** Generate output sequence using the greedy algorithm. */
export function greedyDecode(model: Translator, src: Tensor, srcMask: Tensor, maxLen: number, startSymbol: number, endSymbol: number): Tensor {
  return torch.tidy(() => {
    // Encode input
    const memory = model.encode(src, srcMask);
    let ys = torch.ones([1, 1]).fill_(startSymbol).type('int64');
    for (let i = 0; i < maxLen - 1; i++) {
      const tgtMask = generateSquareSubsequentMask(ys.size(0)).type('bool');
      let out = model.decode(ys, memory, tgtMask);
      out = out.transpose(0, 1);
      // Convert to probabilities and take the max of these probabilities
      const prob = model.ff(out.index(':', -1));
      const [, nextWordT] = torch.max(prob, 1);
      const nextWord = nextWordT.item();
      ys = torch.cat([ys, torch.ones([1, 1]).typeAs(src.data).fill_(nextWord)], 0);
      if (nextWord === endSymbol) break;
    }
    return ys;
  });
}

/** inference()'s loop body for one sentence: tokens, greedy decoding, words. */
export function translate(model: Translator, sentence: string, srcTransform: (text: string) => Tensor, tgtVocab: Vocabulary): string {
  return torch.tidy(() => {
    const src = srcTransform(sentence).view(-1, 1);
    const numTokens = src.shape[0];
    const srcMask = torch.zeros([numTokens, numTokens]).type('bool');
    const tgtTokens = greedyDecode(model, src, srcMask, numTokens + 5, specialSymbols['<bos>'], specialSymbols['<eos>']).flatten();
    const outputAsList = (tgtTokens.tolist() as number[]);
    const outputListWords = tgtVocab.lookupTokens(outputAsList);
    return outputListWords.join(' ').replaceAll('<bos>', '').replaceAll('<eos>', '');
  });
}

type PairLoader = torch.data.DataLoader<[Tensor, Tensor], Pair[]>;

/** Python's len(list(loader)): a whole pass over it (shuffling again, as PyTorch's does), its batches freed. */
function passLength(loader: PairLoader): number {
  let n = 0;
  for (const [src, tgt] of loader) {
    src.dispose();
    tgt.dispose();
    n++;
  }
  return n;
}

/** Train the model for 1 epoch: the mean loss (and each batch's, into batches). */
export function train(model: Translator, trainDl: PairLoader, lossFn: torch.nn.CrossEntropyLoss, optim: torch.optim.Adam, batches: number[], onBatch?: (src: Tensor, tgt: Tensor) => void): number {
  let losses = 0;
  model.train();
  for (const [src, tgt] of trainDl) {
    onBatch?.(src, tgt);
    const loss = torch.tidy(() => {
      // We need to reshape the input slightly to fit into the transformer
      const tgtInput = tgt.index(':-1', ':');
      const [srcMask, tgtMask, srcPaddingMask, tgtPaddingMask] = createMask(src, tgtInput, specialSymbols['<pad>']);
      const logits = model(src, tgtInput, srcMask, tgtMask, srcPaddingMask, tgtPaddingMask, srcPaddingMask);
      optim.zeroGrad();
      const tgtOut = tgt.index('1:', ':');
      const loss = lossFn(logits.reshape(-1, logits.shape[logits.ndim - 1]), tgtOut.reshape(-1));
      loss.backward();
      optim.step();
      return loss.item();
    });
    src.dispose();
    tgt.dispose();
    losses += loss;
    batches.push(loss);
  }
  // (main.py divides by len(list(train_dl)): another pass, which draws a new shuffle)
  return losses / passLength(trainDl);
}

/** The mean loss over the validation set. */
export function validate(model: Translator, validDl: PairLoader, lossFn: torch.nn.CrossEntropyLoss): number {
  let losses = 0;
  model.eval();
  for (const [src, tgt] of validDl) {
    losses += torch.tidy(() => {
      const tgtInput = tgt.index(':-1', ':');
      const [srcMask, tgtMask, srcPaddingMask, tgtPaddingMask] = createMask(src, tgtInput, specialSymbols['<pad>']);
      const logits = model(src, tgtInput, srcMask, tgtMask, srcPaddingMask, tgtPaddingMask, srcPaddingMask);
      const tgtOut = tgt.index('1:', ':');
      return lossFn(logits.reshape(-1, logits.shape[logits.ndim - 1]), tgtOut.reshape(-1)).item();
    });
    src.dispose();
    tgt.dispose();
  }
  return losses / passLength(validDl);
}

/** main.py's main(opts): train each epoch, validate, save best.pt when the validation loss improves and last.pt always. */
export function main(opts: TranslationOpts) {
  const { trainDataloader, validDataloader, srcVocab, tgtVocab, srcLangTransform } = getData(opts);
  opts.log?.(`src vocab size: ${srcVocab.length}, tgt vocab size: ${tgtVocab.length}`);

  const model = new Translator({
    numEncoderLayers: opts.encLayers,
    numDecoderLayers: opts.decLayers,
    embedSize: opts.embedSize,
    numHeads: opts.attnHeads,
    srcVocabSize: srcVocab.length,
    tgtVocabSize: tgtVocab.length,
    dimFeedforward: opts.dimFeedforward,
    dropout: opts.dropout,
  });

  const lossFn = new nn.CrossEntropyLoss({ ignoreIndex: specialSymbols['<pad>'] });
  // These special values are from the "Attention is all you need" paper
  const optim = new torch.optim.Adam(model.parameters(), { lr: opts.lr, betas: [0.9, 0.98], eps: 1e-9 });

  const trainBatches: number[] = [], epochs: [number, number][] = [], saved: number[] = [];
  let firstBatch: [Tensor, Tensor] | null = null;
  let bestValLoss = 1e6;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const startTime = Date.now();
    const trainLoss = train(model, trainDataloader, lossFn, optim, trainBatches, (s, t) => { firstBatch ??= [torch.keep(s.clone()), torch.keep(t.clone())]; });
    const epochTime = (Date.now() - startTime) / 1000;
    const valLoss = validate(model, validDataloader, lossFn);
    epochs.push([trainLoss, valLoss]);

    // Once training is done, we want to save out the model
    if (valLoss < bestValLoss) {
      bestValLoss = valLoss;
      opts.log?.('New best model, saving...');
      torch.save(model.stateDict(), path.join(opts.loggingDir, 'best.pt'));
      saved.push(epoch);
    }
    torch.save(model.stateDict(), path.join(opts.loggingDir, 'last.pt'));
    opts.log?.(`Epoch: ${epoch}\n\tTrain loss: ${trainLoss.toFixed(3)}\n\tVal loss: ${valLoss.toFixed(3)}\n\tEpoch time = ${epochTime.toFixed(1)} seconds`);
  }
  optim.dispose();
  return { model, srcVocab, tgtVocab, srcLangTransform, trainBatches, epochs, saved, firstBatch: firstBatch! };
}

/**
 * Made-up sentence pairs, as no corpus can be downloaded here: a "source language" of 16 words
 * and its word-for-word "translation", adjectives moved after their noun.
 */
export function syntheticPairs(n: number, seed: number): Pair[] {
  const random = new PythonRandom(seed);
  const nouns: Pair[] = [['hund', 'dog'], ['katze', 'cat'], ['mann', 'man'], ['frau', 'woman'], ['kind', 'child'], ['ball', 'ball']];
  const adjectives: Pair[] = [['grosse', 'big'], ['kleine', 'small'], ['rote', 'red'], ['alte', 'old']];
  const verbs: Pair[] = [['sieht', 'sees'], ['hat', 'has'], ['mag', 'likes']];
  const phrase = (): Pair => {
    const [nd, ne] = random.choice(nouns);
    if (random.random() < 0.5) return [`der ${nd}`, `the ${ne}`];
    const [ad, ae] = random.choice(adjectives);
    return [`der ${ad} ${nd}`, `the ${ne} ${ae}`];
  };
  return Array.from({ length: n }, () => {
    const [sd, se] = phrase(), [vd, ve] = random.choice(verbs), [od, oe] = phrase();
    return [`${sd} ${vd} ${od}`, `${se} ${ve} ${oe}`] as Pair;
  });
}

if (require.main === module) {
  const i = process.argv.indexOf('--epochs');
  torch.manualSeed(0);
  const run = main({
    trainPairs: syntheticPairs(512, 0), validPairs: syntheticPairs(64, 1), epochs: i >= 0 ? Number(process.argv[i + 1]) : 20, lr: 1e-3, batch: 32,
    attnHeads: 4, encLayers: 2, decLayers: 2, embedSize: 64, dimFeedforward: 128, dropout: 0.1, loggingDir: '.', log: console.log,
  });
  run.model.eval();
  for (const [src, tgt] of syntheticPairs(5, 2)) console.log(`${src}  ->  ${translate(run.model, src, run.srcLangTransform, run.tgtVocab).trim()}   (${tgt})`);
  run.model.dispose();
  for (const t of run.firstBatch) t.dispose();
}
