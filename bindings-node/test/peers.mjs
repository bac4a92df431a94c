// The tests' real peers and how a test without its peer behaves: it skips with the reason
// locally and fails under CI=true, where every peer must be there.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Whether missing peers are failures (CI) rather than skips. */
export const CI = process.env.CI === 'true';

/**
 * Skips test `t` with `reason` locally, fails it under CI=true. The caller returns right after:
 * `if (!smtp) return skipOrFail(t, 'aiosmtpd is not installed');`
 */
export function skipOrFail(t, reason) {
  if (CI) throw new Error(`peer missing under CI=true: ${reason}`);
  t.skip(reason);
}

/** A fresh temporary folder, removed when the process exits. */
export function tempDir(prefix = 'forewarn-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, read, released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The Python with aiosmtpd: FOREWARN_TEST_PYTHON (bindings-node/test.sh sets it) or python3,
 * when it can import aiosmtpd; `null` otherwise.
 */
export function aiosmtpdPython() {
  for (const python of [process.env.FOREWARN_TEST_PYTHON, 'python3']) {
    if (!python) continue;
    const r = spawnSync(python, ['-c', 'import aiosmtpd'], { stdio: 'ignore' });
    if (!r.error && r.status === 0) return python;
  }
  return null;
}

/**
 * An SMTP server (aiosmtpd) on a free loopback port that keeps every message in a Maildir.
 * Resolves to `{ host, port, maildir, messages(), waitForMessages(n), stop() }`, or `null`
 * when aiosmtpd is not installed (the caller skips or fails with `skipOrFail`).
 */
export async function startSmtp({ timeoutMs = 15000 } = {}) {
  const python = aiosmtpdPython();
  if (!python) return null;
  const maildir = path.join(tempDir('forewarn-smtp-'), 'Maildir');
  const port = await freePort();
  const child = spawn(
    python,
    ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = signal ?? code;
  });
  const kill = () => child.exitCode === null && child.kill('SIGKILL');
  process.once('exit', kill);

  const deadline = Date.now() + timeoutMs;
  while (!(await listening(port))) {
    if (exited !== null) throw new Error(`aiosmtpd exited (${exited}): ${stderr}`);
    if (Date.now() > deadline) {
      kill();
      throw new Error(`aiosmtpd did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
    }
    await sleep(50);
  }

  /** Every message delivered so far, as raw text, oldest first. */
  function messages() {
    const files = [];
    for (const sub of ['new', 'cur']) {
      const dir = path.join(maildir, sub);
      if (!fs.existsSync(dir)) continue;
      for (const name of fs.readdirSync(dir)) {
        const file = path.join(dir, name);
        files.push({ file, mtime: fs.statSync(file).mtimeMs });
      }
    }
    return files.sort((a, b) => a.mtime - b.mtime).map(({ file }) => fs.readFileSync(file, 'utf8'));
  }

  return {
    host: '127.0.0.1',
    port,
    maildir,
    messages,
    /** Waits until at least `n` messages arrived; resolves to them. */
    async waitForMessages(n = 1, waitMs = 15000) {
      const until = Date.now() + waitMs;
      for (;;) {
        const got = messages();
        if (got.length >= n) return got;
        if (Date.now() > until) {
          throw new Error(`${got.length} message(s) arrived within ${waitMs} ms, wanted ${n}`);
        }
        await sleep(100);
      }
    },
    /** Stops the server and waits for it to exit. */
    async stop() {
      process.removeListener('exit', kill);
      if (exited !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 5000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/**
 * A private PostgreSQL on a free loopback port, its data in a temporary folder, with a user
 * `forewarn` (password `password`) owning a database `forewarn`. PostgreSQL refuses to run as
 * root, so as root it runs as the `postgres` user. Resolves to `{ url, password, admin(sql),
 * stop() }`, or `null` when PostgreSQL is not installed (the caller skips or fails with
 * `skipOrFail`); a server that is installed but does not start is an error.
 */
export async function startPostgres() {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(a) - Number(b))
    : [];
  if (versions.length === 0) return null;
  const bin = path.join(root, versions[versions.length - 1], 'bin');
  const asRoot = process.getuid?.() === 0;
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'forewarn-pg-'));
  const dir = path.join(base, 'pg');
  fs.mkdirSync(dir);
  if (asRoot) {
    fs.chmodSync(base, 0o755);
    const r = spawnSync('chown', ['postgres:postgres', dir]);
    if (r.status !== 0) throw new Error(`chown postgres ${dir}: ${r.stderr}`);
  }
  const data = path.join(dir, 'data');
  const port = await freePort();
  const run = (tool, args) => {
    const cmd = asRoot ? ['runuser', '-u', 'postgres', '--', path.join(bin, tool)] : [path.join(bin, tool)];
    const r = spawnSync(cmd[0], [...cmd.slice(1), ...args], { encoding: 'utf8', timeout: 60000 });
    if (r.status !== 0) throw new Error(`${tool} failed: ${(r.stderr || r.error || '').toString().trim()}`);
    return r.stdout;
  };
  const stop = () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    } catch {
      // Already stopped.
    }
    fs.rmSync(base, { recursive: true, force: true });
  };
  const admin = (sql, db = 'forewarn') =>
    run('psql', ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', db, '-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', '-c', sql]).trim();
  run('initdb', ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8']);
  process.once('exit', stop);
  run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
  const password = 'pw-Forewarn-node-7c2';
  admin(`CREATE USER forewarn PASSWORD '${password}'`, 'postgres');
  admin('CREATE DATABASE forewarn OWNER forewarn', 'postgres');
  return {
    url: `postgres://forewarn@127.0.0.1:${port}/forewarn`,
    password,
    admin,
    stop() {
      process.removeListener('exit', stop);
      stop();
    },
  };
}
