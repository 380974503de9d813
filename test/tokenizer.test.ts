// Hugging Face tokenizer files written by tstorch (vocab.json, merges.txt, ...), checked by an
// independent BPE (OpenAI's encoder.py algorithm, in Python) that reads only those files.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';

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
