// Benchmark: probes written in JavaScript, run by the monitor through the Node package.
//
// `benches/node.sh` builds the addon in release mode and runs this; by hand, with the addon
// built (`cd bindings-node && node scripts/build.js`):
//
//   node benches/node_probe.mjs [--checks 200] [--seconds 5] [--warmup 5]
//       [--scheduler-checks 25000] [--tcp-checks 1000] [--runs 3]
//       [--example target/release/examples/run_once] [--forewarn target/release/forewarn]
//
// It measures, in one run:
//
// 1. JavaScript probe calls per second: `--checks` checks of a trivial probe (plain and
//    `async`), counted inside the probe, through back-to-back `runOnce()` calls (every check
//    concurrently, the state machine and the history behind each call).
// 2. Capacity through the scheduler: `--scheduler-checks` (25,000) checks of the trivial probe
//    at a 1 s interval (the shortest) under `start()`/`stop()`, an offered load of that many
//    calls per second; the calls served per second are counted inside the probe over
//    `--seconds` after `--warmup`, with the process's CPU time (`process.cpuUsage()`, every
//    thread: Node's and the addon's) → calls per CPU-second, the capacity of one core.
//    Against the same probe method called in a plain JavaScript loop (the JavaScript side's
//    floor) in the same run. And against the same scheduler load of built-in checks: as many
//    `tcp` checks of a closed loopback port at the same interval, measured the same way (their
//    calls are not counted: CPU per call is over the calls offered) → the ratio of a JavaScript
//    probe's CPU per call to a built-in check's.
// 3. 1,000 built-in TCP checks (the config of `benches/python_probe.py`): `Monitor.fromConfig` and
//    `runOnce()` from Node over `--tcp-checks` checks of a loopback listener, against the same
//    through Rust (the `run_once` example: `cargo build --release -p forewarn --example
//    run_once`) on the same config, each step and the whole processes (best of `--runs`, by the
//    whole process's time), and against `forewarn check --config` (probing only: no history, no
//    state machine). The ratios are Node / Rust.
//
// Not part of the test suite.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { Monitor, probes } = createRequire(import.meta.url)(path.join(root, 'bindings-node'));

const { values: opts } = parseArgs({
  options: {
    checks: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '5' },
    'scheduler-checks': { type: 'string', default: '25000' },
    'tcp-checks': { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
    example: { type: 'string' },
    forewarn: { type: 'string' },
  },
});
const checks = Number(opts.checks);
const seconds = Number(opts.seconds);
const warmup = Number(opts.warmup);
const schedulerChecks = Number(opts['scheduler-checks']);
const tcpChecks = Number(opts['tcp-checks']);
const runs = Number(opts.runs);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A trivial probe: counts its calls. */
class Counting {
  calls = 0;
  check() {
    this.calls += 1;
    return { status: 'ok', summary: 'fine' };
  }
}

/** The same, `async`. */
class AsyncCounting extends Counting {
  async check() {
    this.calls += 1;
    return { status: 'ok', summary: 'fine' };
  }
}

/** CPU seconds (user and system) of the whole process so far. */
function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

class Rate {
  constructor(calls, elapsed, cpu) {
    Object.assign(this, { calls, elapsed, cpu });
  }
  get perSecond() {
    return this.calls / this.elapsed;
  }
  get perCpuSecond() {
    return this.cpu > 0 ? this.calls / this.cpu : Infinity;
  }
  toString() {
    const n = (x) => Math.round(x).toLocaleString('en-US').padStart(10);
    return `${n(this.perSecond)} calls/s, ${n(this.perCpuSecond)} calls per CPU-second ` +
      `(${((this.cpu / Math.max(this.calls, 1)) * 1e6).toFixed(1)} µs CPU per call, ` +
      `${(this.cpu / this.elapsed).toFixed(2)} cores busy)`;
  }
}

function tempDb() {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'forewarn-bench-')), 'h.db');
}

async function monitorOf(probe, n) {
  const b = Monitor.builder().database(tempDb());
  for (let i = 0; i < n; i += 1) b.check(`js-${i}`, probe, { interval: '1s', timeout: '800ms' });
  return b.build();
}

async function runOnceRate(probe, n) {
  const monitor = await monitorOf(probe, n);
  await monitor.runOnce(); // warm: the store
  probe.calls = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) await monitor.runOnce();
  return probe.calls / ((performance.now() - started) / 1000);
}

async function measure(probe) {
  const calls = probe.calls;
  const started = performance.now();
  const cpu = cpuSeconds();
  await sleep(seconds * 1000);
  return new Rate(probe.calls - calls, (performance.now() - started) / 1000, cpuSeconds() - cpu);
}

async function schedulerCapacity(probe, n) {
  const monitor = await monitorOf(probe, n);
  await monitor.start();
  try {
    await sleep(warmup * 1000); // the first round, the store's first writes
    return await measure(probe);
  } finally {
    await monitor.stop();
  }
}

/** `n` built-in `tcp` checks of a closed loopback port at 1 s, measured like a JS probe's. */
async function builtinSchedulerCpu(n) {
  const closed = net.createServer();
  await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address();
  await new Promise((resolve) => closed.close(resolve)); // nothing listens there now
  const b = Monitor.builder().database(tempDb());
  const probe = probes.tcp({ target: `127.0.0.1:${port}` });
  for (let i = 0; i < n; i += 1) b.check(`tcp-${i}`, probe, { interval: '1s', timeout: '800ms' });
  const monitor = await b.build();
  await monitor.start();
  try {
    await sleep(warmup * 1000);
    const started = performance.now();
    const cpu = cpuSeconds();
    await sleep(seconds * 1000);
    const elapsed = (performance.now() - started) / 1000;
    return new Rate(n * elapsed, elapsed, cpuSeconds() - cpu); // the calls offered
  } finally {
    await monitor.stop();
  }
}

async function plainLoop(probe, awaited) {
  const ctx = { check: 'js-0', timeout: 0.8, now: new Date() };
  let calls = 0;
  const started = performance.now();
  const cpu = cpuSeconds();
  for (;;) {
    for (let i = 0; i < 1000; i += 1) {
      if (awaited) await probe.check(ctx);
      else probe.check(ctx);
    }
    calls += 1000;
    const elapsed = (performance.now() - started) / 1000;
    if (elapsed >= seconds) return new Rate(calls, elapsed, cpuSeconds() - cpu);
  }
}

console.log(`node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0].model}`);
const plainRunOnce = await runOnceRate(new Counting(), checks);
console.log(`1. plain probe, ${checks} checks, runOnce back to back: ${Math.round(plainRunOnce).toLocaleString('en-US')} calls/s`);
const asyncRunOnce = await runOnceRate(new AsyncCounting(), checks);
console.log(`1. async probe, ${checks} checks, runOnce back to back: ${Math.round(asyncRunOnce).toLocaleString('en-US')} calls/s`);

console.log(`2. plain probe, plain loop:                       ${await plainLoop(new Counting(), false)}`);
const plain = new Counting();
const served = await schedulerCapacity(plain, schedulerChecks);
console.log(`2. plain probe, scheduler, ${schedulerChecks} checks at 1 s: ${served} ` +
  `(${(served.perSecond / schedulerChecks).toFixed(2)} of offered)`);
console.log(`2. async probe, awaited in a plain loop:          ${await plainLoop(new AsyncCounting(), true)}`);
const served2 = await schedulerCapacity(new AsyncCounting(), schedulerChecks);
console.log(`2. async probe, scheduler, ${schedulerChecks} checks at 1 s: ${served2} ` +
  `(${(served2.perSecond / schedulerChecks).toFixed(2)} of offered)`);

const us = (rate) => (rate.cpu / Math.max(rate.calls, 1)) * 1e6;
const builtin = await builtinSchedulerCpu(schedulerChecks);
console.log(`2. built-in tcp checks (closed loopback port), scheduler, ${schedulerChecks} at 1 s: ` +
  `${us(builtin).toFixed(1)} µs CPU per call offered (${(builtin.cpu / builtin.elapsed).toFixed(2)} cores busy)`);
console.log(`2. CPU per call, JavaScript probe / built-in tcp check: plain ${(us(served) / us(builtin)).toFixed(2)}, ` +
  `async ${(us(served2) / us(builtin)).toFixed(2)}`);

// 3. The config of benches/python_probe.py, through Node and through Rust.
function tcpConfig(db, port, n) {
  const lines = ['[monitor]', `database = ${JSON.stringify(db)}`, ''];
  for (let i = 0; i < n; i += 1) {
    lines.push('[[checks]]', `name = "tcp-${i}"`, 'type = "tcp"', `target = "127.0.0.1:${port}"`,
      'timeout = "5s"', '');
  }
  return lines.join('\n');
}

const NODE_PASS = `
const { Monitor } = require(${JSON.stringify(path.join(root, 'bindings-node'))});
(async () => {
  const started = performance.now();
  const monitor = await Monitor.fromConfig(process.argv[2]);
  const built = performance.now();
  const results = await monitor.runOnce();
  const done = performance.now();
  const ok = results.filter((r) => r.name.startsWith('tcp-') && r.status === 'ok').length;
  console.log((built - started) / 1000, (done - built) / 1000, ok);
})();
`;

/** Runs `cmd` (asynchronously: the listener is served meanwhile); seconds and its output. */
function timed(cmd, args, statuses = [0]) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    execFile(cmd, args, { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const elapsed = (performance.now() - started) / 1000;
      const code = error ? error.code : 0;
      if (!statuses.includes(code)) reject(new Error(`${cmd} failed: ${String(stderr).trim()}`));
      else resolve([elapsed, stdout]);
    });
  });
}

async function best(f) {
  let winner = null;
  for (let i = 0; i < runs; i += 1) {
    const r = await f();
    if (winner === null || r[0] < winner[0]) winner = r;
  }
  return winner;
}

function findProgram(given, name) {
  if (given) return given;
  const target = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
  for (const profile of ['release', 'debug']) {
    const candidate = path.join(target, profile, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
}

async function onePass(cmd, args) {
  const [total, out] = await timed(cmd, args);
  const [build, pass, ok] = out.trim().split(/\s+/).map(Number);
  if (ok !== tcpChecks) throw new Error(`${cmd}: only ${ok} checks ok`);
  return [total, build, pass];
}

const ms = (x) => (x * 1000).toFixed(1);
console.log(`3. ${tcpChecks} built-in TCP checks of a loopback listener, best of ${runs}`);
const listener = net.createServer((conn) => conn.destroy());
await new Promise((resolve) => listener.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
try {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forewarn-bench-'));
  const config = path.join(dir, 'tcp.toml');
  fs.writeFileSync(config, tcpConfig(path.join(dir, 'h.db'), listener.address().port, tcpChecks));
  const script = path.join(dir, 'pass.cjs');
  fs.writeFileSync(script, NODE_PASS);
  const [jsTotal, jsBuild, jsPass] = await best(() => onePass(process.execPath, [script, config]));
  console.log(`3. Node process: ${ms(jsTotal).padStart(8)} ms (fromConfig ${ms(jsBuild)} ms, runOnce ${ms(jsPass)} ms)`);
  const example = findProgram(opts.example, 'examples/run_once');
  if (example === null) {
    console.log('3. the run_once example not found (build it: cargo build --release -p forewarn --example run_once)');
  } else {
    const [rsTotal, rsBuild, rsPass] = await best(() => onePass(example, [config]));
    console.log(`3. Rust process: ${ms(rsTotal).padStart(8)} ms (from_config ${ms(rsBuild)} ms, run_once ${ms(rsPass)} ms) (${example})`);
    console.log(`3. ratio Node / Rust, runOnce alone: ${(jsPass / rsPass).toFixed(2)}; ` +
      `fromConfig: ${(jsBuild / rsBuild).toFixed(2)}; whole processes: ${(jsTotal / rsTotal).toFixed(2)}`);
  }
  const program = findProgram(opts.forewarn, 'forewarn');
  if (program === null) {
    console.log('3. forewarn program not found (build it: cargo build --release --bin forewarn)');
  } else {
    const [checkTotal] = await best(() => timed(program, ['check', '--config', config, '--json'], [0, 1, 2, 3]));
    console.log(`3. forewarn check: ${ms(checkTotal).padStart(8)} ms, probing only (${program})`);
    console.log(`3. ratio Node process / forewarn check: ${(jsTotal / checkTotal).toFixed(2)}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
} finally {
  listener.close();
}
