// The README's TypeScript examples are type-checked against the library as it is: a renamed
// function, a changed option or a wrong call form in them fails here. Each block compiles as its
// own module, with `tstorch` resolved to lib/ and the names it takes as given declared below.
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

const root = path.join(__dirname, '..');

// What each block takes as given (the text it trains on, the tensors it indexes, ...), by a line
// of the block that says which block it is.
const GIVEN: [string, string][] = [
  ["import * as torch from 'tstorch';", 'declare const text: string;'],
  ["x.index('1:3', null, '::2');", 'declare const x: torch.Tensor, idx: torch.Tensor, idx2: torch.Tensor, v: torch.Tensor, a: torch.Tensor, b: torch.Tensor, A: torch.Tensor, loss: torch.Tensor;'],
  ['const loader = new torch.data.DataLoader(', 'declare const images: torch.Tensor, labels: torch.Tensor, net: torch.nn.Sequential;'],
  ['class Exp extends torch.autograd.Function {', 'declare const x: torch.Tensor, layer: torch.nn.Linear, acts: torch.Tensor[];'],
  ['const dist = new torch.distributions.Categorical(', 'declare const policy: torch.nn.Linear, state: torch.Tensor, reward: torch.Tensor;'],
];

/** The README's ts blocks, each with the README line of its first line. */
function readmeBlocks(): { block: string; firstLine: number }[] {
  const text = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => ({ block: m[1], firstLine: text.slice(0, m.index).split('\n').length + 1 }));
}

test("the README's TypeScript examples type-check against the library", () => {
  const blocks = readmeBlocks();
  expect(blocks.length).toBe(GIVEN.length);
  const files = new Map<string, string>();
  const firstLines = new Map<string, number>();
  blocks.forEach(({ block, firstLine }, i) => {
    const given = GIVEN.find(([line]) => block.includes(line));
    if (!given) throw new Error(`README block ${i + 1} is new: say what it takes as given in GIVEN (test/readme.test.ts)`);
    // (the block's own import of tstorch is replaced by one of lib/; its statements run in an async
    // function, as the tour's top-level awaits need)
    const body = block.replace(/^import \* as torch from 'tstorch';.*$/m, '');
    const file = path.join(root, 'test', `readme_block_${i + 1}.ts`);
    firstLines.set(file, firstLine);
    files.set(file, `import * as torch from '../lib';\n${given[1]}\nexport async function main(): Promise<void> {\n${body}\n}\n`);
  });

  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
    strict: true, esModuleInterop: true, skipLibCheck: true, noEmit: true, types: ['node'],
    lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
    // (a block may declare what it does not use afterwards)
    noUnusedLocals: false,
  };
  const host = ts.createCompilerHost(options);
  const real = { getSourceFile: host.getSourceFile, fileExists: host.fileExists, readFile: host.readFile };
  host.fileExists = (f) => files.has(path.resolve(f)) || real.fileExists(f);
  host.readFile = (f) => files.get(path.resolve(f)) ?? real.readFile(f);
  host.getSourceFile = (f, lang, ...rest) => {
    const virtual = files.get(path.resolve(f));
    return virtual !== undefined ? ts.createSourceFile(f, virtual, lang) : real.getSourceFile(f, lang, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  const problems = ts.getPreEmitDiagnostics(program)
    .filter((d) => d.file && files.has(path.resolve(d.file.fileName)))
    .map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      // (the block's first line is the file's fourth)
      return `README.md:${firstLines.get(path.resolve(d.file!.fileName))! + line - 3}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  expect(problems).toEqual([]);
  // (and the library itself compiled with them: an error there would hide one here)
  expect(ts.getPreEmitDiagnostics(program).filter((d) => !d.file || !files.has(path.resolve(d.file.fileName))).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
});
