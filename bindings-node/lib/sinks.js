'use strict';
// The built-in sinks, made from settings: `sinks.email({ host, from, to: […] })`.
//
// Each takes exactly the keys of its `[sinks.NAME]` section in a config file (`type` set by
// the function, the name given when the sink is added to a monitor), `rateLimit` (`'20/min'`)
// included, in camelCase or as the config writes them, and is checked when it is made by the
// core's config validation, with the same messages. Secrets (passwords, webhook URLs and
// headers, the acknowledgement secret) are never shown when the sink is inspected.

const native = require('./native');
const { call } = require('./errors');
const { Builtin } = require('./settings');

/** A built-in sink; add it with `MonitorBuilder.sink`. */
class BuiltinSink extends Builtin {
  /** @internal Use the functions of `sinks`. */
  constructor(type, settings, secrets = []) {
    super(`forewarn.sinks.${type}`, type, settings, secrets, (what, json) =>
      call(() => native.validateSink(what, json)),
    );
  }
}

/**
 * Structured log lines (`type = "log"`). Keys: path (default standard output), format,
 * rateLimit.
 * @param {object} [settings]
 */
const log = (settings) => new BuiltinSink('log', settings);

/**
 * A local outbox file of JSON lines (`type = "file"`). Keys: path, rateLimit.
 * @param {object} settings
 */
const file = (settings) => new BuiltinSink('file', settings);

/**
 * A JSON POST: generic, Slack or Teams (`type = "webhook"`). Keys: url (secret: it often holds
 * a token), format, headers (secret), timeout, rateLimit.
 * @param {object} settings
 */
const webhook = (settings) => new BuiltinSink('webhook', settings, ['url', 'headers']);

/**
 * E-mail over SMTP to addresses and distribution lists (`type = "email"`). Keys: host, port,
 * tls, allowPlaintext, username, password (secret), from, replyTo, to, lists, subjectPrefix,
 * statusPageUrl, ackUrlBase, ackSecret (secret), ackValidFor, timeout, caFile, insecure,
 * rateLimit.
 * @param {object} settings
 */
const email = (settings) => new BuiltinSink('email', settings, ['password', 'ack_secret']);

module.exports = { BuiltinSink, log, file, webhook, email };
