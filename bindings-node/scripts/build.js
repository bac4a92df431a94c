#!/usr/bin/env node
// Builds the native addon from source with cargo (run by `npm install`): the `.node` file, its
// loader and its generated type definitions go to `native/`. FOREWARN_NODE_PROFILE=dev makes a
// quick unoptimised build (the test suite's); the default is an optimised release build.
'use strict';

const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const profile = process.env.FOREWARN_NODE_PROFILE || 'release';
// The command-line entry of @napi-rs/cli (its `bin`), found through its package.json.
const cliPackage = require.resolve('@napi-rs/cli/package.json', { paths: [root] });
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
