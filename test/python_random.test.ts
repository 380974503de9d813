// lib/data/python_random.ts against CPython's random module: the same draws from the same
// integer seeds (small, zero, negative, wider than 32 bits), through every method ported programs use.
import { PythonRandom } from '../lib/data/python_random';
import { pythonJson } from './helpers';

test('PythonRandom draws what CPython\'s random.Random draws: randint, random, getrandbits, randrange, choice, shuffle, for seeds of every width', () => {
  const seeds = [1, 0, -7, 2 ** 40 + 12345, 123456789];
  const draw = (r: { randint(a: number, b: number): number; random(): number; getrandbits(k: number): number; randrange(a: number, b?: number): number; choice<T>(s: ArrayLike<T>): T; shuffle<T>(x: T[]): void }) => {
    const out: unknown[] = [];
    for (let i = 0; i < 50; i++) out.push(r.randint(0, 9));
    for (let i = 0; i < 10; i++) out.push(r.random());
    for (const k of [1, 7, 31, 32, 33, 40, 53]) out.push(r.getrandbits(k));
    out.push(r.randrange(1000003), r.randrange(-5, 5), r.randint(5, 5), r.randint(0, 2 ** 40), r.choice('abcdef'));
    const xs = Array.from({ length: 20 }, (_, i) => i);
    r.shuffle(xs);
    out.push(xs);
    return out;
  };
  const want = pythonJson<unknown[][]>(`
import json, random
out = []
for s in ${JSON.stringify(seeds)}:
    r = random.Random(s)
    o = [r.randint(0, 9) for _ in range(50)] + [r.random() for _ in range(10)] + [r.getrandbits(k) for k in (1, 7, 31, 32, 33, 40, 53)]
    o += [r.randrange(1000003), r.randrange(-5, 5), r.randint(5, 5), r.randint(0, 2 ** 40), r.choice('abcdef')]
    xs = list(range(20)); r.shuffle(xs); o.append(xs)
    out.append(o)
print(json.dumps(out))`);
  expect(seeds.map((s) => draw(new PythonRandom(s)))).toEqual(want);
  const r = new PythonRandom(3);
  expect(() => r.randrange(4, 4)).toThrow('randrange: empty range (4, 4)');
  expect(() => r.choice([])).toThrow('choice: cannot choose from an empty sequence');
  expect(() => r.getrandbits(54)).toThrow('getrandbits: k must be an integer in 0..53, got 54');
});
