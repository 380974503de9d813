// What holding a reply to JSON, a pattern, a choice, a grammar or a structural tag costs (tstorch
// against itself; no Python reference holds a reply to a grammar here): GPT-2 124M (random weights)
// greedy generation of 48 new tokens, plain, held to any JSON object, to a schema (a pattern and
// integer bounds among its properties; again with a number's bounds), to a regular expression, to a
// choice, to an EBNF grammar, and to a structural tag (one tool call of two, its arguments held to
// the schema); each held run twice, the first walking the vocabulary for every state it meets,
// the second finding what those states allow kept.
// Usage: node dist/scripts/bench/json.js [--rounds N]
import * as torch from '../../lib';
import { JsonGrammar } from '../../lib/models/json_constraint';
import { RegexGrammar } from '../../lib/models/regex_constraint';
import { EbnfGrammar } from '../../lib/models/grammar_constraint';
import { StructuralTag } from '../../lib/models/structural_tag';
import { tokenConstraint } from '../../lib/models/token_constraint';
import { median } from './common';

const args = process.argv.slice(2);
const rounds = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : 3;
torch.setNumThreads(1);
torch.manualSeed(0);
const model = new torch.GPT2LMHeadModel({ vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12 });
model.eval();
const tok = torch.tokenizer;
const prompt = tok.encode('The weather in Paris today, as JSON:');
const schema = {
  type: 'object',
  properties: { city: { type: 'string' }, temp: { type: 'number' }, sky: { enum: ['clear', 'cloudy', 'rain'] }, code: { type: 'string', pattern: '^[A-Z]{3}$' }, humidity: { type: 'integer', minimum: 0, maximum: 100 } },
  required: ['city', 'temp', 'sky', 'code', 'humidity'],
};
// (the same with the temperature bounded, as Pydantic's confloat writes it)
const bounded = { ...schema, properties: { ...schema.properties, temp: { type: 'number', minimum: -90, exclusiveMaximum: 60.5 } } };
// (a pattern long enough to take the 48 tokens: a date, a time, and words)
const pattern = '(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} [a-z]+( [a-z]+){0,40}\\.)';
// (a grammar of nested key-value lists, as a GBNF user writes one)
const ebnf = 'root ::= "{" pair (", " pair)* "}"\npair ::= "\\"" [a-z]+ "\\": " value\nvalue ::= [0-9]+ | "\\"" [a-zA-Z ]* "\\"" | root\n';
// (a tool call, as vLLM's structural tags write one: one of two functions, its arguments held to its schema)
const toolCall = { type: 'structural_tag', format: { type: 'triggered_tags', triggers: ['<function='], at_least_one: true, stop_after_first: true, tags: [
  { begin: '<function=get_weather>', content: { type: 'json_schema', json_schema: schema }, end: '</function>' },
  { begin: '<function=get_time>', content: { type: 'json_schema', json_schema: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] } }, end: '</function>' }] } };
const choices = ['clear skies', 'cloudy with a chance of rain', 'heavy rain', 'snow', 'fog in the morning, then sun'];

/** Milliseconds a new token for one generation, held to `grammar` where given (a new constraint: what states allow is kept per tokenizer, across constraints). */
function time(grammar?: JsonGrammar | RegexGrammar | EbnfGrammar | StructuralTag): number {
  const options: torch.GenerateOptions = { maxNewTokens: 48, doSample: false, eosTokenId: 50256 };
  if (grammar) {
    const allowed = tokenConstraint(tok, 50257, [50256], grammar.machine());
    options.prefixAllowedTokensFn = (_batch, ids) => allowed(ids.slice(prompt.length));
  }
  const t = performance.now();
  const [out] = model.generate([prompt], options);
  return (performance.now() - t) / (out.length - prompt.length);
}

time(); // (warm-up)
const rows: Record<string, number[]> = { plain: [], 'json_object, first': [], 'json_object, kept': [], 'schema, first': [], 'schema, kept': [], 'bounded number, first': [], 'bounded number, kept': [], 'regex, first': [], 'regex, kept': [], 'choice, first': [], 'choice, kept': [], 'grammar, first': [], 'grammar, kept': [], 'structural tag, first': [], 'structural tag, kept': [] };
for (let r = 0; r < rounds; r++) {
  rows.plain.push(time());
  // (a grammar compiled afresh has new states, so they are walked again; any object's nodes are
  // shared, so what its states allow stays kept after the first round)
  const object = JsonGrammar.object(), bySchema = JsonGrammar.fromSchema(schema);
  if (r === 0) rows['json_object, first'].push(time(object));
  rows['json_object, kept'].push(time(object));
  rows['schema, first'].push(time(bySchema));
  rows['schema, kept'].push(time(bySchema));
  const byBounds = JsonGrammar.fromSchema(bounded);
  rows['bounded number, first'].push(time(byBounds));
  rows['bounded number, kept'].push(time(byBounds));
  const byPattern = RegexGrammar.fromPattern(pattern), byChoice = RegexGrammar.choice(choices);
  rows['regex, first'].push(time(byPattern));
  rows['regex, kept'].push(time(byPattern));
  rows['choice, first'].push(time(byChoice));
  rows['choice, kept'].push(time(byChoice));
  const byGrammar = EbnfGrammar.fromText(ebnf);
  rows['grammar, first'].push(time(byGrammar));
  rows['grammar, kept'].push(time(byGrammar));
  const byTag = StructuralTag.fromSpec(toolCall);
  rows['structural tag, first'].push(time(byTag));
  rows['structural tag, kept'].push(time(byTag));
}
const plain = median(rows.plain);
console.log('| run | ms a new token (median) | vs plain |\n|---|---|---|');
for (const [name, ms] of Object.entries(rows)) console.log(`| ${name} | ${median(ms).toFixed(1)} | ${(median(ms) / plain).toFixed(2)} |`);
