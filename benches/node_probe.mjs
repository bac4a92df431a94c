// Benchmark: probes written in JavaScript, run by the monitor through the Node package.
//
// `benches/node.sh` builds the addon in release mode and runs this; by hand, with the addon
// built (`cd bindings-node && node scripts/build.js`):
//
//   node benches/node_probe.mjs [--checks 200] [--seconds 5] [--warmup 5]
//       [--scheduler-checks 25000]
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
//    floor) in the same run.
//
// Not part of the test suite.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { Monitor } = createRequire(import.meta.url)(path.join(root, 'bindings-node'));

const { values: opts } = parseArgs({
  options: {
    checks: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '5' },
    'scheduler-checks': { type: 'string', default: '25000' },
  },
});
const checks = Number(opts.checks);
const seconds = Number(opts.seconds);
const warmup = Number(opts.warmup);
const schedulerChecks = Number(opts['scheduler-checks']);

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
