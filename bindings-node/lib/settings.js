'use strict';
// Settings given as plain objects, as the tables of a config: the shared base of `probes` and
// `sinks`, and the shaping the builder does. Keys may be written in camelCase
// (`failureThreshold`) or as the config writes them (`failure_threshold`); values are the
// config's (durations as text: `'5s'`, `'2m'`). The core checks them.

const util = require('node:util');

/** What a secret's value shows as. */
const REDACTED = '<redacted>';

/** A key as the config writes it: `failureThreshold` → `failure_threshold`. */
function snake(key) {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * A settings object as one config table: top-level keys in the config's spelling, `null` and
 * `undefined` values left out (nested tables, like HTTP headers, are kept as they are).
 * @param {string} what who is asking, for the error
 * @param {object|undefined} settings
 */
function table(what, settings) {
  if (settings === undefined || settings === null) return {};
  if (typeof settings !== 'object' || Array.isArray(settings)) {
    throw new TypeError(`${what}: settings are an object of keys, not ${Array.isArray(settings) ? 'an array' : typeof settings}`);
  }
  const out = {};
  for (const [key, value] of Object.entries(settings)) {
    if (value !== undefined && value !== null) out[snake(key)] = value;
  }
  return out;
}

/** A built-in probe or sink: its config table, checked by the core when it is made. */
class Builtin {
  #table;
  #what;
  #secrets;

  /** @internal */
  constructor(what, type, settings, secrets, validate) {
    const t = table(what, settings);
    if ('type' in t) {
      throw new TypeError(`${what} sets \`type\` itself ("${type}"); leave it out`);
    }
    const full = { type, ...t };
    validate(what, JSON.stringify(full));
    this.#table = full;
    this.#what = what;
    this.#secrets = new Set(secrets);
  }

  /** What made it (`forewarn.probes.http`). */
  get what() {
    return this.#what;
  }

  /** The settings as the config table holds them (`type` included). Secrets are in it: do not log it. */
  get settings() {
    return JSON.parse(JSON.stringify(this.#table));
  }

  /** Shown with its secrets redacted. */
  [util.inspect.custom](depth, options, inspect) {
    const shown = {};
    for (const [k, v] of Object.entries(this.#table)) {
      if (k !== 'type') shown[k] = this.#secrets.has(k) ? REDACTED : v;
    }
    return `${this.#what}(${inspect(shown, options)})`;
  }

  /** The settings with secrets redacted (so `JSON.stringify` never shows one). */
  toJSON() {
    const shown = {};
    for (const [k, v] of Object.entries(this.#table)) shown[k] = this.#secrets.has(k) ? REDACTED : v;
    return shown;
  }
}

module.exports = { Builtin, table, snake };
