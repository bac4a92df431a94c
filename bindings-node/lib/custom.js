'use strict';
// Probes and sinks written in JavaScript: the calls the native addon makes into them.
//
// A probe is any object with a `check(ctx)` method; a sink is any object with a
// `send(notification)` method (and optionally `healthcheck()`). Either may be plain or `async`.
// The addon calls one function per monitor for its probes and one for its sinks, on Node's own
// thread, and takes its answer (awaiting it when it is a Promise). These functions call the
// user's method, check what it returns, and never throw or reject: they answer
// `{ ok: reading }` (a probe), `{}` (a sink), or
// `{ error: text }` with the stack of what was thrown, which the core turns into an `unknown`
// observation or a failed delivery that the outbox retries.

const util = require('node:util');

/** The statuses a probe may return. */
const STATUSES = new Set(['ok', 'warning', 'critical', 'unknown']);

/** `what` threw (or rejected with) `e`: its stack when it is an Error, else its inspection. */
function raised(what, verb, e) {
  const text = e instanceof Error && typeof e.stack === 'string' ? e.stack : util.inspect(e);
  return `${what} ${verb} ${text}`;
}

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

/**
 * A probe's return value as the addon reads it; throws a TypeError saying what is wrong.
 * @returns {{status: string, summary: string, metrics: {name: string, value: number, unit: string}[], latency?: number}}
 */
function reading(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(
      `returned ${typeOf(value)}, not an object { status, summary, metrics, latency }`,
    );
  }
  const { status, summary = '', metrics = {}, latency = null } = value;
  if (!STATUSES.has(status)) {
    throw new TypeError(
      `returned the status ${util.inspect(status)}: it is one of ok, warning, critical, unknown`,
    );
  }
  if (typeof summary !== 'string') {
    throw new TypeError(`returned a summary that is ${typeOf(summary)}, not a string`);
  }
  if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) {
    throw new TypeError(`returned metrics that are ${typeOf(metrics)}, not an object by name`);
  }
  const list = [];
  for (const [name, m] of Object.entries(metrics)) {
    let number = m;
    let unit = '';
    if (Array.isArray(m)) {
      if (m.length !== 2) {
        throw new TypeError(`returned metric \`${name}\` as an array of ${m.length}, not [value, unit]`);
      }
      [number, unit] = m;
    }
    if (typeof number !== 'number' || !Number.isFinite(number)) {
      throw new TypeError(
        `returned metric \`${name}\` as ${util.inspect(m)}: a metric is a finite number or [number, unit]`,
      );
    }
    if (typeof unit !== 'string') {
      throw new TypeError(`returned metric \`${name}\` with a unit that is ${typeOf(unit)}, not a string`);
    }
    list.push({ name, value: number, unit });
  }
  const out = { status, summary, metrics: list };
  if (latency !== null && latency !== undefined) {
    if (typeof latency !== 'number' || !(latency >= 0) || !Number.isFinite(latency)) {
      throw new TypeError(
        `returned the latency ${util.inspect(latency)}: it is a number of seconds, 0 or more`,
      );
    }
    out.latency = latency;
  }
  return out;
}

/** Whether `v` is a thenable (what an `async` method returns). */
function isThenable(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';
}

/**
 * Calls `fn()` and answers `{ ok: convert(value) }` or `{ error }`, never throwing or
 * rejecting: at once for a plain method, as a Promise for an `async` one.
 */
function answer(what, fn, convert) {
  let result;
  try {
    result = fn();
  } catch (e) {
    return { error: raised(what, 'threw', e) };
  }
  const done = (value) => {
    try {
      return { ok: convert(value) };
    } catch (e) {
      return { error: `${what} ${e instanceof TypeError ? e.message : raised('it', 'threw', e)}` };
    }
  };
  if (!isThenable(result)) return done(result);
  return Promise.resolve(result).then(done, (e) => ({ error: raised(what, 'rejected with', e) }));
}

/**
 * The function the addon calls for every probe of one monitor: `probes` maps check names to
 * the user's probe objects.
 * @param {Map<string, {check: Function}>} probes
 */
function probeCaller(probes) {
  return function callProbe(call) {
    const probe = probes.get(call.check);
    const what = `probe \`${call.check}\``;
    const ctx = { check: call.check, timeout: call.timeout, now: new Date(call.now) };
    return answer(what, () => probe.check(ctx), reading);
  };
}

/** A notification as a sink's `send` receives it (times as `Date`s). */
function notification(n) {
  return {
    id: n.id,
    sink: n.sink,
    key: n.key,
    kind: n.kind,
    incidentId: n.incidentId,
    check: n.check,
    group: n.group ?? null,
    status: n.status,
    subject: n.subject,
    summary: n.summary,
    openedAt: new Date(n.openedAt),
    at: new Date(n.at),
    labels: n.labels ?? {},
    broadcast: n.broadcast ?? null,
  };
}

const delivered = () => null;

/**
 * The function the addon calls for every sink of one monitor: `sinks` maps sink names to the
 * user's sink objects. Without a notification, the call is a health check.
 * @param {Map<string, {send: Function, healthcheck?: Function}>} sinks
 */
function sinkCaller(sinks) {
  return function callSink(call) {
    const sink = sinks.get(call.sink);
    if (call.notification == null) {
      if (typeof sink.healthcheck !== 'function') return {};
      return answer(`the health check of sink \`${call.sink}\``, () => sink.healthcheck(), delivered);
    }
    const n = notification(call.notification);
    return answer(`sink \`${call.sink}\``, () => sink.send(n), delivered);
  };
}

/** A probe object's kind (default `custom`) and target (default empty), read once. */
function describe(name, probe) {
  const out = [];
  for (const [attr, fallback] of [['kind', 'custom'], ['target', '']]) {
    let value = probe[attr] ?? fallback;
    if (typeof value === 'function') value = value.call(probe);
    if (typeof value !== 'string') {
      throw new TypeError(`check \`${name}\`: a probe's ${attr} is a string, not ${typeOf(value)}`);
    }
    out.push(value);
  }
  return { kind: out[0], target: out[1] };
}

module.exports = { probeCaller, sinkCaller, describe, reading };
