// A typed status board: a config's checks run once, a check written in TypeScript beside a
// built-in one, and the incidents as they open. `tsc --noEmit --strict` checks it against the
// package's declarations.
import {
  type CheckContext,
  type CheckResult,
  type EventInfo,
  type Observation,
  type Probe,
  type Reading,
  type Status,
  ConfigError,
  Monitor,
  probes,
} from 'forewarn';

/** A one-line description of a structured reading, by its kind. */
function describe(reading: Reading): string {
  switch (reading.kind) {
    case 'http':
      return `HTTP ${reading.status_code}` +
        (reading.cert_days_left !== undefined ? `, certificate ${reading.cert_days_left.toFixed(0)} days` : '');
    case 'database':
      return `${reading.engine} ${reading.role ?? ''}`.trim();
    case 'host':
      return `${reading.cpu_percent.toFixed(0)}% CPU on ${reading.cores} cores`;
    case 'printer':
      return reading.supplies.map((s) => `${s.name} ${s.percent ?? '?'}%`).join(', ');
    case 'disk':
      return reading.disks.map((d) => `${d.device}: ${d.status}`).join(', ');
    case 'custom':
      return JSON.stringify(reading.value);
  }
}

const marks: Record<Status, string> = { ok: '✓', warning: '!', critical: '✗', unknown: '?' };

function line(result: CheckResult): string {
  const extra = result.reading ? ` (${describe(result.reading)})` : '';
  return `${marks[result.status]} ${result.name}: ${result.summary}${extra}`;
}

/** A check of the enrolment portal's login page, written in TypeScript. */
const loginPage: Probe = {
  kind: 'login-page',
  target: 'http://127.0.0.1:9/login',
  async check(ctx: CheckContext): Promise<Observation> {
    const started = performance.now();
    try {
      const response = await fetch(this.target ?? '', { signal: AbortSignal.timeout(ctx.timeout * 1000) });
      const latency = (performance.now() - started) / 1000;
      return {
        status: response.ok ? 'ok' : 'critical',
        summary: `${ctx.check}: HTTP ${response.status}`,
        metrics: { response_time: [latency, 's'] },
        latency,
      };
    } catch (e) {
      return { status: 'critical', summary: `${ctx.check}: ${(e as Error).message}` };
    }
  },
};

async function fromConfig(path: string): Promise<void> {
  let monitor: Monitor;
  try {
    monitor = await Monitor.fromConfig(path);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`${e.file}:${e.line}:${e.column}: ${e.message}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  monitor.on('incidentOpened', (event) => {
    console.log(`opened #${event.incident.id} on ${event.check}: ${event.incident.summary}`);
  });
  for (const result of await monitor.runOnce()) console.log(line(result));
  for (const service of await monitor.services()) {
    console.log(`${service.name}: ${service.state}${service.impact ? ` (${service.impact})` : ''}`);
  }
  monitor.removeAllListeners();
}

async function built(): Promise<void> {
  const monitor = await Monitor.builder()
    .database('forewarn.db')
    .timeZone('America/Chicago')
    .check('sis', probes.http({ url: 'https://sis.example.org/health' }), { interval: '30s', group: 'SIS' })
    .check('login', loginPage, { interval: '5s', failureThreshold: 2, successThreshold: 1 })
    .build();
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 10_000);
  await monitor.start();
  const events: AsyncIterableIterator<EventInfo> = monitor.events({ signal: controller.signal });
  for await (const event of events) {
    if (event.type === 'transition') continue;
    console.log(`${event.type}: ${event.incident.check} is ${event.incident.state}`);
  }
  await monitor.stop();
}

const config = process.argv[2];
(config ? fromConfig(config) : built()).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
