'use strict';
// forewarn: proactive IT support for school districts. Monitors (probes, alerts, incidents,
// the public view of services), probes and sinks written in JavaScript, and help-desk mining.

const native = require('./native');
const errors = require('./errors');
const { Monitor, isToml } = require('./monitor');
const { MonitorBuilder } = require('./builder');
const probes = require('./probes');
const sinks = require('./sinks');
const tickets = require('./tickets');

/** The library's version. */
function version() {
  return native.version();
}

/**
 * Validates a config (a file's path or TOML text) without opening anything; returns its
 * number of checks. Throws a `ConfigError` naming file, line, column and key.
 */
function validateConfig(pathOrToml) {
  const toml = isToml(pathOrToml);
  return errors.call(() => native.validateConfig(pathOrToml, !toml));
}

module.exports = {
  version,
  validateConfig,
  Monitor,
  MonitorBuilder,
  probes,
  sinks,
  /** Help-desk mining: `tickets.analyze(exports, options)`, `tickets.generate(out, options)`. */
  tickets,
  ForewarnError: errors.ForewarnError,
  ConfigError: errors.ConfigError,
  InvalidArgumentError: errors.InvalidArgumentError,
  NotFoundError: errors.NotFoundError,
  StoreError: errors.StoreError,
  ConflictError: errors.ConflictError,
  SinkError: errors.SinkError,
  ForewarnIOError: errors.ForewarnIOError,
  StoppedError: errors.StoppedError,
};
