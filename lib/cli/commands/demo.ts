// tstorch demo: the seed notebook's experiment end to end (scripts/demo.ts).
import * as fs from 'fs';
import * as path from 'path';
import { root } from '../../loader';
import { Spec } from '../args';
import { SUMMARIES } from '../summaries';

export const summary = SUMMARIES.demo;
export const spec: Spec = {}; // flags are scripts/demo.ts's own; passed through

export async function run(_f: Record<string, unknown>, argv: string[] = []): Promise<void> {
  const script = path.join(root, 'dist', 'scripts', 'demo.js');
  if (!fs.existsSync(script)) throw new Error('the demo script is not built (npm run build)');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  await require(script).demo(argv);
}
