// Probes and sinks written in JavaScript, run by the monitor through the native addon.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

import { Monitor } from 'forewarn';

function tempDb() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forewarn-custom-'));
  return path.join(dir, 'forewarn.db');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function byName(results) {
  return Object.fromEntries(results.map((r) => [r.name, r]));
}

test('sync and async probes give their status, summary, metrics and latency', async () => {
  const seen = [];
  const monitor = await Monitor.builder()
    .database(tempDb())
    .check('plain', {
      kind: 'queue',
      target: 'print-queue',
      check(ctx) {
        seen.push(ctx);
        return { status: 'warning', summary: '12 jobs queued', metrics: { jobs: 12, age: [3.5, 's'] } };
      },
    })
    .check('promised', {
      async check() {
        await sleep(10);
        return { status: 'ok', summary: 'login page served', latency: 0.25 };
      },
    }, { interval: '5s', timeout: '2s' })
    .build();
  const r = byName(await monitor.runOnce());
  assert.equal(r.plain.status, 'warning');
  assert.equal(r.plain.summary, '12 jobs queued');
  assert.equal(r.plain.kind, 'queue');
  assert.equal(r.plain.target, 'print-queue');
  const metrics = Object.fromEntries(r.plain.metrics.map((m) => [m.name, m]));
  assert.equal(metrics.jobs.value, 12);
  assert.equal(metrics.age.value, 3.5);
  assert.equal(metrics.age.unit, 's');
  assert.equal(r.promised.status, 'ok');
  assert.equal(r.promised.kind, 'custom');
  assert.equal(r.promised.latency, 0.25);
  assert.equal(seen[0].check, 'plain');
  assert.equal(typeof seen[0].timeout, 'number');
  assert.ok(seen[0].timeout > 0);
  assert.ok(seen[0].now instanceof Date);
});

test('a thrown error or a rejected promise makes the check unknown with the stack', async () => {
  function failDeep() {
    throw new Error('the queue server refused us');
  }
  const monitor = await Monitor.builder()
    .database(tempDb())
    .check('throws', { check: () => failDeep() })
    .check('rejects', {
      async check() {
        await sleep(1);
        throw new RangeError('no answer from the login page');
      },
    })
    .check('throws-string', {
      check() {
        throw 'plain text'; // eslint-disable-line no-throw-literal
      },
    })
    .build();
  const r = byName(await monitor.runOnce());
  assert.equal(r.throws.status, 'unknown');
  assert.match(r.throws.summary, /probe `throws` threw Error: the queue server refused us/);
  assert.match(r.throws.summary, /at failDeep/);
  assert.equal(r.rejects.status, 'unknown');
  assert.match(r.rejects.summary, /probe `rejects` rejected with RangeError: no answer from the login page/);
  assert.match(r.rejects.summary, /\n\s+at /);
  assert.equal(r['throws-string'].status, 'unknown');
  assert.match(r['throws-string'].summary, /threw 'plain text'/);
});

test('an invalid return value makes the check unknown, naming what is wrong', async () => {
  const monitor = await Monitor.builder()
    .database(tempDb())
    .check('nothing', { check: () => undefined })
    .check('bad-status', { check: () => ({ status: 'fine', summary: 'x' }) })
    .check('bad-metric', { async check() { return { status: 'ok', metrics: { jobs: 'many' } }; } })
    .check('bad-latency', { check: () => ({ status: 'ok', latency: -1 }) })
    .build();
  const r = byName(await monitor.runOnce());
  for (const name of ['nothing', 'bad-status', 'bad-metric', 'bad-latency']) {
    assert.equal(r[name].status, 'unknown', name);
    assert.match(r[name].summary, new RegExp(`^probe \`${name}\` returned`), name);
  }
  assert.match(r.nothing.summary, /returned undefined, not an object/);
  assert.match(r['bad-status'].summary, /'fine'.*ok, warning, critical, unknown/);
  assert.match(r['bad-metric'].summary, /metric `jobs`/);
  assert.match(r['bad-latency'].summary, /latency -1/);
});

test('an incident opens after failures and resolves; a JavaScript sink is told of both', async () => {
  let up = false;
  const received = [];
  const monitor = await Monitor.builder()
    .database(tempDb())
    .sink('portal', {
      async send(n) {
        received.push(n);
      },
    })
    .check('login', {
      check: () => (up ? { status: 'ok', summary: 'login works' } : { status: 'critical', summary: 'login page down' }),
    }, { failureThreshold: 2, successThreshold: 1 })
    .build();
  await monitor.runOnce();
  assert.equal((await monitor.incidents({ activeOnly: true })).length, 0, 'one failure is not enough');
  await monitor.runOnce();
  const open = await monitor.incidents({ activeOnly: true });
  assert.equal(open.length, 1);
  assert.equal(open[0].check, 'login');
  up = true;
  await monitor.runOnce();
  assert.equal((await monitor.incidents({ activeOnly: true })).length, 0);
  const kinds = received.map((n) => n.kind);
  assert.deepEqual(kinds, ['opened', 'resolved']);
  const opened = received[0];
  assert.equal(opened.sink, 'portal');
  assert.equal(opened.check, 'login');
  assert.equal(opened.status, 'critical');
  assert.equal(opened.incidentId, open[0].id);
  assert.match(opened.subject, /login/);
  assert.equal(opened.summary, 'login page down');
  assert.ok(opened.openedAt instanceof Date && opened.at instanceof Date);
  assert.equal(typeof opened.id, 'string');
  assert.equal(opened.broadcast, null);
});

test('a failing sink is a failed delivery with the stack, and the outbox retries it', async () => {
  let attempts = 0;
  const delivered = [];
  const monitor = await Monitor.builder()
    .database(tempDb())
    .sink('flaky', {
      send(n) {
        attempts += 1;
        if (attempts === 1) throw new Error('the portal is down');
        delivered.push(n);
      },
    })
    .check('sis', { check: () => ({ status: 'critical', summary: 'down' }) }, { failureThreshold: 1 })
    .build();
  await monitor.runOnce();
  assert.equal(attempts, 1);
  assert.equal(delivered.length, 0);
  const status = await monitor.status();
  assert.equal(status.outbox.retrying, 1);
  assert.match(JSON.stringify(status.sinks), /sink `flaky` threw Error: the portal is down\\n\s+at /);
  const deadline = Date.now() + 10_000;
  while (delivered.length === 0 && Date.now() < deadline) {
    await sleep(300);
    await monitor.runOnce();
  }
  assert.equal(delivered.length, 1, 'the outbox delivered it on a later attempt');
  assert.equal(delivered[0].kind, 'opened');
  assert.equal(attempts, 2);
});

test('the process exits after stop() with JavaScript probes and sinks registered', async () => {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('forewarn');
  const script = `
    const { Monitor } = require(${JSON.stringify(entry)});
    (async () => {
      const monitor = await Monitor.builder()
        .database(${JSON.stringify(tempDb())})
        .sink('js', { async send() {} })
        .check('js', { async check() { return { status: 'critical', summary: 'down' }; } },
               { interval: '1s', failureThreshold: 1 })
        .build();
      await monitor.start();
      await new Promise((r) => setTimeout(r, 1500));
      await monitor.stop();
      console.log('stopped');
    })();
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let stoppedAt = null;
  child.stdout.on('data', (d) => {
    out += d;
    if (stoppedAt === null && out.includes('stopped')) stoppedAt = Date.now();
  });
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the process did not exit within 10 s of starting (stdout: ${out}, stderr: ${err})`));
    }, 10_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const exitedAt = Date.now();
  assert.equal(code, 0, err);
  assert.match(out, /stopped/);
  assert.ok(exitedAt - stoppedAt < 3000, `exited ${exitedAt - stoppedAt} ms after stop()`);
});
