// The ES module entry: the same objects as the CommonJS entry.
import forewarn from './index.js';

export const {
  version,
  validateConfig,
  Monitor,
  MonitorBuilder,
  probes,
  sinks,
  tickets,
  ForewarnError,
  ConfigError,
  InvalidArgumentError,
  NotFoundError,
  StoreError,
  ConflictError,
  SinkError,
  ForewarnIOError,
  StoppedError,
} = forewarn;
export default forewarn;
