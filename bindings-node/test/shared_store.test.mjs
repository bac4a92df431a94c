// Two monitors of one config on one PostgreSQL database (the district's shared history): one
// leads and runs the check, the other stands by and reads what the leader found; when the
// leader stops, the standby takes over.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Monitor } from 'forewarn';
import { q } from './configs.mjs';
import { skipOrFail, startPostgres } from './peers.mjs';

/** Waits until `f()` (sync or async) is truthy, at most `ms`; fails with `what` otherwise. */
async function until(f, what, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await f()) return;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}

const config = (url, port, instance) =>
  '[monitor]\n' +
  `database = ${q(url)}\n` +
  `instance = ${q(instance)}\n` +
  'lease = "2s"\n\n' +
  '[[checks]]\n' +
  'name = "svc"\n' +
  'type = "tcp"\n' +
  `target = "127.0.0.1:${port}"\n` +
  'interval = "1s"\n' +
  'timeout = "500ms"\n' +
  'failure_threshold = 1\n';

test('two monitors share one PostgreSQL history; the standby takes over when the leader stops', async (t) => {
  const pg = await startPostgres();
  if (!pg) return skipOrFail(t, 'PostgreSQL is not installed (Debian: apt-get install postgresql)');
  const server = net.createServer((s) => s.destroy());
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  process.env.FOREWARN_DATABASE_PASSWORD = pg.password;
  const a = await Monitor.fromConfig(config(pg.url, port, 'a'));
  const b = await Monitor.fromConfig(config(pg.url, port, 'b'));
  const holder = () => pg.admin('SELECT holder FROM leader_lease');
  try {
    await a.start();
    await until(() => holder() === 'a', 'a leads');
    await b.start();
    await until(() => Number(pg.admin('SELECT count(*) FROM observations WHERE status = 0')) > 0, 'an OK observation');
    // The check goes down: one incident, seen by both through the shared store.
    await new Promise((resolve) => server.close(resolve));
    await until(async () => (await a.incidents()).length === 1, 'the leader sees the incident');
    await until(async () => (await b.incidents()).length === 1, 'the standby sees the incident');
    assert.equal(holder(), 'a');
    // The leader stops (it gives the lead up); the standby leads and keeps checking.
    await a.stop();
    await until(() => holder() === 'b', 'b leads');
    const seen = Number(pg.admin('SELECT count(*) FROM observations'));
    await until(() => Number(pg.admin('SELECT count(*) FROM observations')) > seen + 1, 'b checks');
    assert.equal(Number(pg.admin('SELECT count(*) FROM incidents')), 1);
  } finally {
    await b.stop().catch(() => {});
    await a.stop().catch(() => {});
    delete process.env.FOREWARN_DATABASE_PASSWORD;
    pg.stop();
  }
});
