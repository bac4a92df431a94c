// A monitor's events (listeners and the async iterator), running in the background, and a
// process with a monitor that has stopped exiting by itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Monitor } from 'forewarn';
import { closedPortConfig, q } from './configs.mjs';

const packageRoot = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Resolves to the first `n` values of `emitter`'s `name` events, or rejects after `ms`. */
function collect(emitter, name, n, ms = 15000) {
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`${got.length} '${name}' event(s) within ${ms} ms, wanted ${n}`));
    }, ms);
    const listener = (event) => {
      got.push(event);
      if (got.length === n) {
        clearTimeout(timer);
        emitter.off(name, listener);
        resolve(got);
      }
    };
    emitter.on(name, listener);
  });
}

test("on('incident') hears an incident opened by runOnce, and its acknowledgement", async () => {
  const { toml } = await closedPortConfig();
  const monitor = await Monitor.fromConfig(toml);
  const transitions = [];
  monitor.on('transition', (e) => transitions.push(e));
  const opened = collect(monitor, 'incident', 1);
  await monitor.runOnce();
  await monitor.runOnce();
  const [event] = await opened;
  assert.equal(event.type, 'incidentOpened');
  assert.equal(event.check, 'svc');
  assert.equal(event.incident.state, 'open');
  assert.equal(event.missed, 0);
  assert.ok(transitions.some((t) => t.type === 'transition' && t.check === 'svc'), 'a transition');

  const updated = collect(monitor, 'incidentUpdated', 1);
  await monitor.acknowledge(event.incident.id, 'ana');
  const [ack] = await updated;
  assert.equal(ack.incident.state, 'acknowledged');
  monitor.removeAllListeners();
});

test('for await over events() gets the incident, and ends on break', async () => {
  const { toml } = await closedPortConfig();
  const monitor = await Monitor.fromConfig(toml);
  const events = monitor.events();
  const runs = (async () => {
    await monitor.runOnce();
    await monitor.runOnce();
  })();
  let opened = null;
  for await (const event of events) {
    if (event.type === 'incidentOpened') {
      opened = event;
      break;
    }
  }
  await runs;
  assert.equal(opened.incident.check, 'svc');
  assert.deepEqual(await events.next(), { value: undefined, done: true });
});

test('events() ends when its signal aborts', async () => {
  const { toml } = await closedPortConfig();
  const monitor = await Monitor.fromConfig(toml);
  const controller = new AbortController();
  const seen = [];
  const loop = (async () => {
    for await (const event of monitor.events({ signal: controller.signal })) seen.push(event.type);
  })();
  await monitor.runOnce();
  controller.abort();
  await loop;
  assert.ok(seen.every((t) => typeof t === 'string'));
});

test('start() runs the checks on their schedule; stop() ends the run', async () => {
  const { toml } = await closedPortConfig({ interval: '1s', failureThreshold: 2 });
  const monitor = await Monitor.fromConfig(toml);
  const opened = collect(monitor, 'incidentOpened', 1, 20000);
  const stopped = once(monitor, 'stopped');
  await monitor.start();
  assert.equal(monitor.running, true);
  try {
    const [event] = await opened;
    assert.equal(event.check, 'svc');
  } finally {
    await monitor.stop();
  }
  await stopped;
  assert.equal(monitor.running, false);
  const [incident] = await monitor.incidents({ activeOnly: true });
  assert.equal(incident.check, 'svc');
});

test('a process that starts and stops a monitor with listeners exits by itself', async () => {
  const { toml } = await closedPortConfig({ interval: '1s' });
  const script = `
    import { Monitor } from 'forewarn';
    const monitor = await Monitor.fromConfig(${q(toml)});
    monitor.on('incident', () => {});
    monitor.on('transition', () => {});
    const events = monitor.events();
    await monitor.start();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await monitor.stop();
    console.log('stopped');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: packageRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
  const [code, signal] = await once(child, 'exit');
  clearTimeout(timer);
  assert.equal(signal, null, `the process did not exit by itself within 20 s: ${out}`);
  assert.equal(code, 0, out);
  assert.match(out, /stopped/);
});
