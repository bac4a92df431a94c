'use strict';
// The monitor: built from a config (or a builder), run once or in the background, asked about
// its checks, incidents and services, and a source of events for live banners.

const { EventEmitter } = require('node:events');
const fs = require('node:fs');
const native = require('./native');
const { call, settle, InvalidArgumentError } = require('./errors');

/** The event names a monitor emits, each with the native event types it stands for. */
const EVENTS = {
  event: null,
  transition: ['transition'],
  incident: ['incidentOpened', 'incidentUpdated', 'incidentResolved'],
  incidentOpened: ['incidentOpened'],
  incidentUpdated: ['incidentUpdated'],
  incidentResolved: ['incidentResolved'],
};

/**
 * Whether a config source is TOML text rather than a path: text holds a newline or `=`.
 * A path that exists is always a path.
 */
function isToml(source) {
  if (typeof source !== 'string') {
    throw new InvalidArgumentError('a config is a file path or TOML text (a string)');
  }
  if (fs.existsSync(source)) return false;
  return source.includes('\n') || source.includes('=');
}

/** A monitor of checks, with history, incidents, alerting and the public view of services. */
class Monitor extends EventEmitter {
  /** @internal Wraps a native monitor; use `Monitor.fromConfig` or `Monitor.builder()`. */
  constructor(nativeMonitor) {
    super();
    if (!(nativeMonitor instanceof native.NativeMonitor)) {
      throw new InvalidArgumentError(
        'make a Monitor with Monitor.fromConfig(pathOrToml) or Monitor.builder()…build()',
      );
    }
    this._native = nativeMonitor;
    this._subscription = null;
    this._alive = null;
    this.on('newListener', (name) => {
      if (name in EVENTS && !this._subscription) this._subscribe();
    });
    this.on('removeListener', () => {
      if (this._subscription && !Object.keys(EVENTS).some((n) => this.listenerCount(n) > 0)) {
        this._subscription.close();
        this._subscription = null;
      }
    });
  }

  /**
   * Builds the monitor of a config: a file's path, or TOML text. Opens (or creates) the
   * history store named by `[monitor] database` and restores saved check states and open
   * incidents, so a new monitor resumes where the last one stopped.
   * Rejects with a `ConfigError` (file, line, column, key) for an invalid config.
   */
  static async fromConfig(pathOrToml) {
    const toml = isToml(pathOrToml);
    return new Monitor(await settle(native.openMonitor(pathOrToml, !toml)));
  }

  /**
   * A builder of a monitor made in code: built-in probes and sinks, and probes and sinks
   * written in JavaScript.
   * @returns {import('./builder').MonitorBuilder}
   */
  static builder() {
    const { MonitorBuilder } = require('./builder');
    return new MonitorBuilder();
  }

  /** The names of the checks, in definition order. */
  get checkNames() {
    return this._native.checkNames();
  }

  /** Whether the monitor is running in the background (`start()`). */
  get running() {
    return this._native.running;
  }

  /**
   * Runs every check once, concurrently, through the state machine, incidents and
   * escalation; writes the history, delivers due notifications, and resolves to every check's
   * result (with its metrics and structured reading) in definition order.
   */
  async runOnce() {
    const results = await settle(this._native.runOnce());
    // The pass's events travel by their own queue: one turn of the event loop lets the ones
    // already handed over reach the listeners before the results do.
    await new Promise((resolve) => setImmediate(resolve));
    return results;
  }

  /** Every check's state, the sinks, the outbox and the scheduler. */
  status() {
    return settle(this._native.status());
  }

  /**
   * Incidents, newest first.
   * @param {{activeOnly?: boolean, check?: string, limit?: number}} [options]
   */
  incidents({ activeOnly = false, check = null, limit = 0 } = {}) {
    if (!Number.isInteger(limit) || limit < 0) {
      return Promise.reject(new InvalidArgumentError('limit is 0 (no limit) or a positive integer'));
    }
    return settle(this._native.incidents(activeOnly, check ?? null, limit));
  }

  /**
   * Records that `by` has taken incident `id`: escalation stops and the sinks that were told
   * of it hear who took it. Resolves to the updated incident.
   */
  acknowledge(id, by, { note = null } = {}) {
    return settle(this._native.acknowledge(id, by, note ?? null));
  }

  /** Adds a note by `by` to incident `id`'s timeline. Resolves to the updated incident. */
  note(id, by, text) {
    return settle(this._native.note(id, by, text));
  }

  /** Resolves incident `id` by hand (`by` with an optional note). */
  resolve(id, by, { note = null } = {}) {
    return settle(this._native.resolve(id, by, note ?? null));
  }

  /**
   * The public view of every service, as the status page shows it: state, since when, impact,
   * workaround and 90 days of availability. No check names, hosts or probe details.
   */
  async services() {
    return (await this.publicStatus()).services;
  }

  /** Everything the public status page shows: services, outages, maintenance, outage message. */
  publicStatus() {
    return settle(this._native.publicStatus());
  }

  /** The current outage message (auto-reply subject and body, voicemail words), or `null`. */
  outageMessage() {
    return call(() => this._native.outageMessage());
  }

  /**
   * Starts the monitor in the background: checks on their schedules, alerting, broadcasts and
   * the status page when configured. The process stays alive until `stop()`.
   */
  async start() {
    await settle(this._native.start());
    const alive = this._native.waitStopped().then(
      () => {
        if (this._alive === alive) this._alive = null;
        this.emit('stopped');
      },
      (e) => {
        if (this._alive === alive) this._alive = null;
        const err = require('./errors').fromNative(e);
        if (this.listenerCount('error') > 0) this.emit('error', err);
        else process.emitWarning(`forewarn: the monitor stopped: ${err.message}`);
      },
    );
    this._alive = alive;
  }

  /** Stops the background run gracefully and waits for it; rejects if the run had failed. */
  async stop() {
    await settle(this._native.stop());
    if (this._alive) await this._alive;
  }

  /**
   * Runs the monitor until `stop()` is called or `signal` aborts; rejects if the run fails.
   * @param {{signal?: AbortSignal}} [options]
   */
  async run({ signal } = {}) {
    await this.start();
    const abort = () => {
      this.stop().catch(() => {});
    };
    signal?.addEventListener('abort', abort, { once: true });
    if (signal?.aborted) abort();
    try {
      await settle(this._native.waitStopped());
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  /**
   * The monitor's events from now on, as an async iterator: transitions and incidents opened,
   * updated and resolved, whether the monitor runs in the background or checks run with
   * `runOnce()`. Ends when the iterator is returned from (`break`) or `signal` aborts.
   * @param {{signal?: AbortSignal}} [options]
   */
  events({ signal } = {}) {
    const queue = [];
    const waiting = [];
    let done = false;
    const subscription = this._native.subscribe((event) => {
      if (done) return;
      const w = waiting.shift();
      if (w) w({ value: event, done: false });
      else queue.push(event);
    });
    const finish = () => {
      if (done) return;
      done = true;
      subscription.close();
      for (const w of waiting.splice(0)) w({ value: undefined, done: true });
    };
    signal?.addEventListener('abort', finish, { once: true });
    if (signal?.aborted) finish();
    return {
      next() {
        if (queue.length > 0) return Promise.resolve({ value: queue.shift(), done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => waiting.push(resolve));
      },
      return() {
        finish();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  _subscribe() {
    this._subscription = this._native.subscribe((event) => {
      this.emit('event', event);
      for (const [name, types] of Object.entries(EVENTS)) {
        if (types && types.includes(event.type)) this.emit(name, event);
      }
    });
  }
}

module.exports = { Monitor, isToml };
