import * as fs from 'fs';

/** A JSON object ({...}): not null, an array, a string or a number. */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A JSON file that must hold an object (configs, checkpoints' state files). Errors name the file,
 * say what is wrong with it (missing, unreadable, not JSON, not an object) and end with `fix`:
 * what the user can do, e.g. fetch the files again.
 */
export function readJsonObject(file: string, context: string, fix: string): Record<string, unknown> {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${context}: cannot read ${file} (${code === 'ENOENT' ? 'no such file' : code ?? (e as Error).message}); ${fix}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new Error(`${context}: ${file} is not valid JSON (${(e as Error).message}); ${fix}`);
  }
  if (!isJsonObject(v)) throw new Error(`${context}: ${file} must hold a JSON object; ${fix}`);
  return v;
}

/** A JSON value with its objects' keys sorted at every level, as Python's json.dumps(sort_keys=True) writes them. */
export function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])]));
}
