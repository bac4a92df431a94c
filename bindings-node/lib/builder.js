'use strict';
// Monitors made in code: `Monitor.builder()…build()`. The builder only shapes what it is given
// into a config's tables; the core checks and builds them exactly as it does a config file
// (errors are `ConfigError`s naming `<builder>` and the key), with the probes and sinks written
// in JavaScript put in place of their stand-ins.

const native = require('./native');
const { settle } = require('./errors');
const { table } = require('./settings');
const { BuiltinProbe } = require('./probes');
const { BuiltinSink } = require('./sinks');
const { probeCaller, sinkCaller, describe } = require('./custom');

// What a probe or sink written in JavaScript stands for in the assembled config: a valid
// built-in that is never built, so the check and sink keep every setting and name check of the
// config.
const STAND_IN_PROBE = { type: 'tcp', target: '127.0.0.1:9' };
const STAND_IN_SINK = { type: 'log' };

function name(what, n) {
  if (typeof n !== 'string') throw new TypeError(`${what}'s name is a string, not ${typeof n}`);
  return n;
}

/**
 * Builds a `Monitor` from code, as a config file would describe it. Every method returns the
 * builder, so calls chain; `build()` ends the chain. Settings objects take the keys of the
 * matching config section, in camelCase or as the config writes them.
 *
 * @example
 * const monitor = await Monitor.builder()
 *   .database('forewarn.db')
 *   .timeZone('America/Chicago')
 *   .sink('ict', sinks.webhook({ url: 'https://hooks.example.org/ict' }))
 *   .check('sis', probes.http({ url: 'https://sis.example.org/health' }))
 *   .check('queue', { async check(ctx) { return { status: 'ok', summary: 'empty' }; } }, { interval: '1m' })
 *   .build();
 */
class MonitorBuilder {
  #monitor = {};
  #checks = [];
  #sinks = {};
  #policies = {};
  #groups = {};
  #services = {};
  #audiences = {};
  #broadcasts = null;
  #probes = new Map();
  #probeInfo = [];
  #jsSinks = new Map();

  /**
   * Adds check `checkName` run by `probe`: a built-in from `probes`, or any object with a
   * `check(ctx)` method (plain or `async`; optional `kind` and `target` strings name it in
   * listings). `settings` are the check keys of a `[[checks]]` entry (interval, timeout,
   * group, dependsOn, policy, failureThreshold, successThreshold, flapping, owner, location);
   * for a built-in they add to, and win over, the ones it was made with.
   *
   * A probe's `check(ctx)` gets `{ check, timeout (seconds), now (Date) }` and returns (or
   * resolves to) `{ status: 'ok'|'warning'|'critical'|'unknown', summary, metrics, latency }`;
   * metrics map names to numbers or `[number, unit]`, latency is in seconds. A throw, a
   * rejection or an invalid value makes the observation `unknown` with the reason (the stack).
   * @param {string} checkName
   * @param {BuiltinProbe|{check: Function, kind?: string, target?: string}} probe
   * @param {object} [settings]
   * @returns {MonitorBuilder}
   */
  check(checkName, probe, settings) {
    name('a check', checkName);
    const extra = table(`check \`${checkName}\``, settings);
    let entry;
    if (probe instanceof BuiltinProbe) {
      entry = { name: checkName, ...probe.settings, ...extra };
    } else if (probe !== null && typeof probe === 'object' && typeof probe.check === 'function') {
      const { kind, target } = describe(checkName, probe);
      this.#probes.set(checkName, probe);
      this.#probeInfo = this.#probeInfo.filter((p) => p.check !== checkName);
      this.#probeInfo.push({ check: checkName, kind, target });
      entry = { name: checkName, ...STAND_IN_PROBE, ...extra };
    } else {
      throw new TypeError(
        `check \`${checkName}\`: a probe is a forewarn.probes built-in or an object with a ` +
          `check(ctx) method, not ${probe === null ? 'null' : typeof probe}`,
      );
    }
    this.#checks.push(entry);
    return this;
  }

  /**
   * Adds sink `sinkName`: a built-in from `sinks`, or any object with a `send(notification)`
   * method (plain or `async`; resolving means delivered, throwing or rejecting means failed,
   * and the outbox retries it later) and optionally `healthcheck()`. `rateLimit` (`'20/min'`)
   * lets at most so many notifications through per period; the rest wait in the outbox.
   * Without a `policy`, every sink is told of every incident.
   * @param {string} sinkName
   * @param {BuiltinSink|{send: Function, healthcheck?: Function}} sink
   * @param {{rateLimit?: string}} [options]
   * @returns {MonitorBuilder}
   */
  sink(sinkName, sink, { rateLimit } = {}) {
    name('a sink', sinkName);
    this.#jsSinks.delete(sinkName);
    let t;
    if (sink instanceof BuiltinSink) {
      t = sink.settings;
    } else if (sink !== null && typeof sink === 'object' && typeof sink.send === 'function') {
      this.#jsSinks.set(sinkName, sink);
      t = { ...STAND_IN_SINK };
    } else {
      throw new TypeError(
        `sink \`${sinkName}\`: a sink is a forewarn.sinks built-in or an object with a ` +
          `send(notification) method, not ${sink === null ? 'null' : typeof sink}`,
      );
    }
    if (rateLimit !== undefined && rateLimit !== null) t.rate_limit = rateLimit;
    this.#sinks[sinkName] = t;
    return this;
  }

  /**
   * Adds escalation policy `policyName` with the keys of a `[policies.NAME]` section:
   * `{ type: 'notify', sinks: […] }` or `{ type: 'tiered', tiers: [{ after: '0s', sinks: […] }], repeat: '1h' }`.
   * @returns {MonitorBuilder}
   */
  policy(policyName, settings) {
    this.#policies[name('a policy', policyName)] = table(`policy \`${policyName}\``, settings);
    return this;
  }

  /** The policy of checks that name none (default: the one named `default`, or the only one). */
  defaultPolicy(policyName) {
    this.#monitor.default_policy = name('the default policy', policyName);
    return this;
  }

  /**
   * Adds group `groupName` with the keys of a `[groups.NAME]` section (dependsOn, policy,
   * interval, description, standard).
   * @returns {MonitorBuilder}
   */
  group(groupName, settings) {
    this.#groups[name('a group', groupName)] = table(`group \`${groupName}\``, settings);
    return this;
  }

  /**
   * Adds service `key` of the public status page, with the keys of a `[services.KEY]` section.
   * @returns {MonitorBuilder}
   */
  service(key, settings) {
    this.#services[name('a service', key)] = table(`service \`${key}\``, settings);
    return this;
  }

  /**
   * Adds audience `key` (people outside ICT told of outages), with the keys of an
   * `[audiences.KEY]` section.
   * @returns {MonitorBuilder}
   */
  audience(key, settings) {
    this.#audiences[name('an audience', key)] = table(`audience \`${key}\``, settings);
    return this;
  }

  /**
   * How outages are told to audiences and shown publicly, with the keys of the `[broadcasts]`
   * section (`delay`: how long a service is down before it is announced, `district`, …).
   * @returns {MonitorBuilder}
   */
  broadcasts(settings) {
    this.#broadcasts = table('broadcasts', settings);
    return this;
  }

  /** The SQLite history file (default `forewarn.db` in the working directory). */
  database(path) {
    this.#monitor.database = path;
    return this;
  }

  /** The district's time zone, an IANA name (`'America/Chicago'`); times shown to people are in it. */
  timeZone(zone) {
    this.#monitor.time_zone = zone;
    return this;
  }

  /** How many checks may run at once (default 1024). */
  concurrency(n) {
    this.#monitor.concurrency = n;
    return this;
  }

  /** The interval of checks that set none (`'30s'` by default). */
  defaultInterval(interval) {
    this.#monitor.default_interval = interval;
    return this;
  }

  /** The timeout of checks that set none (`'10s'` by default, at most four fifths of the interval). */
  defaultTimeout(timeout) {
    this.#monitor.default_timeout = timeout;
    return this;
  }

  /** How long observations and resolved incidents are kept (`'30d'` by default). */
  retention(retention) {
    this.#monitor.retention = retention;
    return this;
  }

  /**
   * Checks everything added, as a config is checked, opens the history store and restores
   * saved states. Resolves to the `Monitor`; rejects with a `ConfigError` (file `<builder>`,
   * `key` naming the setting) or a `StoreError`.
   * @returns {Promise<import('./monitor').Monitor>}
   */
  async build() {
    const { Monitor } = require('./monitor');
    const config = { monitor: this.#monitor };
    const sections = {
      sinks: this.#sinks,
      policies: this.#policies,
      groups: this.#groups,
      services: this.#services,
      audiences: this.#audiences,
    };
    for (const [k, v] of Object.entries(sections)) if (Object.keys(v).length > 0) config[k] = v;
    if (this.#checks.length > 0) config.checks = this.#checks;
    if (this.#broadcasts) config.broadcasts = this.#broadcasts;
    const nativeMonitor = await settle(
      native.buildMonitor(
        JSON.stringify(config),
        this.#probeInfo,
        [...this.#jsSinks.keys()],
        probeCaller(new Map(this.#probes)),
        sinkCaller(new Map(this.#jsSinks)),
      ),
    );
    return new Monitor(nativeMonitor);
  }
}

module.exports = { MonitorBuilder };
