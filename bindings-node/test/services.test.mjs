// The public view of services: what the status page shows, from `[services.*]`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Monitor } from 'forewarn';
import { closedPortConfig } from './configs.mjs';

const SERVICES = `
[services.sis]
name = "Student Information System"
checks = ["svc"]
impact = "Attendance and grades cannot be entered."
workaround = "Take attendance on paper."
`;

test('services() and publicStatus() show a service down once its check has an incident', async () => {
  const { toml } = await closedPortConfig({ extra: SERVICES });
  const monitor = await Monitor.fromConfig(toml);
  const before = await monitor.services();
  assert.equal(before.length, 1);
  assert.equal(before[0].id, 'sis');
  assert.equal(before[0].name, 'Student Information System');
  assert.notEqual(before[0].state, 'down');

  await monitor.runOnce();
  await monitor.runOnce();
  const [sis] = await monitor.services();
  assert.equal(sis.state, 'down');
  assert.equal(sis.impact, 'Attendance and grades cannot be entered.');
  assert.equal(sis.workaround, 'Take attendance on paper.');
  assert.ok(Array.isArray(sis.availability));
  assert.ok(sis.since && !Number.isNaN(Date.parse(sis.since)), String(sis.since));

  const status = await monitor.publicStatus();
  assert.deepEqual(status.services, [sis]);
  assert.ok(!Number.isNaN(Date.parse(status.generated_at)));
  assert.equal(typeof status.time_zone, 'string');
  // No check names, hosts or probe details in the public view.
  assert.doesNotMatch(JSON.stringify(status), /127\.0\.0\.1|"svc"/);
  assert.ok(Array.isArray(status.incidents) && Array.isArray(status.maintenance));
});

test('without services the public view is empty and there is no outage message', async () => {
  const { toml } = await closedPortConfig();
  const monitor = await Monitor.fromConfig(toml);
  await monitor.runOnce();
  await monitor.runOnce();
  assert.deepEqual(await monitor.services(), []);
  assert.equal(monitor.outageMessage(), null);
});
