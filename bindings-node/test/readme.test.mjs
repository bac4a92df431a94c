// The README's JavaScript example, run as it is written (its login page served by the test).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from './peers.mjs';

const require = createRequire(import.meta.url);
const run = promisify(execFile);

/** The README beside the installed package's source (the package is installed from the repository). */
function readme() {
  const pkg = fs.realpathSync(path.dirname(require.resolve('forewarn/package.json')));
  return fs.readFileSync(path.join(pkg, '..', 'README.md'), 'utf8');
}

/** The README's JavaScript example: the `js` block of the "From Node.js" section. */
function example(text) {
  const section = text.slice(text.indexOf('### From Node.js'));
  const m = section.match(/```js\n([\s\S]*?)```/);
  assert.ok(m, 'the README has a JavaScript example under "From Node.js"');
  return m[1];
}

test("the README's JavaScript example runs: the checks' results and the incident event", async (t) => {
  const code = example(readme());
  assert.ok(code.split('\n').filter((l) => l.trim()).length <= 12, 'the example stays short');
  // The portal's login page, failing.
  const server = http.createServer((_, res) => {
    res.writeHead(503);
    res.end('down for maintenance');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = server.address().port;
  assert.ok(code.includes('127.0.0.1:3000'), 'the example names the portal at 127.0.0.1:3000');
  // Beside the test, so that `forewarn` resolves to the installed package; run in a temporary
  // folder, where its history goes.
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'readme-example.mjs');
  fs.writeFileSync(file, code.replaceAll('127.0.0.1:3000', `127.0.0.1:${port}`));
  t.after(() => fs.rmSync(file, { force: true }));
  const cwd = tempDir('forewarn-readme-');
  const first = await run(process.execPath, [file], { cwd, timeout: 30_000 });
  assert.match(first.stdout, /^ssh: (ok|critical|warning) .+$/m);
  assert.match(first.stdout, /^portal-login: critical login page: 503$/m);
  // The second run resumes from the history: the login page's second failure opens an incident.
  const second = await run(process.execPath, [file], { cwd, timeout: 30_000 });
  assert.match(second.stdout, /^incidentOpened login page: 503$/m);
  assert.match(second.stdout, /^portal-login: critical login page: 503$/m);
});
