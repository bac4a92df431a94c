'use strict';
// The built-in probes, made from settings: `probes.http({ url, interval: '5s' })`.
//
// Each takes exactly the keys of its `[[checks]]` entry in a config file (`type` set by the
// function, the check's name given when it is added to a monitor), probe keys and check keys
// alike, in camelCase or as the config writes them, and is checked when it is made by the
// core's config validation, with the same messages: an invalid value throws a `ConfigError`
// naming the key. `dependsOn` and `policy` are checked when the monitor is built.
//
// The check keys every probe takes: interval, timeout, group, dependsOn, policy,
// failureThreshold, successThreshold, flapping, owner, location.

const native = require('./native');
const { call } = require('./errors');
const { Builtin } = require('./settings');

/** A built-in probe and its check's settings; add it with `MonitorBuilder.check`. */
class BuiltinProbe extends Builtin {
  /** @internal Use the functions of `probes`. */
  constructor(type, settings, secrets = []) {
    super(`forewarn.probes.${type}`, type, settings, secrets, (what, json) =>
      call(() => native.validateProbe(what, json)),
    );
  }
}

/**
 * A TCP connect, optionally with a banner exchange (`type = "tcp"`).
 * Keys: target (`'host:port'`) or host and port; send, expect, latency, plus the check keys.
 * @param {object} settings
 */
const tcp = (settings) => new BuiltinProbe('tcp', settings);

/**
 * An HTTP(S) request (`type = "http"`).
 * Keys: url, method, body, headers (secret), expectStatus, bodyContains, bodyRegex,
 * bodyNotContains, latency, followRedirects, insecure, certExpiry, basicAuth (secret),
 * bearerToken (secret), plus the check keys.
 * @param {object} settings
 */
const http = (settings) => new BuiltinProbe('http', settings, ['headers', 'basic_auth', 'bearer_token']);

/**
 * This machine's health: CPU, load, memory, swap, disks, temperatures, reboots (`type = "host"`).
 * Keys: cpu, loadPerCore, memoryAvailable, swapUsed, diskFree, diskFreeBytes, mounts,
 * ignoreMounts, temperatureMargin, batteryHealth, reboot, sustained, diskFullWithin, standard,
 * root, plus the check keys.
 * @param {object} [settings]
 */
const host = (settings) => new BuiltinProbe('host', settings);

/**
 * A PostgreSQL query (`type = "postgres"`).
 * Keys: host, port, socket, database, user, password (secret), tls, tlsCaFile, query,
 * statementTimeout, expect, latency, connections, replicationLag, databaseSize, growthPerHour,
 * keepConnection, plus the check keys.
 * @param {object} settings
 */
const postgres = (settings) => new BuiltinProbe('postgres', settings, ['password']);

/**
 * A MariaDB or MySQL query (`type = "mysql"`).
 * Keys: host, port, socket, database, user, password (secret), tls, tlsCaFile, query,
 * statementTimeout, expect, latency, connections, replicationLag, keepConnection, plus the
 * check keys.
 * @param {object} settings
 */
const mysql = (settings) => new BuiltinProbe('mysql', settings, ['password']);

/**
 * A Redis command (`type = "redis"`).
 * Keys: host, port, socket, username, password (secret), database, tls, command, expect,
 * latency, memory, clients, replication, keepConnection, plus the check keys.
 * @param {object} settings
 */
const redis = (settings) => new BuiltinProbe('redis', settings, ['password']);

/**
 * A named process on this machine (`type = "process"`).
 * Keys: nameIs, pattern, min, max, restartWarning, plus the check keys.
 * @param {object} settings
 */
const processProbe = (settings) => new BuiltinProbe('process', settings);

/**
 * A printer over SNMP (Printer-MIB): supplies, trays, jams, doors (`type = "printer"`).
 * Keys: host, port, version, community (secret), user, authProtocol, authPassword (secret),
 * privacyProtocol, privacyPassword (secret), context, requestTimeout, retries, maxRepetitions,
 * thresholds, lowPaperPercent, bypassTrays, wasteLevel, forecast, fullPollEvery,
 * fullPollMaxAge, plus the check keys.
 * @param {object} settings
 */
const printer = (settings) =>
  new BuiltinProbe('printer', settings, ['community', 'auth_password', 'privacy_password']);

/**
 * This machine's disks read with smartctl (`type = "smart"`).
 * Keys: devices, smartctl, wearWarning, wearHorizon, trendWindow, plus the check keys.
 * @param {object} [settings]
 */
const smart = (settings) => new BuiltinProbe('smart', settings);

module.exports = {
  BuiltinProbe,
  tcp,
  http,
  host,
  postgres,
  mysql,
  redis,
  process: processProbe,
  printer,
  smart,
};
