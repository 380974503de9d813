#!/usr/bin/env node
// npm run prebuild: copies the built addon into prebuilds/<platform>-<arch>/, named by the
// libtorch it was built against (tstorch.torch-<major.minor>-<cpu|cuXXX>.node) with a JSON
// manifest beside it. npm pack ships prebuilds/; the loader picks the one that loads.
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const built = path.join(root, 'build', 'Release', 'tstorch.node');
if (!fs.existsSync(built)) {
  console.error('prebuild: build/Release/tstorch.node is missing; run npm run build:native first');
  process.exit(1);
}
const info = require(built).buildInfo();
const cuda = info.builtWithCuda ? (process.env.TSTORCH_CUDA_TAG || 'cuda') : 'cpu';
const tag = `torch-${info.torchVersionMajor}.${info.torchVersionMinor}-${cuda}`;
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
fs.mkdirSync(dir, { recursive: true });
fs.copyFileSync(built, path.join(dir, `tstorch.${tag}.node`));
fs.writeFileSync(path.join(dir, `tstorch.${tag}.json`), JSON.stringify({
  torchVersion: info.torchVersion, builtWithCuda: info.builtWithCuda, cxx11Abi: info.cxx11Abi, napi: 8, node: process.version,
}, null, 2) + '\n');
console.log(`prebuild: prebuilds/${process.platform}-${process.arch}/tstorch.${tag}.node`);
