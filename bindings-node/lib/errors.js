'use strict';
// The package's errors. The native addon chooses each error's code from core's error kinds
// (its error.rs, the one mapping); this file only gives each code its class.

const MARK = '\u0001forewarn:';

/** Any error of forewarn; `code` says which kind (`ERR_FOREWARN_CONFIG`, …). */
class ForewarnError extends Error {
  constructor(message, code = 'ERR_FOREWARN', options) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration is invalid: `file`, `line`, `column` (1-based, 0 when unknown) and `key`. */
class ConfigError extends ForewarnError {
  constructor(message, { file, line = 0, column = 0, key = null } = {}, options) {
    super(message, 'ERR_FOREWARN_CONFIG', options);
    this.file = file;
    this.line = line;
    this.column = column;
    this.key = key ?? null;
  }
}

/** A value given through the API is invalid. */
class InvalidArgumentError extends ForewarnError {
  constructor(message, options) {
    super(message, 'ERR_FOREWARN_INVALID_ARGUMENT', options);
  }
}

/** Something asked for (an incident, a check) does not exist. */
class NotFoundError extends ForewarnError {
  constructor(message, options) {
    super(message, 'ERR_FOREWARN_NOT_FOUND', options);
  }
}

/** The history store failed. */
class StoreError extends ForewarnError {
  constructor(message, options) {
    super(message, 'ERR_FOREWARN_STORE', options);
  }
}

/** A state change was refused (an incident already acknowledged, a monitor already running). */
class ConflictError extends ForewarnError {
  constructor(message, options) {
    super(message, 'ERR_FOREWARN_CONFLICT', options);
  }
}

/** Delivering a notification failed. */
class SinkError extends ForewarnError {
  constructor(message, options) {
    super(message, 'ERR_FOREWARN_SINK', options);
  }
}

/** Reading or writing a file failed. */
class ForewarnIOError extends ForewarnError {
  constructor(message, options) {
    super(message, 'ERR_FOREWARN_IO', options);
  }
}

/** A part of the running monitor stopped. */
class StoppedError extends ForewarnError {
  constructor(message, options) {
    super(message, 'ERR_FOREWARN_STOPPED', options);
  }
}

const CLASSES = {
  ERR_FOREWARN_INVALID_ARGUMENT: InvalidArgumentError,
  ERR_FOREWARN_NOT_FOUND: NotFoundError,
  ERR_FOREWARN_STORE: StoreError,
  ERR_FOREWARN_CONFLICT: ConflictError,
  ERR_FOREWARN_SINK: SinkError,
  ERR_FOREWARN_IO: ForewarnIOError,
  ERR_FOREWARN_STOPPED: StoppedError,
};

/** The package's error for an error thrown by the native addon (others are returned as they are). */
function fromNative(e) {
  if (!(e instanceof Error) || typeof e.message !== 'string' || !e.message.startsWith(MARK)) {
    return e;
  }
  let detail;
  try {
    detail = JSON.parse(e.message.slice(MARK.length));
  } catch {
    return e;
  }
  let err;
  if (detail.code === 'ERR_FOREWARN_CONFIG') {
    err = new ConfigError(detail.message, detail);
  } else {
    const Class = CLASSES[detail.code];
    err = Class ? new Class(detail.message) : new ForewarnError(detail.message, detail.code);
  }
  return err;
}

/** Calls `fn` and throws its native error as the package's. */
function call(fn) {
  try {
    return fn();
  } catch (e) {
    throw fromNative(e);
  }
}

/** Awaits `promise` and rejects with the package's error. */
async function settle(promise) {
  try {
    return await promise;
  } catch (e) {
    throw fromNative(e);
  }
}

module.exports = {
  ForewarnError,
  ConfigError,
  InvalidArgumentError,
  NotFoundError,
  StoreError,
  ConflictError,
  SinkError,
  ForewarnIOError,
  StoppedError,
  fromNative,
  call,
  settle,
};
