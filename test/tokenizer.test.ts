// Hugging Face tokenizer files written by tstorch (vocab.json, merges.txt, ...), checked by an
// independent BPE (OpenAI's encoder.py algorithm, in Python) that reads only those files.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { vocabAndMerges, tablesFingerprint, GPT2_TABLES_FINGERPRINT } from '../lib/models/tokenizer';
import { learnBpe, writeBpeFiles } from './helpers';
import { EncodePool } from '../lib/models/encode_pool';

let tmp: string;
beforeAll(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-tok-')); });
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('savePretrained writes GPT-2\'s vocab.json and merges.txt: a Python BPE reading them encodes as tstorch does', () => {
  const dir = path.join(tmp, 'tok');
  torch.tokenizer.savePretrained(dir, { modelMaxLength: 64 });
  expect(fs.readdirSync(dir).sort()).toEqual(['merges.txt', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.json']);
  const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'vocab.json'), 'utf8'));
  expect(Object.keys(vocab).length).toBe(50257);
  expect(vocab['<|endoftext|>']).toBe(50256);
  expect(vocab['Ġthe']).toBe(262); // byte-level characters: 'Ġ' is the space
  const merges = fs.readFileSync(path.join(dir, 'merges.txt'), 'utf8').trimEnd().split('\n');
  expect(merges[0]).toBe('#version: 0.2');
  expect(merges.length - 1).toBe(50000);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  expect(config).toMatchObject({ tokenizer_class: 'GPT2Tokenizer', eos_token: '<|endoftext|>', model_max_length: 64, add_prefix_space: false });

  // Brown press text, and the cases byte-level BPE is there for: accents, symbols, emoji, runs of spaces.
  const text = torch.data.brownDocuments(['a', 'b']).slice(0, 12).map((d) => d.text).join('\n') +
    '\nFrançois Gö naïve café 😀 ½ — “quotes” it\'s we\'ll  two   spaces\tand\ttabs\n\n  end  ' +
    // Unicode's White_Space, not JavaScript's \s: U+0085 (NEL) is a space, U+FEFF (BOM) is not
    'a\u0085\'ll b \u0085\u0085x\u0085 \ufeff\'s \ufeff c\u3000\u2028d ' +
    // numbers that are no digits (\p{N}, not \p{L}) beside letters; Windows line ends
    'a½b x² Ⅻc 3¾ ٣٤ five\r\nlines\r\n' +
    // <|endoftext|> between documents, as a packed corpus or an SFT example has it: one id, wherever it stands
    'one.<|endoftext|>two <|endoftext|> three<|endoftext|><|endoftext|>\n<|endoftext|>';
  const textFile = path.join(tmp, 'text.txt');
  fs.writeFileSync(textFile, text);
  const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'bpe_ref.py'), dir, textFile], { encoding: 'utf8', maxBuffer: 64 << 20 });
  expect(r.stderr).toBe('');
  const ids = torch.tokenizer.encode(text);
  expect(ids.length).toBeGreaterThan(20000);
  expect(JSON.parse(r.stdout)).toEqual(ids);
});

// A model folder's own tokenizer (GPT2Tokenizer.fromPretrained): GPT-2's tables take the fast path;
// any other byte-level BPE is run by tstorch's ByteLevelBPE, checked against the Python BPE above.
describe('GPT2Tokenizer.fromPretrained: a model folder\'s own tokenizer', () => {
  const sample = () => torch.data.brownDocuments(['c']).slice(0, 6).map((d) => d.text).join('\n') +
    '\nFrançois Gö naïve café 😀 ½ — “quotes” it\'s we\'ll  two   spaces\tand\ttabs\n\n  end  one.<|endoftext|>two <|endoftext|> three<|endoftext|>' +
    'a\u0085\'ll b \u0085\u0085x\u0085 \ufeff\'s \ufeff c';
  let custom: string;
  let learned: { vocab: Record<string, number>; merges: [string, string][] };
  beforeAll(() => {
    learned = learnBpe(torch.data.brownDocuments(['a']).slice(0, 20).map((d) => d.text).join('\n'), 400);
    custom = writeBpeFiles(path.join(tmp, 'custom'), learned);
  });
  const pythonIds = (dir: string, text: string): number[] => {
    const file = path.join(tmp, 'py-text.txt');
    fs.writeFileSync(file, text);
    const r = spawnSync('/usr/bin/python3', [path.join(__dirname, '..', 'scripts', 'reference', 'bpe_ref.py'), dir, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout);
  };

  test('GPT-2\'s own files give the shared fast tokenizer; the general BPE on them encodes as it does (every id of a Brown sample)', () => {
    const { vocab, merges } = vocabAndMerges();
    expect(tablesFingerprint(vocab, merges)).toBe(GPT2_TABLES_FINGERPRINT);
    const dir = path.join(tmp, 'gpt2-files');
    torch.tokenizer.savePretrained(dir);
    const tok = torch.GPT2Tokenizer.fromFiles(dir);
    expect(tok).toBe(torch.tokenizer);
    expect(tok.isGpt2).toBe(true);
    const general = torch.GPT2Tokenizer.fromFiles(dir, { gpt2Fast: false });
    expect(general.isGpt2).toBe(false);
    expect([general.vocabSize, general.eosTokenId, general.eosToken]).toEqual([50257, 50256, '<|endoftext|>']);
    const text = sample();
    const ids = torch.tokenizer.encode(text);
    expect(ids.length).toBeGreaterThan(15000);
    expect(general.encode(text)).toEqual(ids);
    expect(general.decode(ids)).toBe(text);
  });

  test('tokenBytes: each token\'s bytes of text, as Python\'s byte-level decoder reads vocab.json (every id; GPT-2\'s fast tables, the general BPE, another BPE)', () => {
    const gpt2Dir = path.join(tmp, 'gpt2-bytes');
    torch.tokenizer.savePretrained(gpt2Dir);
    const pythonBytes = (dir: string): string[] => {
      const r = spawnSync('/usr/bin/python3', ['-c', `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.join(__dirname, '..', 'scripts', 'reference'))})
from bpe_ref import bytes_to_unicode
decoder = {c: b for b, c in bytes_to_unicode().items()}
vocab = json.load(open(sys.argv[1] + '/vocab.json', encoding='utf-8'))
out = [None] * len(vocab)
for token, i in vocab.items():
    out[i] = (token.encode('utf-8') if token == '<|endoftext|>' else bytes(decoder[c] for c in token)).hex()
print(json.dumps(out))
`, dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout);
    };
    const hex = (tok: torch.GPT2Tokenizer, n: number) => Array.from({ length: n }, (_, id) => Buffer.from(tok.tokenBytes(id)).toString('hex'));
    const want = pythonBytes(gpt2Dir);
    expect(want).toHaveLength(50257);
    expect(hex(torch.tokenizer, 50257)).toEqual(want);
    expect(hex(torch.GPT2Tokenizer.fromFiles(gpt2Dir, { gpt2Fast: false }), 50257)).toEqual(want);
    const other = torch.GPT2Tokenizer.fromFiles(custom);
    expect(hex(other, other.vocabSize)).toEqual(pythonBytes(custom));
    // an emoji's four bytes split across tokens: one alone decodes as U+FFFD, their bytes together as the emoji
    expect(torch.tokenizer.decode(torch.tokenizer.encode('😀').slice(0, 1))).toBe('\uFFFD');
    expect(Buffer.concat(torch.tokenizer.encode('😀').map((t) => torch.tokenizer.tokenBytes(t))).toString('utf8')).toBe('😀');
    expect(() => torch.tokenizer.tokenBytes(50257)).toThrow(/id 50257 is not in GPT-2's vocabulary/);
  });

  test('another byte-level BPE (vocab.json + merges.txt) encodes as the Python BPE reading the same files; decode gives the text back', async () => {
    const tok = await torch.GPT2Tokenizer.fromPretrained(custom);
    expect(tok.isGpt2).toBe(false);
    expect(tok.vocabSize).toBe(Object.keys(learned.vocab).length);
    expect(tok.eosTokenId).toBe(learned.vocab['<|endoftext|>']);
    const text = sample();
    const ids = tok.encode(text);
    expect(ids).toEqual(pythonIds(custom, text));
    expect(ids).not.toEqual(torch.tokenizer.encode(text)); // (not GPT-2's ids)
    expect(tok.decode(ids)).toBe(text);
    // The same tables as tokenizer.json alone (HF's fast file; merges as "a b" strings or, newer, pairs): the same ids
    for (const [name, merges] of [['tj-strings', learned.merges.map((m) => m.join(' '))], ['tj-pairs', learned.merges]] as const) {
      const dir = path.join(tmp, name);
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({
        version: '1.0', normalizer: null, added_tokens: [{ id: learned.vocab['<|endoftext|>'], content: '<|endoftext|>', special: true }],
        pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
        model: { type: 'BPE', vocab: learned.vocab, merges },
      }));
      expect(torch.GPT2Tokenizer.fromFiles(dir).encode(text)).toEqual(ids);
    }
    // savePretrained writes it back (vocab.json, merges.txt, ...): read again, the same ids, and the Python BPE agrees
    const again = path.join(tmp, 'custom-saved');
    tok.savePretrained(again);
    expect(torch.GPT2Tokenizer.fromFiles(again).encode(text)).toEqual(ids);
    expect(pythonIds(again, text)).toEqual(ids);
  });

  test('added tokens split out whole, add_prefix_space; datasets and stop strings use the given tokenizer', () => {
    const dir = path.join(tmp, 'custom-added');
    fs.cpSync(custom, dir, { recursive: true });
    const n = Object.keys(learned.vocab).length;
    fs.writeFileSync(path.join(dir, 'added_tokens.json'), JSON.stringify({ '<|user|>': n, '<|bot|>': n + 1 }));
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ add_prefix_space: true, eos_token: { content: '<|endoftext|>' } }));
    const tok = torch.GPT2Tokenizer.fromFiles(dir), plain = torch.GPT2Tokenizer.fromFiles(custom);
    expect(tok.vocabSize).toBe(n + 2);
    const ids = tok.encode('<|user|>hello there<|bot|>hi<|endoftext|>');
    expect(ids.slice(0, 2)).toEqual([plain.encode(' ')[0], n]); // (the prefix space goes on the text, before the added token: HF's GPT2Tokenizer)
    expect(ids.filter((t) => t >= n - 1)).toEqual([n, n + 1, n - 1]);
    expect(tok.decode(ids)).toBe(' <|user|>hello there<|bot|>hi<|endoftext|>'); // (the prefix space, as HF's)
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(' <|user|>hello there<|bot|>hi'); // (added, not special: kept)
    expect(tok.encode('hello')).toEqual(plain.encode(' hello'));
    expect(tok.encode(' hello')).toEqual(plain.encode(' hello')); // (none added before a space)
    // add_bos_token (a few GPT-2 fine-tunes set it) is not applied, and that is said
    const bos = path.join(tmp, 'custom-bos');
    fs.cpSync(custom, bos, { recursive: true });
    fs.writeFileSync(path.join(bos, 'tokenizer_config.json'), JSON.stringify({ add_bos_token: true }));
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      expect(torch.GPT2Tokenizer.fromFiles(bos).encode('hello')).toEqual(plain.encode('hello'));
      expect(warn.mock.calls.map((c) => c[0])).toEqual([expect.stringMatching(/sets add_bos_token, which tstorch does not apply/)]);
    } finally {
      warn.mockRestore();
    }
    // datasets: the tokenizer's ids, its eos ending each example and padding it
    const ex = torch.data.ExampleDataset.fromTexts(['a b c', 'hello'], { maxLength: 32, tokenizer: plain });
    expect(Array.from(ex.examples[1])).toEqual([...plain.encode('hello'), plain.eosTokenId]);
    expect(ex.padTokenId).toBe(plain.eosTokenId);
    expect(Array.from(torch.data.TextDataset.fromText('hello there world', 2, plain).blocks.flatMap((b) => Array.from(b))))
      .toEqual(plain.encode('hello there world').slice(0, 2 * Math.floor(plain.encode('hello there world').length / 2)));
    // stop strings decode with the given tokenizer
    const helloThere = plain.encode('hello there');
    expect(torch.completesStopString(helloThere, ['there'], plain)).toBe(true);
    expect(torch.completesStopString(helloThere.slice(0, -1), ['there'], plain)).toBe(false);
  });

  test('encodeChunks: a corpus encoded chunk by chunk gives encode(whole)\'s ids, whatever the cuts (GPT-2\'s tables, a custom BPE with add_prefix_space and added tokens)', () => {
    const dir = path.join(tmp, 'custom-added'); // (made by the test above)
    const spaced = path.join(tmp, 'custom-spaced');
    fs.cpSync(custom, spaced, { recursive: true });
    fs.writeFileSync(path.join(spaced, 'added_tokens.json'), JSON.stringify({ '\n\n<|sep|> ': Object.keys(learned.vocab).length }));
    let seed = 7;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    // Brown text, and what sits around a cut: runs of spaces and newlines, tabs, CRLF, emoji, added and special tokens
    const bits = ['word', ' ', '  ', '\n', '\n\n', '\t', '\r\n', 'It\'s', '😀', '42', '!?', '<|endoftext|>', '<|user|>', '<|sep|>', 'é', ' \n '];
    const text = torch.data.brownDocuments(['c']).slice(0, 3).map((d) => d.text).join('\n') +
      Array.from({ length: 3000 }, () => bits[rand(bits.length)]).join('');
    const cutUp = (t: string) => { const out: string[] = []; for (let i = 0; i < t.length;) { const n = 1 + rand(40); out.push(t.slice(i, i + n)); i += n; } return out; };
    const spacedTok = torch.GPT2Tokenizer.fromFiles(spaced);
    for (const tok of [torch.tokenizer, torch.GPT2Tokenizer.fromFiles(dir), spacedTok]) {
      const whole = tok.encode(text);
      for (const chunkChars of [1, 9, 100, 5000, undefined]) {
        const ids = tok.encodeChunks(cutUp(text), { chunkChars });
        expect(ids).toBeInstanceOf(Int32Array);
        expect(Array.from(ids)).toEqual(whole);
      }
      for (const expectedIds of [10, whole.length, 10 * whole.length]) expect(Array.from(tok.encodeChunks(cutUp(text), { chunkChars: 50, expectedIds }))).toEqual(whole);
      // worker threads encoding the chunks (HF's num_proc): the same ids, in order
      const started = EncodePool.started;
      for (const threads of [2, 3]) expect(Array.from(tok.encodeChunks(cutUp(text), { chunkChars: 200, threads }))).toEqual(whole);
      expect(EncodePool.started - started).toBe(tok === spacedTok ? 0 : 2); // (a whitespace added token: encoded whole, one thread)
      expect(Array.from(tok.encodeChunks([]))).toEqual([]);
      expect(Array.from(tok.encodeChunks(['', 'hello', ' world'], { chunkChars: 1 }))).toEqual(tok.encode('hello world'));
    }
    // the cuts are real: a small chunkChars encodes many chunks, yet the same ids
    expect(() => torch.tokenizer.encodeChunks(['a'], { chunkChars: 0 })).toThrow(/chunkChars must be an integer >= 1/);
    expect(() => torch.tokenizer.encodeChunks(['a'], { threads: 0 })).toThrow(/threads must be an integer >= 1/);
    // a text of one chunk is encoded here, no thread started
    const before = EncodePool.started;
    expect(Array.from(torch.tokenizer.encodeChunks(['hello', ' world'], { threads: 4 }))).toEqual(torch.tokenizer.encode('hello world'));
    expect(EncodePool.started).toBe(before);
  });

  test('encodeEach / encodeEachInto: each text\'s ids as encode(text), on worker threads in batches (GPT-2\'s tables, a custom BPE with add_prefix_space and added tokens)', () => {
    const dir = path.join(tmp, 'custom-added'), spaced = path.join(tmp, 'custom-spaced'); // (made by the tests above)
    let seed = 11;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const bits = ['word', ' ', '  ', '\n', '\t', 'It\'s', '😀', '42', '<|endoftext|>', '<|user|>', '<|sep|>', '\n\n<|sep|> ', 'é', 'The jury said'];
    // 4,000 texts of up to 1,500 characters (several 256 K-character batches), empty ones among them
    const texts = Array.from({ length: 4000 }, () => Array.from({ length: rand(120) }, () => bits[rand(bits.length)]).join(''));
    expect(texts.reduce((n, t) => n + t.length, 0)).toBeGreaterThan(3 * (1 << 18));
    expect(texts.filter((t) => t === '').length).toBeGreaterThan(5);
    for (const tok of [torch.tokenizer, torch.GPT2Tokenizer.fromFiles(dir), torch.GPT2Tokenizer.fromFiles(spaced)]) {
      const want = texts.map((t) => tok.encode(t));
      const started = EncodePool.started;
      for (const threads of [1, 2, 3]) {
        const got = tok.encodeEach(texts, { threads });
        expect(got.every((ids) => Object.prototype.toString.call(ids) === '[object Int32Array]')).toBe(true);
        expect(got.map((ids) => Array.from(ids))).toEqual(want);
      }
      expect(EncodePool.started - started).toBe(2); // (threads 2 and 3 started pools)
      // a generator of texts, read as they are handed out; the sink sees them in order
      const seen: number[][] = [];
      tok.encodeEachInto(function* () { yield* texts; }(), (ids) => seen.push(Array.from(ids)), { threads: 2 });
      expect(seen).toEqual(want);
      // the padded batch API on threads too
      expect(tok.encodeBatch(texts.slice(0, 50), { padding: true, threads: 2 })).toEqual(tok.encodeBatch(texts.slice(0, 50), { padding: true }));
    }
    // fewer texts than a batch: encoded here, no thread started
    const before = EncodePool.started;
    expect(torch.tokenizer.encodeEach(['hello', '', ' world'], { threads: 4 }).map((ids) => Array.from(ids))).toEqual([torch.tokenizer.encode('hello'), [], torch.tokenizer.encode(' world')]);
    expect(torch.tokenizer.encodeEach([], { threads: 2 })).toEqual([]);
    expect(EncodePool.started).toBe(before);
    expect(() => torch.tokenizer.encodeEach(['a'], { threads: 0 })).toThrow(/threads must be an integer >= 1/);
    // examples tokenized on threads (HF's num_proc): the very examples of one thread
    const pairs = texts.slice(0, 2000).map((t, i) => ({ prompt: texts[(i * 7) % texts.length] + (i % 3 ? ' ' : ''), completion: t }));
    for (const opts of [{ maxLength: 64 }, { maxLength: 16, completionOnlyLoss: false }, { maxLength: 400, addEos: false }]) {
      const one = torch.data.ExampleDataset.fromPromptCompletions(pairs, opts), two = torch.data.ExampleDataset.fromPromptCompletions(pairs, { ...opts, threads: 2 });
      expect([two.length, two.dropped, two.mismatched, two.promptLengths]).toEqual([one.length, one.dropped, one.mismatched, one.promptLengths]);
      expect(two.examples.map((e) => Array.from(e))).toEqual(one.examples.map((e) => Array.from(e)));
      const t1 = torch.data.ExampleDataset.fromTexts(texts, opts), t2 = torch.data.ExampleDataset.fromTexts(texts, { ...opts, threads: 3 });
      expect([t2.length, t2.dropped]).toEqual([t1.length, t1.dropped]);
      expect(t2.examples.map((e) => Array.from(e))).toEqual(t1.examples.map((e) => Array.from(e)));
    }
    // the token cache's form of examples (ExampleDataset.toPacked / fromPacked): the same dataset back
    const ds = torch.data.ExampleDataset.fromPromptCompletions(pairs, { maxLength: 16, threads: 2 });
    expect(ds.dropped + ds.mismatched).toBeGreaterThan(0);
    const back = torch.data.ExampleDataset.fromPacked(ds.toPacked([7]).subarray(1), 16);
    expect([back.length, back.dropped, back.mismatched, back.promptLengths, back.examples.map((e) => Array.from(e))]).toEqual([ds.length, ds.dropped, ds.mismatched, ds.promptLengths, ds.examples.map((e) => Array.from(e))]);
    const all = [...Array(ds.length).keys()];
    expect([back.tokens(all), back.lossTokens(all)]).toEqual([ds.tokens(all), ds.lossTokens(all)]);
    expect(() => torch.data.ExampleDataset.fromPacked(new Int32Array([2, 0, 0, 3]), 16)).toThrow(/not an array toPacked made/);
    expect(() => new torch.data.ExampleDataset([{ ids: [1, 2, 3], lossMask: [0, 1, 1] }], 8).toPacked()).toThrow(/loss masks are not packed/);
    // (and one thread's are encode's own: each prompt + completion, ended by eos, cut at maxLength)
    const ex = torch.data.ExampleDataset.fromPromptCompletions(pairs.slice(0, 300), { maxLength: 400, threads: 2 });
    const eos = '<|endoftext|>';
    const kept = pairs.slice(0, 300).map((p) => {
      const ids = torch.tokenizer.encode(p.prompt + p.completion + (p.completion.endsWith(eos) ? '' : eos)).slice(0, 400);
      return { ids, promptLength: Math.min(torch.tokenizer.encode(p.prompt).length, ids.length) };
    }).filter((e) => e.ids.length > Math.max(e.promptLength, 1));
    expect(kept.length).toBeGreaterThan(250);
    expect(ex.examples.map((e) => Array.from(e))).toEqual(kept.map((e) => e.ids));
    expect(ex.promptLengths).toEqual(kept.map((e) => e.promptLength));
  });

  test('a tokenizer thread that dies (out of memory, say) is an error within seconds, not a wait for the 10-minute timeout', () => {
    // (a worker's process.exit() ends its thread alone, as running out of memory does)
    const module = path.join(tmp, 'dying-encoder.js');
    fs.writeFileSync(module, "exports.chunkEncoder = () => (text) => { if (text === 'die') process.exit(1); return [text.length]; };\n");
    const got: number[] = [];
    const pool = new EncodePool(module, null, 2, (ids) => got.push(...ids));
    try {
      pool.submit('abc', false);
      pool.submit('die', false);
      pool.submit('xy', false);
      const since = Date.now();
      expect(() => pool.finish()).toThrow(/a tokenizer thread stopped without answering \(out of memory\?\); run with threads: 1/);
      expect(Date.now() - since).toBeLessThan(15_000);
      expect(got).toEqual([3]); // (the answer before it was taken)
    } finally {
      pool.close();
    }
  });

  test('bad tokenizer folders are clear errors', () => {
    const bad = (name: string, files: Record<string, string>) => {
      const dir = path.join(tmp, `bad-${name}`);
      fs.mkdirSync(dir, { recursive: true });
      for (const [f, c] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), c);
      return () => torch.GPT2Tokenizer.fromFiles(dir);
    };
    const vocab = JSON.stringify(learned.vocab), merges = fs.readFileSync(path.join(custom, 'merges.txt'), 'utf8');
    expect(bad('empty', {})).toThrow(/has no tokenizer files \(vocab.json and merges.txt, or tokenizer.json\)/);
    expect(() => torch.GPT2Tokenizer.fromFiles(path.join(tmp, 'nowhere'))).toThrow(/nowhere: no such folder/);
    expect(bad('json', { 'vocab.json': '{"a": 0,', 'merges.txt': merges })).toThrow(/vocab.json is not valid JSON .*fetch the tokenizer files again/);
    expect(bad('merge-line', { 'vocab.json': vocab, 'merges.txt': '#version: 0.2\nĠ t h\n' })).toThrow(/merges.txt line 2 is not two tokens separated by one space/);
    expect(bad('unknown', { 'vocab.json': vocab, 'merges.txt': '#version: 0.2\nĠ zz\n' })).toThrow(/merge 0 \(Ġ zz\) uses 'zz', which the vocabulary lacks/);
    expect(bad('wordpiece', { 'tokenizer.json': JSON.stringify({ model: { type: 'WordPiece', vocab: {} } }) })).toThrow(/is a WordPiece tokenizer; tstorch reads byte-level BPE tokenizers/);
    expect(bad('metaspace', { 'tokenizer.json': JSON.stringify({ pre_tokenizer: { type: 'Metaspace' }, model: { type: 'BPE', vocab: { a: 0 }, merges: [] } }) })).toThrow(/its pre-tokenizer is Metaspace/);
    expect(bad('no-eos', { 'vocab.json': JSON.stringify({ ...learned.vocab, '<|endoftext|>': undefined }), 'merges.txt': merges })).toThrow(/names no eos token/);
    // added tokens of the wrong shape: which file, and what is wrong with the entry
    expect(bad('unknown-kind', { 'tokenizer.json': JSON.stringify({ model: null }) })).toThrow(/is an unknown kind of tokenizer; tstorch reads byte-level BPE/);
    expect(bad('decoder-id', { 'vocab.json': vocab, 'merges.txt': merges, 'tokenizer_config.json': JSON.stringify({ added_tokens_decoder: { x: { content: '<x>' } } }) })).toThrow(/tokenizer_config.json: added token "<x>" has id "x", not an integer >= 0/);
    expect(bad('decoder-entry', { 'vocab.json': vocab, 'merges.txt': merges, 'tokenizer_config.json': JSON.stringify({ added_tokens_decoder: { 5: 5 } }) })).toThrow(/tokenizer_config.json: an added token without its text \(content\), got nothing/);
    expect(bad('added-list', { 'vocab.json': vocab, 'merges.txt': merges, 'added_tokens.json': JSON.stringify({ '<x>': 'a' }) })).toThrow(/added_tokens.json: added token "<x>" has id "a"/);
    expect(bad('not-bytes', { 'vocab.json': JSON.stringify({ a: 0, b: 1, ab: 2, '<|endoftext|>': 3 }), 'merges.txt': 'a b\n' })).toThrow(/lacks the byte-level character .*not a byte-level BPE/);
  });
});

test('decode is HF\'s (byte_decoder, then UTF-8 with errors=\'replace\') on 400 id sequences cutting characters, whatever was decoded before', () => {
  const dir = path.join(tmp, 'decode-tok');
  torch.tokenizer.savePretrained(dir);
  // ids that are one byte of a character (0-255), whole characters, a character's start, and eos
  let seed = 99;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const pool = [...Array(256).keys(), ...torch.tokenizer.encode('é 😀 東京 — “x” ½').flatMap((t) => [t, t]), 50256, 262, 464];
  const sequences = Array.from({ length: 400 }, () => Array.from({ length: 1 + rand(6) }, () => pool[rand(pool.length)]));
  // a text that starts with a byte-order mark, alone and after eos: the mark is text (Python keeps it; a TextDecoder drops it by default)
  const bom = torch.tokenizer.encode('\uFEFFHello');
  sequences.push(bom, [50256, ...bom], torch.tokenizer.encode('\uFEFF'));
  const r = spawnSync('/usr/bin/python3', ['-c', `
import json, sys
vocab = json.load(open(sys.argv[1] + "/vocab.json", encoding="utf-8"))
decoder = {v: k for k, v in vocab.items()}
# GPT-2's bytes_to_unicode, inverted (HF's byte_decoder)
bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + list(range(ord("\u00ae"), ord("\u00ff") + 1))
cs, n = bs[:], 0
for b in range(256):
    if b not in bs:
        bs.append(b); cs.append(256 + n); n += 1
byte_decoder = {chr(c): b for b, c in zip(bs, cs)}
out = []
for ids in json.load(sys.stdin):
    text, run = "", []
    for i in ids:  # (an added token is a segment of its own, as the fast tokenizer decodes)
        if i == 50256:
            text += bytearray(byte_decoder[c] for c in "".join(run)).decode("utf-8", errors="replace") + "<|endoftext|>"
            run = []
        else:
            run.append(decoder[i])
    out.append(text + bytearray(byte_decoder[c] for c in "".join(run)).decode("utf-8", errors="replace"))
print(json.dumps(out))
`, dir], { input: JSON.stringify(sequences), encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const want: string[] = JSON.parse(r.stdout);
  // (decoded twice, the second time after a text that ends inside a character: nothing carries over)
  sequences.forEach((ids, i) => expect([ids, torch.tokenizer.decode(ids)]).toEqual([ids, want[i]]));
  const broken = torch.tokenizer.encode('😀').slice(0, 1);
  sequences.forEach((ids, i) => {
    torch.tokenizer.decode(broken);
    expect([ids, torch.tokenizer.decode(ids)]).toEqual([ids, want[i]]);
  });
  expect(want.filter((t) => t.includes('\uFFFD')).length).toBeGreaterThan(100); // (many cut a character)
  expect(want.slice(-3)).toEqual(['\uFEFFHello', '<|endoftext|>\uFEFFHello', '\uFEFF']);
  expect(torch.tokenizer.decode(broken)).toBe('\uFFFD');
  expect(() => torch.tokenizer.decode([50257])).toThrow('tokenizer: id 50257 is not in GPT-2\'s vocabulary (50257 ids)');
});

test('encodeBatch (HF\'s tokenizer(texts, padding, truncation, max_length)) and decode with skipSpecialTokens', () => {
  const tok = torch.tokenizer;
  const texts = ['The jury said', 'Yes', 'A much longer sentence than the others here'];
  const ids = texts.map((t) => tok.encode(t));
  const longest = Math.max(...ids.map((r) => r.length));
  const right = tok.encodeBatch(texts, { padding: true });
  right.inputIds.forEach((row, i) => {
    expect(row).toEqual([...ids[i], ...Array(longest - ids[i].length).fill(50256)]);
    expect(right.attentionMask[i]).toEqual([...Array(ids[i].length).fill(1), ...Array(longest - ids[i].length).fill(0)]);
  });
  const left = tok.encodeBatch(texts, { padding: 'longest', paddingSide: 'left', padTokenId: 0 });
  expect(left.inputIds[1]).toEqual([...Array(longest - ids[1].length).fill(0), ...ids[1]]);
  expect(left.attentionMask[1]).toEqual([...Array(longest - ids[1].length).fill(0), ...Array(ids[1].length).fill(1)]);
  const cut = tok.encodeBatch(texts, { truncation: true, maxLength: 3, padding: 'max_length' });
  expect(cut.inputIds).toEqual(ids.map((r) => [...r.slice(0, 3), ...Array(Math.max(0, 3 - r.length)).fill(50256)]));
  expect(tok.encodeBatch(texts).inputIds).toEqual(ids); // (no padding: ragged, as HF's)
  expect(() => tok.encodeBatch(texts, { padding: 'max_length' })).toThrow("encodeBatch: padding 'max_length' needs maxLength");
  expect(() => tok.encodeBatch(texts, { paddingSide: 'middle' as never })).toThrow("encodeBatch: paddingSide must be right or left, got 'middle'");
  expect(() => tok.encodeBatch('one text' as never)).toThrow('encodeBatch: texts must be an array of strings');
  // HF's spellings are errors naming ours, never a truncation or a skip quietly not done
  expect(() => tok.encodeBatch(texts, { truncation: true, max_length: 2 } as never)).toThrow("encodeBatch: unknown option 'max_length' (did you mean maxLength?)");
  expect(() => tok.decode([1, 2], { skip_special_tokens: true } as never)).toThrow("GPT2Tokenizer.decode: unknown option 'skip_special_tokens' (did you mean skipSpecialTokens?)");
  // skipSpecialTokens: eos leaves the text
  const withEos = tok.encode('Hello<|endoftext|> world<|endoftext|>');
  expect(tok.decode(withEos)).toBe('Hello<|endoftext|> world<|endoftext|>');
  expect(tok.decode(withEos, { skipSpecialTokens: true })).toBe('Hello world');
});
