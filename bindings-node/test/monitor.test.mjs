// Running checks once, the incidents they open, and the people's side of an incident:
// acknowledge, note, resolve, with the errors of a missing incident and of a refused change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConflictError, Monitor, NotFoundError } from 'forewarn';
import { closedPortConfig } from './configs.mjs';

test('runOnce: a TCP check on a closed port is critical; the history store is checked too', async () => {
  const { toml, port } = await closedPortConfig();
  const monitor = await Monitor.fromConfig(toml);
  assert.deepEqual(monitor.checkNames, ['svc', 'history-store']);
  const results = await monitor.runOnce();
  const svc = results.find((r) => r.name === 'svc');
  assert.ok(svc, JSON.stringify(results));
  assert.equal(svc.kind, 'tcp');
  assert.equal(svc.target, `127.0.0.1:${port}`);
  assert.equal(svc.status, 'critical');
  assert.match(svc.summary, /refused/);
  assert.ok(!Number.isNaN(Date.parse(svc.at)), svc.at);
  const store = results.find((r) => r.kind === 'history');
  assert.ok(store, `no history store check in ${results.map((r) => r.name)}`);
  assert.equal(store.status, 'ok');
  const health = await monitor.status();
  assert.deepEqual(health.checks.map((c) => c.name), results.map((r) => r.name));
});

test('an incident opens at the second failure (default threshold) and goes through its life', async () => {
  const { toml } = await closedPortConfig();
  const monitor = await Monitor.fromConfig(toml);
  await monitor.runOnce();
  assert.deepEqual(await monitor.incidents(), [], 'one failure opens nothing');
  await monitor.runOnce();
  const [incident] = await monitor.incidents({ activeOnly: true });
  assert.ok(incident, 'the second failure opens an incident');
  assert.equal(incident.check, 'svc');
  assert.equal(incident.state, 'open');
  assert.equal(incident.severity, 'critical');
  assert.equal(incident.updates[0].kind, 'opened');

  const acked = await monitor.acknowledge(incident.id, 'ana', { note: 'on it' });
  assert.equal(acked.state, 'acknowledged');
  assert.equal(acked.acknowledgement.by, 'ana');
  assert.equal(acked.acknowledgement.note, 'on it');
  await assert.rejects(monitor.acknowledge(incident.id, 'ben'), ConflictError);

  const noted = await monitor.note(incident.id, 'ana', 'switch restarted');
  const last = noted.updates.at(-1);
  assert.equal(last.kind, 'note');
  assert.equal(last.message, 'switch restarted');
  assert.equal(last.by, 'ana');

  const resolved = await monitor.resolve(incident.id, 'ana', { note: 'cable replaced' });
  assert.equal(resolved.state, 'resolved');
  assert.ok(resolved.resolvedAt, 'a resolved incident says when');
  assert.deepEqual(await monitor.incidents({ activeOnly: true }), []);
  const all = await monitor.incidents({ check: 'svc', limit: 5 });
  assert.deepEqual(all.map((i) => i.id), [incident.id]);
});

test('a missing incident is a NotFoundError', async () => {
  const { toml } = await closedPortConfig();
  const monitor = await Monitor.fromConfig(toml);
  await assert.rejects(monitor.acknowledge(4242, 'ana'), (e) => {
    assert.ok(e instanceof NotFoundError, String(e));
    assert.equal(e.code, 'ERR_FOREWARN_NOT_FOUND');
    return true;
  });
  await assert.rejects(monitor.note(4242, 'ana', 'x'), NotFoundError);
});

test('starting a running monitor is a ConflictError', async () => {
  const { toml } = await closedPortConfig();
  const monitor = await Monitor.fromConfig(toml);
  await monitor.start();
  try {
    assert.equal(monitor.running, true);
    await assert.rejects(monitor.start(), (e) => {
      assert.ok(e instanceof ConflictError, String(e));
      assert.equal(e.code, 'ERR_FOREWARN_CONFLICT');
      return true;
    });
  } finally {
    await monitor.stop();
  }
  assert.equal(monitor.running, false);
});

test('a new monitor on the same store resumes its open incidents', async () => {
  const { toml } = await closedPortConfig();
  const first = await Monitor.fromConfig(toml);
  await first.runOnce();
  await first.runOnce();
  const [opened] = await first.incidents({ activeOnly: true });
  assert.ok(opened);
  const second = await Monitor.fromConfig(toml);
  const [resumed] = await second.incidents({ activeOnly: true });
  assert.equal(resumed.id, opened.id);
});
