// Monitors made in code: Monitor.builder(), the built-in probes and sinks, and their errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { createRequire } from 'node:module';

import forewarn, { Monitor, MonitorBuilder, probes, sinks, ConfigError } from 'forewarn';

function tempDb() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forewarn-builder-'));
  return path.join(dir, 'forewarn.db');
}

test('the CommonJS and ES module entries export the builder, probes and sinks', () => {
  const cjs = createRequire(import.meta.url)('forewarn');
  assert.equal(cjs.probes, probes);
  assert.equal(cjs.sinks, sinks);
  assert.equal(cjs.MonitorBuilder, MonitorBuilder);
  assert.equal(forewarn.Monitor, Monitor);
  assert.ok(Monitor.builder() instanceof MonitorBuilder);
  for (const name of ['tcp', 'http', 'host', 'postgres', 'mysql', 'redis', 'process', 'printer', 'smart']) {
    assert.equal(typeof probes[name], 'function', name);
  }
  for (const name of ['email', 'webhook', 'log', 'file']) {
    assert.equal(typeof sinks[name], 'function', name);
  }
});

test('a built-in probe runs its check; camelCase keys are the config keys', async (t) => {
  const server = net.createServer((s) => {
    s.on('error', () => {}); // the probe closes without reading
    s.end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const { port } = server.address();
  const monitor = await Monitor.builder()
    .database(tempDb())
    .timeZone('America/Chicago')
    .sink('ops-log', sinks.log({ path: path.join(path.dirname(tempDb()), 'alerts.log') }))
    .check('switch', probes.tcp({ target: `127.0.0.1:${port}`, failureThreshold: 1 }), {
      interval: '30s',
      group: 'Network',
    })
    .group('Network', { description: 'Switches and links' })
    .build();
  assert.ok(monitor.checkNames.includes('switch'));
  const r = (await monitor.runOnce()).find((c) => c.name === 'switch');
  assert.equal(r.status, 'ok');
  assert.equal(r.kind, 'tcp');
  assert.equal(r.group, 'Network');
});

test('a built-in with an invalid setting throws a ConfigError naming it and the key', () => {
  assert.throws(
    () => probes.http({ url: 'http://sis.example.org/', expectStatus: [2000] }),
    (e) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'ERR_FOREWARN_CONFIG');
      assert.equal(e.file, 'forewarn.probes.http');
      assert.equal(e.key, 'expect_status');
      assert.match(e.message, /2000 is not an HTTP status code/);
      return true;
    },
  );
  assert.throws(
    () => probes.tcp({ target: 'x:1', bogus: 1 }),
    (e) => e.code === 'ERR_FOREWARN_CONFIG' && /bogus/.test(e.message),
  );
  assert.throws(
    () => sinks.webhook({ format: 'slack' }),
    (e) => e.code === 'ERR_FOREWARN_CONFIG' && e.file === 'forewarn.sinks.webhook',
  );
  assert.throws(() => probes.tcp({ type: 'http' }), TypeError);
});

test('builder errors carry ERR_FOREWARN_CONFIG, the file <builder> and the key', async () => {
  await assert.rejects(
    Monitor.builder()
      .database(tempDb())
      .check('login', { check: () => ({ status: 'ok' }) }, { interval: 'often' })
      .build(),
    (e) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'ERR_FOREWARN_CONFIG');
      assert.equal(e.file, '<builder>');
      assert.equal(e.key, 'checks[0].interval');
      return true;
    },
  );
  await assert.rejects(
    Monitor.builder()
      .database(tempDb())
      .check('a', probes.tcp({ target: '127.0.0.1:9' }), { dependsOn: ['nowhere'] })
      .build(),
    (e) => e.code === 'ERR_FOREWARN_CONFIG' && /nowhere/.test(e.message) && e.key !== null,
  );
  await assert.rejects(
    Monitor.builder().database(tempDb()).timeZone('Mars/Olympus').build(),
    (e) => e.code === 'ERR_FOREWARN_CONFIG' && e.key === 'monitor.time_zone',
  );
});

test('what is not a probe or a sink is refused when it is added', () => {
  assert.throws(() => Monitor.builder().check('x', { run() {} }), TypeError);
  assert.throws(() => Monitor.builder().check('x', null), TypeError);
  assert.throws(() => Monitor.builder().sink('x', {}), TypeError);
  assert.throws(() => Monitor.builder().check('x', { check() {}, kind: 3 }), /kind is a string/);
});

test('secrets of a built-in never show when it is inspected or serialised', () => {
  const s = sinks.email({
    host: 'smtp.example.org',
    port: 587,
    from: 'forewarn@example.org',
    to: ['ict@example.org'],
    username: 'forewarn',
    password: 'hunter2-secret',
  });
  assert.doesNotMatch(util.inspect(s), /hunter2/);
  assert.doesNotMatch(JSON.stringify(s), /hunter2/);
  assert.match(util.inspect(s), /forewarn\.sinks\.email/);
  assert.equal(s.settings.password, 'hunter2-secret');
});

test('a built monitor with services and broadcasts shows the outage publicly, and a bad broadcasts key is named', async () => {
  const monitor = await Monitor.builder()
    .database(tempDb())
    .timeZone('America/Chicago')
    .check('portal-login', { kind: 'login-page', check: () => ({ status: 'critical', summary: 'HTTP 503' }) })
    .service('school-portal', { name: 'School portal', checks: ['portal-login'], impact: 'Nobody can sign in.' })
    .broadcasts({ delay: '0s' })
    .build();
  await monitor.runOnce();
  await monitor.runOnce();
  const pub = await monitor.publicStatus();
  assert.equal(pub.time_zone, 'America/Chicago');
  assert.deepEqual(
    pub.services.map((s) => [s.id, s.name, s.state, s.impact]),
    [['school-portal', 'School portal', 'down', 'Nobody can sign in.']],
  );
  assert.equal(pub.incidents.length, 1, JSON.stringify(pub.incidents));
  assert.ok(!JSON.stringify(pub).includes('portal-login'), 'the public view names no check');

  await assert.rejects(
    Monitor.builder().database(tempDb()).broadcasts({ dealy: '0s' }).build(),
    (e) => e instanceof ConfigError && e.code === 'ERR_FOREWARN_CONFIG' && /dealy/.test(e.message),
  );
});
