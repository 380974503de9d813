#!/usr/bin/env node
// npm install hook: use a prebuilt binary when one loads against the libtorch on this machine;
// otherwise build from source with cmake-js against the libtorch that CMakeLists.txt finds.
// Nothing is downloaded. TSTORCH_BUILD_FROM_SOURCE=1 forces the build.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const say = (m) => console.log(`tstorch: ${m}`);

function loads(file) {
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(file)}).buildInfo()`], { encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr.split('\n').find((l) => /Error/.test(l)) || r.stderr.trim()).slice(0, 300);
}

if (process.env.TSTORCH_SKIP_INSTALL) process.exit(0);
const local = path.join(root, 'build', 'Release', 'tstorch.node');
if (!process.env.TSTORCH_BUILD_FROM_SOURCE) {
  if (fs.existsSync(local) && !loads(local)) {
    say('using the local build');
    process.exit(0);
  }
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const found = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.node')) : [];
  const why = [];
  for (const f of found) {
    const err = loads(path.join(dir, f));
    if (!err) {
      say(`using the prebuilt binary prebuilds/${path.basename(dir)}/${f} (no compiler needed)`);
      process.exit(0);
    }
    why.push(`${f}: ${err}`);
  }
  if (found.length) say(`no prebuilt binary loads here:\n  ${why.join('\n  ')}\nbuilding from source instead`);
}
if (!fs.existsSync(path.join(root, 'CMakeLists.txt')) || !fs.existsSync(path.join(root, 'native'))) {
  console.error('tstorch: no usable prebuilt binary and no sources to build from');
  process.exit(1);
}
say('building the addon from source (cmake-js)');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--CDCMAKE_BUILD_TYPE=Release'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('tstorch: the build failed. It needs libtorch, cmake and a C++17 compiler:\n' +
    '  Debian/Ubuntu:  sudo apt-get install libtorch-dev libopenblas0-pthread cmake g++\n' +
    '  or LIBTORCH=/path/to/libtorch, or TSTORCH_PYTHON=/path/to/python-with-torch, then npm rebuild tstorch');
  process.exit(1);
}
