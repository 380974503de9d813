// tstorch data: what a data file becomes as training data, checked against what the data says the
// loss must learn: a completion, an assistant's replies, every token of a block but its first.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';

const bin = path.join(__dirname, '..', 'dist', 'lib', 'cli', 'main.js');
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, 'data', ...args], { encoding: 'utf8', env: process.env }); // (jest's process.env is its own copy)
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tstorch-data-'));
  process.env.TSTORCH_CACHE = path.join(tmp, 'cache'); // (the token cache of the runs below: here, not in ~/.cache)
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('prompt-completion: the completion and its <|endoftext|> are what is learned; counts as the dataset has them', () => {
  const file = path.join(tmp, 'qa.jsonl');
  const pairs = Array.from({ length: 5 }, (_, i) => ({ prompt: `Q: ${i} plus ${i}?\nA:`, completion: ` ${2 * i}, é😀` }));
  fs.writeFileSync(file, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const r = cli('--data', file, '--json', '--show', '5');
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout);
  const ds = torch.data.ExampleDataset.fromPromptCompletions(pairs, { maxLength: 128 });
  expect([out.kind, out.items, out.tokens, out.learnedTokens]).toEqual(['examples', 5, ds.tokens([0, 1, 2, 3, 4]), ds.lossTokens([0, 1, 2, 3, 4])]);
  out.shown.forEach((item: { ids: number[]; labels: number[]; text: string }, i: number) => {
    expect(item.ids).toEqual(torch.tokenizer.encode(pairs[i].prompt + pairs[i].completion + '<|endoftext|>'));
    expect(torch.tokenizer.decode(item.labels.filter((l) => l !== -100))).toBe(pairs[i].completion + '<|endoftext|>');
    expect(item.text).toBe(`${pairs[i].prompt}[[${pairs[i].completion}<|endoftext|>]]`);
  });
  // the text form says the same
  const text = cli('--data', file, '--show', '1');
  expect(text.stdout).toMatch(/qa\.jsonl: 5 examples of up to 128 tokens \(padded per batch\); \d+ tokens, \d+ learned/);
  expect(text.stdout).toContain(`Q: 0 plus 0?\nA:[[ 0, é😀<|endoftext|>]]`);
  // prompts ending in a space: " 0" is one token across the boundary, so the learned part starts
  // after it, as TRL's (which warns); said with what to check
  const spaced = path.join(tmp, 'qa-spaced.jsonl');
  const spacedPairs = pairs.map((p) => ({ prompt: p.prompt + ' ', completion: p.completion.slice(1) }));
  fs.writeFileSync(spaced, spacedPairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const warned = cli('--data', spaced, '--show', '1');
  expect(warned.stderr).toMatch(/qa-spaced\.jsonl: 5 example\(s\) whose prompt's tokens are not the start of prompt \+ completion's .*check the texts' whitespace/);
  expect(warned.stdout).toContain(`Q: 0 plus 0?\nA: 0[[, é😀<|endoftext|>]]`);
  expect(torch.data.ExampleDataset.fromPromptCompletions(spacedPairs, { maxLength: 128 }).mismatched).toBe(5);
  expect(ds.mismatched).toBe(0);
});

test('conversations with --assistant-only-loss: the replies and their <|im_end|> are learned; packed rows show each example in turn', () => {
  const file = path.join(tmp, 'chats.jsonl');
  const chats = [['Hi', 'Hello there.'], ['2+2?', 'Four.']].map(([q, a]) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] }));
  fs.writeFileSync(file, chats.map((c) => JSON.stringify(c)).join('\n') + '\n');
  const out = JSON.parse(cli('--data', file, '--chat-template', 'chatml', '--assistant-only-loss', '--json').stdout);
  expect(out.shown.map((s: { text: string }) => s.text)).toEqual(chats.map((c) => `<|im_start|>user\n${c.messages[0].content}<|im_end|>\n<|im_start|>assistant\n[[${c.messages[1].content}<|im_end|>\n]]`));
  const packed = JSON.parse(cli('--data', file, '--chat-template', 'chatml', '--assistant-only-loss', '--packing-strategy', 'bfd', '--block-size', '128', '--json').stdout);
  expect([packed.kind, packed.items, packed.learnedTokens]).toEqual(['rows', 1, out.learnedTokens]);
  // (best-fit decreasing: the longer example, in tokens, first)
  const shown = out.shown as { ids: number[]; text: string }[];
  const order = shown.map((s, i) => [s.ids.length, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => i);
  expect(packed.shown[0].text).toBe(order.map((i) => shown[i].text).join(''));
  expect(cli('--data', file, '--assistant-only-loss').stderr).toMatch(/no chat template/);
});

test('packed text: blocks of --block-size tokens, every token learned but each block\'s first', () => {
  const file = path.join(tmp, 'text.txt');
  fs.writeFileSync(file, 'The jury said it did find that many of the registration practices were outmoded. '.repeat(8));
  const out = JSON.parse(cli('--data', file, '--block-size', '16', '--json', '--show', '2').stdout);
  const ids = torch.tokenizer.encode(fs.readFileSync(file, 'utf8'));
  expect([out.kind, out.items]).toEqual(['blocks', Math.floor(ids.length / 16)]);
  expect(out.shown[1].ids).toEqual(ids.slice(16, 32));
  expect(out.shown[1].labels).toEqual(ids.slice(16, 32).map((id, k) => (k === 0 ? -100 : id)));
  expect(cli('--data', file, '--show', '-1').stderr).toMatch(/--show must be an integer >= 0/);
});

test('a long text tokenized on several threads (--dataset-num-proc, HF\'s num_proc; by default from 8 MB): the blocks of one thread, of encode(text)', () => {
  const file = path.join(tmp, 'long.txt');
  const brown = torch.data.brownDocuments(['a']).map((d) => d.text).join('\n\n') + '\n\n';
  const text = brown.repeat(Math.ceil((9 << 20) / brown.length)); // (over 8 MB: the default takes every core)
  fs.writeFileSync(file, text);
  const ids = torch.tokenizer.encode(text);
  const runs = [['--dataset-num-proc', '1'], ['--dataset-num-proc', '2'], ['--preprocessing-num-workers', '3'], []].map((flags) => cli('--data', file, '--block-size', '64', '--json', '--show', '2', '--no-dataset-cache', ...flags));
  for (const r of runs) {
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(runs[0].stdout);
  }
  const out = JSON.parse(runs[0].stdout);
  expect([out.kind, out.items, out.tokens]).toEqual(['blocks', Math.floor(ids.length / 64), Math.floor(ids.length / 64) * 64]);
  expect(out.shown[1].ids).toEqual(ids.slice(64, 128));
  expect(cli('--data', file, '--dataset-num-proc', '0').stderr).toMatch(/--dataset-num-proc must be >= 1/);
});

test('preference pairs and KTO examples: what DPO / ORPO / KTO training makes of them, the completions marked', () => {
  const pairsFile = path.join(tmp, 'pairs.jsonl'), ktoFile = path.join(tmp, 'kto.jsonl');
  fs.writeFileSync(pairsFile, [{ prompt: 'Q: what is 2+2?', chosen: ' 4', rejected: ' five' }, { prompt: 'Say it: ', chosen: 'yes', rejected: ' no way' }].map((r) => JSON.stringify(r)).join('\n') + '\n');
  fs.writeFileSync(ktoFile, [{ prompt: 'Q: hi', completion: ' hello', label: true }, { prompt: 'Q: hi', completion: ' go away', label: false }].map((r) => JSON.stringify(r)).join('\n') + '\n');
  const enc = (t: string) => torch.tokenizer.encode(t), EOS = 50256;
  // (TRL 1.x: the prompt alone, and prompt + completion as one text whose tokens past the prompt's are the completion, eos after)
  const side = (prompt: string, completion: string) => {
    const p = enc(prompt), ids = [...p, ...enc(prompt + completion).slice(p.length), EOS];
    return { ids, labels: ids.map((id, k) => (k >= p.length ? id : -100)) };
  };
  const pairs = cli('--data', pairsFile, '--json');
  const out = JSON.parse(pairs.stdout);
  expect([out.kind, out.items]).toEqual(['pairs', 2]);
  expect([out.shown[0].chosen.ids, out.shown[0].chosen.labels]).toEqual([side('Q: what is 2+2?', ' 4').ids, side('Q: what is 2+2?', ' 4').labels]);
  expect(out.shown[1].rejected.ids).toEqual(side('Say it: ', ' no way').ids);
  expect(out.shown[0].chosen.text).toBe('Q: what is 2+2?[[ 4<|endoftext|>]]');
  const all = [side('Q: what is 2+2?', ' 4'), side('Q: what is 2+2?', ' five'), side('Say it: ', 'yes'), side('Say it: ', ' no way')];
  expect([out.tokens, out.learnedTokens]).toEqual([all.reduce((n, s) => n + s.ids.length, 0), all.reduce((n, s) => n + s.labels.filter((l) => l !== -100).length, 0)]);
  expect(pairs.stderr).toMatch(/1 pair\(s\) whose prompt's tokens are not the start of prompt \+ completion's/); // ("Say it: " + "yes": the space merges into " yes")
  const text = cli('--data', pairsFile, '--show', '1').stdout;
  expect(text).toMatch(/pairs\.jsonl: 2 preference pairs \(DPO, ORPO; --method kto unpairs them\), each side up to 128 tokens; 32 tokens, 8 completion tokens scored/);
  expect(text).toContain(`pair 1, chosen (${all[0].ids.length} tokens, 2 scored; the completion [[marked]]):\nQ: what is 2+2?[[ 4<|endoftext|>]]`);
  expect(text).not.toContain('pair 2');
  const kto = JSON.parse(cli('--data', ktoFile, '--json').stdout);
  expect([kto.kind, kto.items, kto.shown.map((e: { label: boolean }) => e.label)]).toEqual(['kto', 2, [true, false]]);
  expect(kto.shown[1].ids).toEqual(side('Q: hi', ' go away').ids);
  expect(cli('--data', ktoFile).stdout).toMatch(/2 KTO examples \(1 desirable\)/);
  // --block-size is TRL's max_length: a prompt that fills it is left out, as train leaves it out
  expect(cli('--data', pairsFile, '--block-size', '6').stderr).toMatch(/1 pair\(s\) left out: the prompt alone fills --block-size 6/);
});

test('prompt-completion examples tokenized on several threads (--dataset-num-proc; by default from 8 MB): the examples of one thread', () => {
  const file = path.join(tmp, 'many-pairs.jsonl');
  const words = torch.data.brownDocuments(['a']).map((d) => d.text).join(' ').split(/\s+/);
  const lines: string[] = [];
  for (let i = 0, bytes = 0; bytes < 8.5 * 2 ** 20; i++) {
    const at = (i * 7919) % (words.length - 80);
    // (every fifth prompt ends in the space: its completion's first word merges with it, TRL's boundary warning)
    const line = JSON.stringify({ prompt: words.slice(at, at + 15).join(' ') + (i % 5 ? '' : ' '), completion: (i % 5 ? ' ' : '') + words.slice(at + 15, at + 16 + (i % 60)).join(' ') }) + '\n';
    lines.push(line);
    bytes += line.length;
  }
  fs.writeFileSync(file, lines.join(''));
  const runs = [['--dataset-num-proc', '1'], ['--dataset-num-proc', '2'], []].map((flags) => cli('--data', file, '--block-size', '32', '--json', '--show', '3', '--no-dataset-cache', ...flags));
  for (const r of runs) expect([r.stderr, r.stdout]).toEqual([runs[0].stderr, runs[0].stdout]);
  expect(runs[0].stderr).toMatch(/many-pairs\.jsonl: \d+ example\(s\) whose prompt's tokens are not the start/);
  const dropped = Number(/(\d+) example\(s\) left out whose prompt fills/.exec(runs[0].stderr)?.[1] ?? 0);
  const out = JSON.parse(runs[0].stdout), first = JSON.parse(lines[0]);
  expect([out.kind, out.items]).toEqual(['examples', lines.length - dropped]);
  expect(out.shown[0].ids).toEqual(torch.tokenizer.encode(first.prompt + first.completion + '<|endoftext|>').slice(0, 32));

  // Cached as a long text's tokens are: the next run reads the examples from the cache, neither the file nor the tokenizer
  // (a cache folder of its own, the next test counting the entries of its own)
  const shared = process.env.TSTORCH_CACHE;
  process.env.TSTORCH_CACHE = path.join(tmp, 'cache-examples');
  try {
    cachedExamples(file, runs, out);
  } finally {
    process.env.TSTORCH_CACHE = shared;
  }
});

function cachedExamples(file: string, runs: { stderr: string; stdout: string }[], out: { items: number; tokens: number }): void {
  const cacheDir = path.join(tmp, 'cache-examples', 'tokenized');
  const entries = () => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).filter((n) => n.endsWith('.ids')) : []);
  const before = entries().length;
  const run = (...flags: string[]) => cli('--data', file, '--block-size', '32', '--json', '--show', '3', ...flags);
  const made = run();
  expect([made.stderr, made.stdout]).toEqual([runs[0].stderr, runs[0].stdout]);
  expect(entries().length).toBe(before + 1);
  const again = run();
  expect(again.stdout).toBe(runs[0].stdout);
  // (what the run says of its examples is said again, after where they came from)
  const [said, ...rest] = again.stderr.split('\n');
  expect(said).toMatch(/many-pairs\.jsonl: the tokens of its \d+ prompt-completion examples read from the cache \(.*\.ids; --overwrite-cache tokenizes again/);
  expect(said).toContain(`its ${out.items} prompt-completion examples`);
  expect(rest.join('\n')).toBe(runs[0].stderr);
  const listed = JSON.parse(spawnSync(process.execPath, [bin, 'cache', '--json'], { encoding: 'utf8', env: process.env }).stdout);
  expect(listed.entries.some((e: { tokens: number; sources: string[] }) => e.sources.includes(file) && e.tokens === out.tokens)).toBe(true);
  // another block size, or --no-packing's texts: other examples, made anew; --overwrite-cache makes them again
  expect(cli('--data', file, '--block-size', '48', '--show', '0').stderr).not.toMatch(/read from the cache/);
  expect(entries().length).toBe(before + 2);
  const over = run('--overwrite-cache');
  expect([over.stderr, over.stdout]).toEqual([runs[0].stderr, runs[0].stdout]);
  // a damaged entry: found, tokenized again, replaced
  const entry = /\((\/.*\.ids);/.exec(again.stderr)![1];
  const bytes = fs.readFileSync(entry);
  bytes[bytes.length - 5] ^= 0xff;
  fs.writeFileSync(entry, bytes);
  const mended = run();
  expect(mended.stderr).toMatch(/the cache's entry for its examples was damaged \(.*\.ids\); tokenized again and replaced/);
  expect(mended.stdout).toBe(runs[0].stdout);
  expect(run().stderr).toMatch(/read from the cache/);
}

test('a long text\'s tokens are cached (as HF\'s datasets caches): read back by the next run; made again when the file changes, with --overwrite-cache, or where the entry is damaged', () => {
  const file = path.join(tmp, 'cached.txt');
  const brown = torch.data.brownDocuments(['b']).map((d) => d.text).join('\n\n') + '\n\n';
  fs.writeFileSync(file, brown.repeat(Math.ceil((8.2 * 2 ** 20) / brown.length)));
  const cacheDir = path.join(tmp, 'cache', 'tokenized');
  const entries = () => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).filter((n) => n.endsWith('.ids')) : []);
  const run = (...flags: string[]) => cli('--data', file, '--block-size', '64', '--json', '--show', '2', ...flags);
  const first = run();
  expect(first.stderr).toBe('');
  expect(entries()).toHaveLength(1);
  const second = run();
  expect(second.stderr).toMatch(/cached\.txt: tokens read from the cache \(.*\.ids; --overwrite-cache tokenizes again/);
  expect(second.stdout).toBe(first.stdout);
  const wholeIds = torch.tokenizer.encode(fs.readFileSync(file, 'utf8'));
  expect(JSON.parse(second.stdout).shown[1].ids).toEqual(wholeIds.slice(64, 128));
  const again = run('--overwrite-cache');
  expect([again.stderr, again.stdout]).toEqual(['', first.stdout]);
  // another block size reads the same tokens
  expect(cli('--data', file, '--block-size', '32', '--show', '0').stderr).toMatch(/tokens read from the cache/);
  // a flipped byte in the entry: found, tokenized again, replaced
  const entry = path.join(cacheDir, entries()[0]);
  const bytes = fs.readFileSync(entry);
  bytes[bytes.length - 1] ^= 1;
  fs.writeFileSync(entry, bytes);
  const mended = run();
  expect(mended.stderr).toMatch(/the cache's entry for its tokens was damaged .*tokenized again and replaced/);
  expect(mended.stdout).toBe(first.stdout);
  expect(run().stderr).toMatch(/tokens read from the cache/);
  // the file changed: tokenized again (a second entry); --no-dataset-cache neither reads nor writes
  fs.appendFileSync(file, 'One more line of news.\n');
  const changed = run();
  expect(changed.stderr).toBe('');
  expect(JSON.parse(changed.stdout).tokens).toBeGreaterThanOrEqual(JSON.parse(first.stdout).tokens);
  expect(entries()).toHaveLength(2);
  fs.appendFileSync(file, 'And another.\n');
  expect(run('--no-dataset-cache').stderr).toBe('');
  expect(entries()).toHaveLength(2);
  // tstorch cache lists them (the file they came from, their tokens) and clears them
  const tstorch = (...args: string[]) => spawnSync(process.execPath, [bin, 'cache', ...args], { encoding: 'utf8', env: process.env });
  const listed = JSON.parse(tstorch('--json').stdout);
  expect(listed.dir).toBe(cacheDir);
  expect(listed.entries.map((e: { sources: string[] }) => e.sources)).toEqual([[path.resolve(file)], [path.resolve(file)]]);
  const counts = listed.entries.map((e: { tokens: number }) => e.tokens).sort();
  expect(counts[0]).toBe(wholeIds.length);
  expect(counts.map((n: number) => n - (n % 64))).toEqual([JSON.parse(first.stdout).tokens, JSON.parse(changed.stdout).tokens]);
  expect(listed.bytes).toBe(entries().reduce((n, e) => n + fs.statSync(path.join(cacheDir, e)).size, 0));
  expect(tstorch().stdout).toMatch(/2 entries, .* MB\n .* tokens +used \d{4}-\d\d-\d\d +.*cached\.txt/);
  const old = new Date(Date.now() - 10 * 86400e3);
  fs.utimesSync(path.join(cacheDir, entries()[0]), old, old);
  expect(tstorch('--clear', '--older-than', '7').stdout).toMatch(/removed 1 entry \(.* MB\); 1 left/);
  expect(tstorch('--older-than', '7').stderr).toMatch(/give --clear with it/);
  expect(tstorch('--clear').stdout).toMatch(/removed 1 entry .*; 0 left/);
  expect(fs.readdirSync(cacheDir)).toEqual([]);
});

test('two runs tokenizing one text at once (a data-parallel run\'s workers): one tokenizes it, the other waits and reads the cache', async () => {
  const file = path.join(tmp, 'together.txt');
  const brown = torch.data.brownDocuments(['c']).map((d) => d.text).join('\n\n') + '\n\n';
  fs.writeFileSync(file, brown.repeat(Math.ceil((8.2 * 2 ** 20) / brown.length)));
  const { spawn } = await import('child_process');
  const start = () => new Promise<{ out: string; err: string }>((resolve) => {
    const p = spawn(process.execPath, [bin, 'data', '--data', file, '--block-size', '64', '--json', '--show', '1'], { env: process.env });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', () => resolve({ out, err }));
  });
  const [a, b] = await Promise.all([start(), start()]);
  expect(a.out).toBe(b.out);
  expect(cli('--data', file, '--block-size', '64', '--json', '--show', '1', '--no-dataset-cache').stdout).toBe(a.out);
  // (the second waited for the first, or started after it was done: either way it read the cache)
  const stderrs = [a.err, b.err].sort();
  expect(stderrs[0]).toBe('');
  expect(stderrs[1]).toMatch(/^\S*together\.txt: (waiting for (process \d+|another process), tokenizing the same text into the cache \(if no such run is going on, remove \S+\.lock\)\n\S*together\.txt: )?tokens read from the cache/);
}, 120000);
