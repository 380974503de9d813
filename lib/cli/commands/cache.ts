// tstorch cache: what the token cache holds (the ids of large texts tokenized by train, eval and
// data), and clearing it: entries are never removed on their own, as HF's datasets' cache files.
import * as torch from '../../index';
import { Spec, UsageError } from '../args';
import { SUMMARIES } from '../summaries';

export const summary = SUMMARIES.cache;
export const spec: Spec = {
  clear: { type: 'boolean', help: 'remove the entries (all, or with --older-than those unused for that long); an entry being made now is kept' },
  'older-than': { type: 'number', help: 'with --clear: only entries not used for this many days' },
  dir: { type: 'string', help: 'the cache folder (default $TSTORCH_CACHE/tokenized, else ~/.cache/tstorch/tokenized)' },
  json: { type: 'boolean', help: 'print one JSON object' },
};

export function run(f: Record<string, unknown>): void {
  const dir = (f.dir as string | undefined) ?? torch.data.tokenCacheDir();
  const days = f['older-than'] as number | undefined;
  if (days !== undefined && !f.clear) throw new UsageError('--older-than says which entries --clear removes: give --clear with it');
  if (days !== undefined && !(days >= 0)) throw new UsageError(`--older-than takes a number of days >= 0, got ${days}`);
  if (f.clear) {
    const { removed, bytes } = torch.data.clearTokenCache({ dir, olderThanDays: days });
    const left = torch.data.tokenCacheEntries({ dir });
    if (f.json) console.log(JSON.stringify({ dir, removed, bytes, left: left.length }));
    else console.log(`${dir}: removed ${removed} entr${removed === 1 ? 'y' : 'ies'} (${size(bytes)}); ${left.length} left`);
    return;
  }
  const entries = torch.data.tokenCacheEntries({ dir });
  const total = entries.reduce((n, e) => n + e.bytes, 0);
  if (f.json) {
    console.log(JSON.stringify({ dir, bytes: total, entries: entries.map((e) => ({ ...e, lastUsed: e.lastUsed.toISOString() })) }));
    return;
  }
  console.log(`${dir}: ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, ${size(total)}`);
  for (const e of entries) {
    const what = e.sources.length ? `${e.sources[0]}${e.sources.length > 1 ? ` (+${e.sources.length - 1} more files)` : ''}` : '(made by an older tstorch: sources not recorded)';
    const tokens = e.tokens === null ? 'damaged' : `${e.tokens.toLocaleString('en-US')} tokens`;
    console.log(`  ${size(e.bytes).padStart(9)}  ${tokens.padStart(20)}  used ${e.lastUsed.toISOString().slice(0, 10)}  ${what}${e.locked ? '  [being made]' : ''}`);
  }
}

function size(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}
