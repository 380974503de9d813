// What holding a reply to JSON costs (tstorch against itself; no Python reference holds a reply to
// a grammar here): GPT-2 124M (random weights) greedy generation of 48 new tokens, plain, held to
// any JSON object, and held to a schema; each held run twice, the first walking the vocabulary
// for every state it meets, the second finding what those states allow kept.
// Usage: node dist/scripts/bench/json.js [--rounds N]
import * as torch from '../../lib';
import { JsonGrammar, jsonConstraint } from '../../lib/models/json_constraint';
import { median } from './common';

const args = process.argv.slice(2);
const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 3;
torch.setNumThreads(1);
torch.manualSeed(0);
const model = new torch.GPT2LMHeadModel({ vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 });
model.eval();
const tok = torch.tokenizer;
const prompt = tok.encode('The weather in Paris today, as JSON:');
const schema = { type: 'object', properties: { city: { type: 'string' }, temp: { type: 'number' }, sky: { enum: ['clear', 'cloudy', 'rain'] } }, required: ['city', 'temp', 'sky'] };

/** Milliseconds for one generation, held to `grammar` where given (a new constraint: what states allow is kept per tokenizer, across constraints). */
function time(grammar?: JsonGrammar): number {
  const options: torch.GenerateOptions = { maxNewTokens: 48, doSample: false, eosTokenId: 50256 };
  if (grammar) {
    const allowed = jsonConstraint(tok, 50257, [50256], grammar);
    options.prefixAllowedTokensFn = (_batch, ids) => allowed(ids.slice(prompt.length));
  }
  const t = performance.now();
  model.generate([prompt], options);
  return performance.now() - t;
}

time(); // (warm-up)
const rows: Record<string, number[]> = { plain: [], 'json_object, first': [], 'json_object, kept': [], 'schema, first': [], 'schema, kept': [] };
for (let r = 0; r < rounds; r++) {
  rows.plain.push(time());
  // (a schema compiled afresh has new nodes, so its states are walked again; any object's nodes are
  // shared, so what its states allow stays kept after the first round)
  const object = JsonGrammar.object(), bySchema = JsonGrammar.fromSchema(schema);
  if (r === 0) rows['json_object, first'].push(time(object));
  rows['json_object, kept'].push(time(object));
  rows['schema, first'].push(time(bySchema));
  rows['schema, kept'].push(time(bySchema));
}
const plain = median(rows.plain);
console.log('| run | ms (median) | vs plain |\n|---|---|---|');
for (const [name, ms] of Object.entries(rows)) console.log(`| ${name} | ${median(ms).toFixed(0)} | ${(median(ms) / plain).toFixed(2)} |`);
