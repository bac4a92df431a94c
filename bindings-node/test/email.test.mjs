// An incident told by e-mail: a config's email sink delivering to a real SMTP server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Monitor } from 'forewarn';
import { closedPortConfig } from './configs.mjs';
import { skipOrFail, startSmtp } from './peers.mjs';

test('an incident is mailed through a config email sink', async (t) => {
  const smtp = await startSmtp();
  if (!smtp) return skipOrFail(t, 'aiosmtpd is not installed (set FOREWARN_TEST_PYTHON)');
  t.after(() => smtp.stop());
  const { toml } = await closedPortConfig({
    extra: `
[sinks.ict]
type = "email"
host = "127.0.0.1"
port = ${smtp.port}
tls = "none"
from = "forewarn <forewarn@district.example>"
to = ["ict-team@district.example"]

[policies.default]
type = "notify"
sinks = ["ict"]
`,
  });
  const monitor = await Monitor.fromConfig(toml);
  await monitor.runOnce();
  await monitor.runOnce();
  const [incident] = await monitor.incidents({ activeOnly: true });
  assert.ok(incident, 'an incident opened');
  assert.equal(incident.policy, 'default');
  // runOnce delivers what is due; a delivery that failed is retried by the next runs.
  for (let i = 0; smtp.messages().length === 0 && i < 5; i++) await monitor.runOnce();
  const [mail] = await smtp.waitForMessages(1);
  assert.match(mail, /^To: .*ict-team@district\.example/im);
  assert.match(mail, /^From: .*forewarn@district\.example/im);
  assert.match(mail, /^Subject: .*svc/im);
});
