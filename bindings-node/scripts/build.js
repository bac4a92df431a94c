#!/usr/bin/env node
// Builds the native addon from source with cargo (run by `npm install`): the `.node` file, its
// loader and its generated type definitions go to `native/`. FOREWARN_NODE_PROFILE=dev makes a
// quick unoptimised build (the test suite's); the default is an optimised release build.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const profile = process.env.FOREWARN_NODE_PROFILE || 'release';

/** @napi-rs/cli's package.json, from the package's folder or the installing project's; `null`. */
function findCli() {
  for (const dir of [root, process.env.INIT_CWD].filter(Boolean)) {
    const file = path.join(dir, 'node_modules', '@napi-rs', 'cli', 'package.json');
    if (fs.existsSync(file)) return file;
  }
  return null;
}

let cliPackage = findCli();
if (!cliPackage) {
  // npm does not install the dependencies of a package installed from a folder (it links the
  // folder): the build tool is installed into the package's own folder, once.
  console.error(`forewarn: installing the build tool (@napi-rs/cli) into ${root}`);
  const npm = process.env.npm_execpath
    ? [process.execPath, [process.env.npm_execpath]]
    : [process.platform === 'win32' ? 'npm.cmd' : 'npm', []];
  const installed = spawnSync(
    npm[0],
    [...npm[1], 'install', '--no-save', '--no-package-lock', '--ignore-scripts', '--omit=dev',
      '--no-audit', '--no-fund'],
    { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' && !process.env.npm_execpath },
  );
  cliPackage = findCli();
  if (installed.status !== 0 || !cliPackage) {
    console.error('forewarn: could not install @napi-rs/cli, which builds the native addon');
    process.exit(1);
  }
}
// The command-line entry of @napi-rs/cli (its `bin`).
const cli = path.join(path.dirname(cliPackage), require(cliPackage).bin.napi);
const args = [
  cli, 'build', '--platform', '--strip',
  '--output-dir', 'native', '--js', 'index.js', '--dts', 'index.d.ts',
  '--manifest-path', 'Cargo.toml', '--package-json-path', 'package.json',
];
if (profile === 'release') args.push('--release');
// Cargo keeps the dev profile's artefacts in `debug/`, where napi looks without a profile.
else if (profile !== 'dev') args.push('--profile', profile);

const which = spawnSync('cargo', ['--version'], { stdio: 'ignore' });
if (which.error || which.status !== 0) {
  console.error('forewarn: building the native addon needs cargo (Rust), see https://rustup.rs');
  process.exit(1);
}
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.error) throw result.error;
process.exit(result.status ?? 1);
