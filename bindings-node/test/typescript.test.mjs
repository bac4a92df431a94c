// The package's TypeScript declarations: the TypeScript example and programs importing the
// package as CommonJS and as an ES module pass `tsc --strict`; a program with a type error
// does not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { skipOrFail } from './peers.mjs';

// The application folder the tests were copied into (or the package, run from the source).
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(path.join(root, 'package.json'));

function tscPath() {
  try {
    const pkg = require.resolve('typescript/package.json');
    return path.join(path.dirname(pkg), require(pkg).bin.tsc);
  } catch {
    return null;
  }
}

/** Runs tsc --noEmit --strict on `files` with Node's module rules; resolves to its result. */
function tsc(files) {
  const r = spawnSync(
    process.execPath,
    [tscPath(), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext',
      '--target', 'es2022', '--types', 'node', '--pretty', 'false', ...files],
    { cwd: root, encoding: 'utf8' },
  );
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A folder inside the application for programs to check, so that 'forewarn' resolves. */
function scratch(t) {
  const dir = fs.mkdtempSync(path.join(root, '.tsc-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const example = [path.join(root, 'examples/node/typed_status.ts'),
  path.join(root, '../examples/node/typed_status.ts')].find((f) => fs.existsSync(f));

test('the TypeScript example passes tsc --strict against the installed package', (t) => {
  if (!tscPath()) return skipOrFail(t, 'typescript is not installed beside the package');
  assert.ok(example, 'examples/node/typed_status.ts is missing');
  const copy = path.join(scratch(t), 'typed_status.ts');
  fs.copyFileSync(example, copy);
  const r = tsc([copy]);
  assert.equal(r.status, 0, r.output);
});

test('an ES module program with named and default imports passes tsc --strict', (t) => {
  if (!tscPath()) return skipOrFail(t, 'typescript is not installed beside the package');
  const file = path.join(scratch(t), 'esm.mts');
  fs.writeFileSync(file, `
import forewarn, { Monitor, NotFoundError, type IncidentInfo, type Status } from 'forewarn';
const monitor: Monitor = await forewarn.Monitor.fromConfig('forewarn.toml');
const open: IncidentInfo[] = await monitor.incidents({ activeOnly: true });
const worst: Status = open[0]?.severity ?? 'ok';
try {
  await monitor.acknowledge(1, 'ana', { note: 'on it' });
} catch (e) {
  if (e instanceof NotFoundError) { const code: 'ERR_FOREWARN_NOT_FOUND' = e.code; void code; }
}
monitor.on('incident', (event) => console.log(event.incident.state === 'open', worst));
console.log(forewarn.version(), Monitor === forewarn.Monitor);
`);
  const r = tsc([file]);
  assert.equal(r.status, 0, r.output);
});

test('a program with type errors fails tsc, naming them', (t) => {
  if (!tscPath()) return skipOrFail(t, 'typescript is not installed beside the package');
  const file = path.join(scratch(t), 'wrong.ts');
  fs.writeFileSync(file, `
import { Monitor, type Status } from 'forewarn';
const fine: Status = 'fine';
async function main(monitor: Monitor) {
  monitor.on('incidentOpened', (event) => event.incident.nope);
  const [result] = await monitor.runOnce();
  if (result.reading?.kind === 'http') console.log(result.reading.engine);
}
void fine; void main;
`);
  const r = tsc([file]);
  assert.notEqual(r.status, 0, 'tsc accepted a program with type errors');
  assert.match(r.output, /wrong\.ts\(3,7\): error TS2322/);
  assert.match(r.output, /wrong\.ts\(5,.*'nope'/);
  assert.match(r.output, /wrong\.ts\(7,.*'engine'/);
});
