// Configs of the tests: a TCP check on a port nothing listens on, in a fresh history store.
import path from 'node:path';
import { freePort, tempDir } from './peers.mjs';

/** TOML text with a string value quoted. */
export const q = (s) => JSON.stringify(String(s));

/**
 * A config with one TCP check `svc` on a closed loopback port (critical at every run), in a
 * fresh history store; `extra` is appended (sinks, policies, services).
 */
export async function closedPortConfig({ failureThreshold = 2, interval = '1s', extra = '' } = {}) {
  const dir = tempDir();
  const port = await freePort();
  const database = path.join(dir, 'history.db');
  const toml =
    '[monitor]\n' +
    `database = ${q(database)}\n\n` +
    '[[checks]]\n' +
    'name = "svc"\n' +
    'type = "tcp"\n' +
    `target = "127.0.0.1:${port}"\n` +
    'timeout = "800ms"\n' +
    `interval = ${q(interval)}\n` +
    `failure_threshold = ${failureThreshold}\n` +
    extra;
  return { dir, port, database, toml };
}
