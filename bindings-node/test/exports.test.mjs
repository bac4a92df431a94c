// The package's entries: the CommonJS and ES module entries give the same objects.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import * as esm from 'forewarn';

const require = createRequire(import.meta.url);
const cjs = require('forewarn');

test('every export of the CommonJS entry is in the ES module entry, the same object', () => {
  const names = Object.keys(cjs);
  assert.ok(names.length >= 10, `exports: ${names}`);
  for (const name of names) {
    assert.ok(name in esm, `${name} is missing from the ES module entry`);
    assert.equal(esm[name], cjs[name], `${name} differs between the entries`);
  }
  const named = Object.keys(esm).filter((n) => n !== 'default');
  assert.deepEqual(named.sort(), names.sort());
  assert.equal(esm.default, cjs);
});

test('the entries export the API', () => {
  for (const name of ['version', 'validateConfig', 'Monitor', 'MonitorBuilder', 'probes', 'sinks',
    'tickets', 'ForewarnError', 'ConfigError',
    'InvalidArgumentError', 'NotFoundError', 'StoreError', 'ConflictError', 'SinkError',
    'ForewarnIOError', 'StoppedError']) {
    assert.ok(name in cjs, `${name} is not exported`);
  }
  for (const name of Object.keys(cjs).filter((n) => n.endsWith('Error') && n !== 'ForewarnError')) {
    assert.ok(new cjs[name]('x') instanceof cjs.ForewarnError, `${name} is a ForewarnError`);
  }
});

test("version() is the package's version", () => {
  const pkg = require('forewarn/package.json');
  assert.equal(cjs.version(), pkg.version);
  assert.match(cjs.version(), /^\d+\.\d+\.\d+/);
});
