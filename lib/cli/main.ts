#!/usr/bin/env node
// The tstorch command. Each subcommand lives in commands/; errors print one line and exit 1
// (2 for usage errors).
import { helpText, namedAsTyped, parseFlags, Parsed, Spec, UsageError } from './args';
import { saidOnce } from './launch';
import { SUMMARIES } from './summaries';

interface Command {
  summary: string;
  spec: Spec;
  /** returns the exit code where it is not 0 without an error (an interrupted training run's 130) */
  run(flags: Record<string, unknown>, argv?: string[]): Promise<number | void> | number | void;
}

// (keyed as SUMMARIES, so a command and its line in `tstorch --help` come and go together)
const commands: Record<keyof typeof SUMMARIES, () => Command> = {
  info: () => require('./commands/info'),
  eval: () => require('./commands/eval'),
  generate: () => require('./commands/generate'),
  chat: () => require('./commands/chat'),
  serve: () => require('./commands/serve'),
  classify: () => require('./commands/classify'),
  train: () => require('./commands/train'),
  data: () => require('./commands/data'),
  merge: () => require('./commands/merge'),
  run: () => require('./commands/run'),
  demo: () => require('./commands/demo'),
  cache: () => require('./commands/cache'),
};

function usage(): string {
  const lines = ['usage: tstorch <command> [flags]   (tstorch <command> --help for its flags)', '', 'commands:'];
  for (const [name, summary] of Object.entries(SUMMARIES)) lines.push(`  ${name.padEnd(10)} ${summary}`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    const { root } = require('../loader');
    console.log(JSON.parse(require('fs').readFileSync(require('path').join(root, 'package.json'), 'utf8')).version);
    return 0;
  }
  const load = Object.hasOwn(commands, name) ? commands[name as keyof typeof commands] : undefined; // ('tstorch constructor' is no command)
  if (!load) {
    console.error(`tstorch: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  const cmd = load();
  // (demo and run read their own arguments: run's script may take a --help of its own)
  if ((rest.includes('--help') || rest.includes('-h')) && name !== 'demo' && name !== 'run') {
    console.log(helpText(name, cmd.summary, cmd.spec));
    return 0;
  }
  let flags: Parsed = {};
  try {
    flags = name === 'demo' || name === 'run' ? {} : parseFlags(name, rest, cmd.spec);
    if (!['demo', 'run', 'info', 'cache'].includes(name)) require('./commands/common').resolveHubFlags(flags, name);
    return (await cmd.run(flags, rest)) ?? 0;
  } catch (e) {
    const msg = namedAsTyped(flags, (e as Error).message ?? String(e));
    if (saidOnce(msg)) console.error(`tstorch ${name}: ${msg.split('\n')[0]}`);
    if (process.env.TSTORCH_DEBUG) console.error((e as Error).stack);
    return e instanceof UsageError ? 2 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
