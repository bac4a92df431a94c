// Validating configs, and the ConfigError naming file, line, column and key.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, ForewarnError, Monitor, validateConfig } from 'forewarn';
import { closedPortConfig } from './configs.mjs';

test('validateConfig counts the checks of TOML text and of a file', async () => {
  const { dir, toml } = await closedPortConfig();
  const two = toml + '\n[[checks]]\nname = "web"\ntype = "tcp"\ntarget = "127.0.0.1:9"\n';
  assert.equal(validateConfig(toml), 1);
  assert.equal(validateConfig(two), 2);
  const file = path.join(dir, 'forewarn.toml');
  fs.writeFileSync(file, two);
  assert.equal(validateConfig(file), 2);
});

test('a bad config file is a ConfigError with its file, line, column and key', async () => {
  const { dir, toml } = await closedPortConfig();
  const file = path.join(dir, 'bad.toml');
  // The check's interval, whose value is not a duration.
  const lines = toml.split('\n');
  const at = lines.findIndex((l) => l.startsWith('interval'));
  lines[at] = 'interval = "every so often"';
  fs.writeFileSync(file, lines.join('\n'));
  let caught;
  try {
    validateConfig(file);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ConfigError && caught instanceof ForewarnError);
  assert.equal(caught.code, 'ERR_FOREWARN_CONFIG');
  assert.equal(caught.file, file);
  assert.equal(caught.line, at + 1);
  assert.equal(caught.column, 'interval = '.length + 1);
  assert.match(caught.message, /every so often|duration|interval/);
});

test('a missing key names its line and column; the same from TOML text', () => {
  const toml = '[monitor]\ndatabase = "x.db"\n\n[[checks]]\nname = "svc"\ntarget = "127.0.0.1:9"\n';
  assert.throws(() => validateConfig(toml), (e) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.line, 4);
    assert.equal(e.column, 1);
    assert.match(e.message, /type/);
    return true;
  });
});

test('Monitor.fromConfig rejects an unknown key with a ConfigError naming it', async () => {
  const { toml } = await closedPortConfig();
  await assert.rejects(Monitor.fromConfig(toml + 'colour = "blue"\n'), (e) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.ok(e.line > 0, `line ${e.line}`);
    assert.match(e.message, /colour/);
    return true;
  });
});
