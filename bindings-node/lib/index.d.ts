// Type definitions of the forewarn package: the native addon's generated types
// (`native/index.d.ts`) made precise where they say `string`, `any` or `unknown`, and the
// package's own API (the monitor, its events, errors, the builder, probes and sinks).

import type { EventEmitter } from 'node:events';
import type {
  Ack as NativeAck,
  CheckResult as NativeCheckResult,
  EventInfo as NativeEventInfo,
  IncidentInfo as NativeIncidentInfo,
  Metric,
  MonitorHealth as NativeMonitorHealth,
  Update as NativeUpdate,
} from '../native/index';

export type { Metric };

// ---------------------------------------------------------------------------------------------
// Plain values

/** A check's status. */
export type Status = 'ok' | 'warning' | 'critical' | 'unknown';

/** Where an incident stands. */
export type IncidentState = 'open' | 'acknowledged' | 'resolved';

/** An ISO 8601 time in UTC with its offset (`2026-12-04T09:15:00.000Z`). */
export type IsoTime = string;

/** A duration: text (`'30s'`, `'5m'`, `'1h 30m'`) or a number of seconds. */
export type Duration = string | number;

/** Who acknowledged an incident. */
export type Ack = NativeAck;

/** One entry of an incident's timeline. */
export interface Update extends Omit<NativeUpdate, 'status'> {
  /** The check's status at that time. */
  status: Status;
}

/** An incident: a check's trouble from the moment it was confirmed to its recovery. */
export interface IncidentInfo extends Omit<NativeIncidentInfo, 'state' | 'severity' | 'status' | 'updates'> {
  /** Where it stands. */
  state: IncidentState;
  /** The worst status it reached. */
  severity: Status;
  /** The check's status now. */
  status: Status;
  /** Its timeline, oldest first. */
  updates: Update[];
}

/** A check's state after its latest run. */
export interface CheckResult extends Omit<NativeCheckResult, 'status' | 'alert' | 'reading'> {
  /** Its status. */
  status: Status;
  /** Where alerting stands (core's JSON). */
  alert: unknown;
  /** The structured reading, when the probe gives one, tagged by `kind`. */
  reading?: Reading | null;
}

/** The monitor's own health. */
export interface MonitorHealth extends Omit<NativeMonitorHealth, 'checks' | 'sinks' | 'outbox' | 'scheduler'> {
  /** Every check's state, in definition order. */
  checks: CheckResult[];
  /** Each sink and whether it can deliver (core's JSON). */
  sinks: unknown;
  /** The outbox's depth and failures (core's JSON). */
  outbox: unknown;
  /** The scheduler's counters (core's JSON). */
  scheduler: unknown;
}

/** The kinds of a monitor's events. */
export type EventType = 'transition' | 'incidentOpened' | 'incidentUpdated' | 'incidentResolved';

interface EventBase extends Omit<NativeEventInfo, 'type' | 'transition' | 'incident'> {
  /** The check concerned. */
  check: string;
  /** When (UTC). */
  at: IsoTime;
  /** Events dropped just before this one because the subscriber fell behind. */
  missed: number;
}

/** A check's state machine moved: what happened is core's transition, as JSON. */
export interface TransitionEvent extends EventBase {
  type: 'transition';
  /** What happened (core's JSON). */
  transition: unknown;
  incident?: null;
}

/** An incident opened, changed or was resolved: the incident as it is now. */
export interface IncidentEvent extends EventBase {
  type: 'incidentOpened' | 'incidentUpdated' | 'incidentResolved';
  transition?: null;
  /** The incident as it is now. */
  incident: IncidentInfo;
}

/** One event of a monitor, by `type`. */
export type EventInfo = TransitionEvent | IncidentEvent;

// ---------------------------------------------------------------------------------------------
// Structured readings (core's `Reading`, tagged by `kind`, snake_case as serialised)

/** What an HTTP(S) check learnt. */
export interface HttpReading {
  kind: 'http';
  /** The final response's status code (after redirects). */
  status_code: number;
  /** When the server's certificate expires, on TLS connections. */
  cert_not_after?: IsoTime;
  /** Days until then (negative once expired). */
  cert_days_left?: number;
  /** Bytes of body read, when the body was checked. */
  body_bytes?: number;
}

/** What a database check learnt (PostgreSQL, MariaDB/MySQL, Redis). */
export interface DatabaseReading {
  kind: 'database';
  /** The engine. */
  engine: 'postgres' | 'mysql' | 'redis';
  /** Rows the check's query returned. */
  rows?: number;
  /** The replication role, when the check looked at replication. */
  role?: 'primary' | 'replica';
  /** How far a replica is behind, in seconds. */
  replication_lag_seconds?: number;
  /** Whether a replica's replication is running. */
  replication_running?: boolean;
  /** Client connections in use. */
  connections_used?: number;
  /** The server's connection limit. */
  connections_max?: number;
  /** The database's (PostgreSQL) or instance's used memory (Redis) size in bytes. */
  size_bytes?: number;
}

/** One file system of a host reading. */
export interface FilesystemReading {
  mount: string;
  total_bytes: number;
  available_bytes: number;
  status: Status;
  /** When it is full at the rate its free space fell over the last 14 days, if falling. */
  full_at?: IsoTime;
}

/** One temperature sensor of a host reading. */
export interface TemperatureReading {
  sensor: string;
  celsius: number;
  high_celsius?: number;
  critical_celsius?: number;
  status: Status;
}

/** CPU thermal-throttle counters of a host reading. */
export interface ThrottleReading {
  cpus: number;
  core_events: number;
  package_events: number;
  core_events_since_last?: number;
  package_events_since_last?: number;
  status: Status;
}

/** One EDAC memory controller of a host reading. */
export interface MemoryControllerReading {
  name: string;
  corrected: number;
  uncorrected: number;
  corrected_since_last?: number;
  uncorrected_since_last?: number;
  status: Status;
}

/** One line of pressure stall information, in percent of time stalled. */
export interface PsiLine {
  avg10: number;
  avg60: number;
  avg300: number;
  total_us: number;
}

/** The pressure of one resource. */
export interface PsiResource {
  some: PsiLine;
  full?: PsiLine;
}

/** Pressure stall information of a host reading. */
export interface PressureReading {
  cpu?: PsiResource;
  memory?: PsiResource;
  io?: PsiResource;
}

/** A measure above its limit, and since when. */
export interface SustainedReading {
  measure: 'cpu_percent' | 'cpu_pressure' | 'memory_pressure' | 'io_pressure';
  value: number;
  limit: number;
  since: IsoTime;
  status: Status;
}

/** The boot of a host reading. */
export interface BootReading {
  boot_id?: string;
  booted_at?: IsoTime;
  rebooted: boolean;
}

/** One battery of a host reading. */
export interface BatteryReading {
  name: string;
  health_percent?: number;
  full?: number;
  design?: number;
  unit: 'Wh' | 'Ah';
  cycle_count?: number;
  state?: string;
  status: Status;
}

/** What the host check learnt about this machine. */
export interface HostReading {
  kind: 'host';
  cpu_percent: number;
  cores: number;
  load?: [number, number, number];
  memory_total_bytes: number;
  memory_available_bytes: number;
  swap_total_bytes: number;
  swap_used_bytes: number;
  filesystems: FilesystemReading[];
  missing_mounts?: string[];
  temperatures?: TemperatureReading[];
  thermal_throttle?: ThrottleReading;
  memory_controllers?: MemoryControllerReading[];
  pressure?: PressureReading;
  sustained?: SustainedReading[];
  boot?: BootReading;
  batteries?: BatteryReading[];
  /** What this machine does not expose: not available, never a zero. */
  not_available?: string[];
}

/** A printer's identity (SNMP system and Printer-MIB names). */
export interface PrinterIdentity {
  sys_name?: string | null;
  sys_descr?: string | null;
  sys_object_id?: string | null;
  location?: string | null;
  model?: string | null;
  serial?: string | null;
  printer_name?: string | null;
}

/** A supply's or tray's level: a known amount, or what the printer says instead. */
export type LevelState =
  | { known: number }
  | 'empty'
  | 'some_remaining'
  | 'unknown'
  | 'unrestricted';

/** One supply of a printer (toner, drum, waste toner …) with the verdict on it. */
export interface SupplyReading {
  index: number;
  name: string;
  kind: string;
  classified_by: unknown;
  class: 'consumed' | 'receptacle' | 'other';
  colour?: string | null;
  description: string;
  part_number?: string | null;
  unit?: number | null;
  level?: number | null;
  max?: number | null;
  state: LevelState;
  level_kind: 'known' | 'some_remaining' | 'unknown' | 'unrestricted';
  percent?: number;
  percent_full?: number;
  days_left?: number;
  verdict: Status;
}

/** One paper tray of a printer with the verdict on it. */
export interface TrayReading {
  index: number;
  name: string;
  media?: string | null;
  max?: number | null;
  level?: number | null;
  status?: number | null;
  input_type?: number | null;
  bypass: boolean;
  bypass_reason?: string | null;
  state: LevelState;
  treated_as_bypass: boolean;
  verdict: Status;
}

/** What a printer check learnt. */
export interface PrinterReading {
  kind: 'printer';
  identity: PrinterIdentity;
  device_status?: 'unknown' | 'running' | 'warning' | 'testing' | 'down' | { other: number };
  printer_status?: 'other' | 'unknown' | 'idle' | 'printing' | 'warmup' | { invalid: number };
  errors: Array<
    | 'low_paper' | 'no_paper' | 'low_toner' | 'no_toner' | 'door_open' | 'jammed' | 'offline'
    | 'service_requested' | 'input_tray_missing' | 'output_tray_missing'
    | 'marker_supply_missing' | 'output_near_full' | 'output_full' | 'input_tray_empty'
    | 'overdue_prevent_maint' | { undefined: number }
  >;
  supplies: SupplyReading[];
  trays: TrayReading[];
  covers?: Array<{ index: number; description: string; status?: number | null }>;
  alerts?: Array<{
    index: number;
    severity?: number | null;
    group?: number | null;
    group_index?: number | null;
    code?: number | null;
    description: string;
  }>;
  page_count?: number;
}

/** One ATA SMART attribute. */
export interface AtaAttribute {
  id: number;
  name: string;
  value?: number;
  worst?: number;
  thresh?: number;
  when_failed: 'never' | 'past' | 'now';
  prefailure: boolean;
  raw?: number;
  raw_string?: string;
}

/** What smartctl said about one disk. */
export interface DiskHealth {
  device?: string;
  device_type?: string;
  protocol?: 'ata' | 'nvme' | 'scsi';
  model?: string;
  serial?: string;
  firmware?: string;
  capacity_bytes?: number;
  passed?: boolean;
  temperature?: number;
  temperature_limit?: number;
  power_on_hours?: number;
  percentage_used?: number;
  attributes?: AtaAttribute[];
  nvme?: {
    critical_warning: number;
    available_spare?: number;
    available_spare_threshold?: number;
    percentage_used?: number;
    media_errors?: number;
    num_err_log_entries?: number;
    unsafe_shutdowns?: number;
  };
  scsi?: {
    grown_defects?: number;
    read_uncorrected?: number;
    write_uncorrected?: number;
    verify_uncorrected?: number;
  };
  exit_status?: number;
  [key: string]: unknown;
}

/** One disk's result of a smart check. */
export interface DiskReport {
  device: string;
  device_type?: string;
  status: Status;
  reasons?: string[];
  health?: DiskHealth;
}

/** What a smart check learnt: every disk read. */
export interface DiskReading {
  kind: 'disk';
  disks: DiskReport[];
}

/** A user's own probe's reading: any JSON value. */
export interface CustomReading {
  kind: 'custom';
  value: unknown;
}

/** A probe's structured reading, discriminated by `kind`. */
export type Reading =
  | HttpReading
  | DatabaseReading
  | HostReading
  | PrinterReading
  | DiskReading
  | CustomReading;

// ---------------------------------------------------------------------------------------------
// The public view (core's status model, snake_case as serialised)

/** A service's state on the status page. */
export type ServiceState = 'operational' | 'degraded' | 'down' | 'maintenance' | 'unknown';

/** One day's availability of a service. */
export interface DayAvailability {
  /** The day (`2026-12-04`), in the district's zone. */
  date: string;
  /** The share of the day it was up, `null` without data. */
  ratio: number | null;
}

/** A service as the public sees it. */
export interface PublicService {
  id: string;
  name: string;
  state: ServiceState;
  since: IsoTime | null;
  impact: string | null;
  workaround: string | null;
  availability: DayAvailability[];
}

/** A public incident's state. */
export type PublicIncidentState = 'investigating' | 'identified' | 'monitoring' | 'resolved';

/** One public update of an incident. */
export interface PublicUpdate {
  at: IsoTime;
  kind: 'we_know' | 'update' | 'fixed';
  text: string;
}

/** An outage as the public sees it. */
export interface PublicIncident {
  id: number;
  title: string;
  services: string[];
  state: PublicIncidentState;
  started_at: IsoTime;
  resolved_at: IsoTime | null;
  updates: PublicUpdate[];
}

/** A maintenance window as the public sees it. */
export interface PublicMaintenance {
  id: string;
  title: string;
  services: string[];
  description: string | null;
  starts_at: IsoTime;
  ends_at: IsoTime;
  state: 'upcoming' | 'in_progress' | 'completed';
}

/** The outage message (auto-reply subject and body, voicemail words). */
export interface OutageMessageJson {
  subject: string;
  body: string;
  spoken: string;
}

/** Everything the public status page shows. */
export interface PublicStatusJson {
  title: string;
  generated_at: IsoTime;
  time_zone: string;
  services: PublicService[];
  incidents: PublicIncident[];
  maintenance: PublicMaintenance[];
  autoreply: OutageMessageJson | null;
}

// ---------------------------------------------------------------------------------------------
// Probes and sinks written in JavaScript, and the builder

/** What a probe's `check` is given. */
export interface CheckContext {
  /** The check's name. */
  check: string;
  /** Its time budget, in seconds. */
  timeout: number;  /** When this run started. */
  now: Date;
}

/** A metric as an observation gives it: `[value, unit]` or a bare number. */
export type MetricValue = number | [number, string];

/** What one run of a probe found. */
export interface Observation {
  status: Status;
  summary: string;
  metrics?: Record<string, MetricValue>;
  /** How long it took, in seconds. */
  latency?: number;
}

/** A probe written in JavaScript: `check` may be sync or async. */
export interface Probe {
  /** The probe's kind in listings (default `custom`). */
  kind?: string;
  /** What it probes, in listings. */
  target?: string;
  check(context: CheckContext): Observation | Promise<Observation>;
}

/** Why a notification is sent. */
export type NotificationKind = 'opened' | 'updated' | 'reminder' | 'acknowledged' | 'resolved';

/** A notification handed to a sink (Python's `forewarn.Notification`, in camelCase). */
export interface Notification {
  id: string;
  sink: string;
  key: string;
  kind: NotificationKind;
  incidentId: number;
  check: string;
  group: string | null;
  status: Status;
  subject: string;
  summary: string;
  openedAt: Date;
  at: Date;
  labels: Record<string, string>;
  broadcast?: Record<string, unknown> | null;
}

/** A sink written in JavaScript: a failing `send` is a failed delivery, retried. */
export interface AlertSink {
  send(notification: Notification): void | Promise<void>;
  /** Whether the sink can deliver now (shown in `status().sinks`); a throw says why not. */
  healthcheck?(): void | Promise<void>;
}

/** A built-in probe (`probes.http({...})`), its config keys as settings. */
export interface BuiltinProbe {
  readonly type: string;
  readonly settings: Readonly<Record<string, unknown>>;
}

/** A built-in sink (`sinks.email({...})`), its config keys as settings. */
export interface BuiltinSink {
  readonly type: string;
  readonly settings: Readonly<Record<string, unknown>>;
}

/** The keys of a built-in's settings: the ones named here plus any other config key. */
type Settings<T> = T & Record<string, unknown>;

/** The built-in probes. */
export declare const probes: {
  tcp(settings: Settings<{ target?: string; host?: string; port?: number }>): BuiltinProbe;
  http(settings: Settings<{ url: string; method?: string }>): BuiltinProbe;
  host(settings?: Settings<{}>): BuiltinProbe;
  postgres(settings: Settings<{ host?: string; port?: number; database?: string }>): BuiltinProbe;
  mysql(settings: Settings<{ host?: string; port?: number; database?: string }>): BuiltinProbe;
  redis(settings: Settings<{ host?: string; port?: number }>): BuiltinProbe;
  process(settings: Settings<{ nameIs?: string; pattern?: string }>): BuiltinProbe;
  printer(settings: Settings<{ host: string }>): BuiltinProbe;
  smart(settings?: Settings<{}>): BuiltinProbe;
};

/** The built-in sinks. */
export declare const sinks: {
  email(
    settings: Settings<{
      host: string;
      port?: number;
      tls?: 'implicit' | 'starttls' | 'opportunistic' | 'none';
      username?: string;
      password?: string;
      from: string;
      to?: string[];
      lists?: Record<string, string[]>;
    }>,
  ): BuiltinSink;
  webhook(settings: Settings<{ url: string }>): BuiltinSink;
  log(settings?: Settings<{}>): BuiltinSink;
  file(settings: Settings<{ path: string }>): BuiltinSink;
};

/** A check's settings beside its probe (the keys of a `[[checks]]` entry, camelCase). */
export interface CheckOptions {
  interval?: Duration;
  timeout?: Duration;
  group?: string;
  dependsOn?: string[];
  policy?: string;
  failureThreshold?: number;
  successThreshold?: number;
  flapping?: Record<string, unknown>;
  owner?: string;
  location?: string;
}

/** Builds a monitor in code, like a config file (`Monitor.builder()`). */
export declare class MonitorBuilder {
  database(path: string): this;
  timeZone(name: string): this;
  concurrency(n: number): this;
  defaultInterval(interval: Duration): this;
  defaultTimeout(timeout: Duration): this;
  retention(retention: Duration): this;
  policy(name: string, settings: Record<string, unknown>): this;
  defaultPolicy(name: string): this;
  group(name: string, settings: Record<string, unknown>): this;
  service(key: string, settings: Record<string, unknown>): this;
  audience(key: string, settings: Record<string, unknown>): this;
  /** How outages are told and shown (the `[broadcasts]` section: `delay`, `district`, …). */
  broadcasts(settings: Record<string, unknown>): this;
  sink(name: string, sink: BuiltinSink | AlertSink, options?: { rateLimit?: string }): this;
  check(name: string, probe: BuiltinProbe | Probe, options?: CheckOptions): this;
  build(): Promise<Monitor>;
}

// ---------------------------------------------------------------------------------------------
// The monitor

/** The events of a monitor and their listeners' arguments. */
export interface MonitorEvents {
  event: [event: EventInfo];
  transition: [event: TransitionEvent];
  incident: [event: IncidentEvent];
  incidentOpened: [event: IncidentEvent & { type: 'incidentOpened' }];
  incidentUpdated: [event: IncidentEvent & { type: 'incidentUpdated' }];
  incidentResolved: [event: IncidentEvent & { type: 'incidentResolved' }];
  stopped: [];
  error: [error: ForewarnError];
}

/** A monitor of checks, with history, incidents, alerting and the public view of services. */
export declare class Monitor extends EventEmitter {
  private constructor(nativeMonitor: unknown);
  /** Builds the monitor of a config: a file's path, or TOML text. */
  static fromConfig(pathOrToml: string): Promise<Monitor>;
  /** A builder of a monitor in code. */
  static builder(): MonitorBuilder;
  /** The names of the checks, in definition order. */
  readonly checkNames: string[];
  /** Whether the monitor is running in the background. */
  readonly running: boolean;
  /** Runs every check once; resolves to every check's result in definition order. */
  runOnce(): Promise<CheckResult[]>;
  /** Every check's state, the sinks, the outbox and the scheduler. */
  status(): Promise<MonitorHealth>;
  /** Incidents, newest first. */
  incidents(options?: { activeOnly?: boolean; check?: string | null; limit?: number }): Promise<IncidentInfo[]>;
  /** Records that `by` has taken incident `id`. */
  acknowledge(id: number, by: string, options?: { note?: string | null }): Promise<IncidentInfo>;
  /** Adds a note to incident `id`'s timeline. */
  note(id: number, by: string, text: string): Promise<IncidentInfo>;
  /** Resolves incident `id` by hand. */
  resolve(id: number, by: string, options?: { note?: string | null }): Promise<IncidentInfo>;
  /** The public view of every service. */
  services(): Promise<PublicService[]>;
  /** Everything the public status page shows. */
  publicStatus(): Promise<PublicStatusJson>;
  /** The current outage message, or `null`. */
  outageMessage(): OutageMessageJson | null;
  /** Starts the monitor in the background. */
  start(): Promise<void>;
  /** Stops the background run gracefully and waits for it. */
  stop(): Promise<void>;
  /** Runs until `stop()` or `signal` aborts. */
  run(options?: { signal?: AbortSignal }): Promise<void>;
  /** The monitor's events from now on. */
  events(options?: { signal?: AbortSignal }): AsyncIterableIterator<EventInfo>;

  on<K extends keyof MonitorEvents>(event: K, listener: (...args: MonitorEvents[K]) => void): this;
  once<K extends keyof MonitorEvents>(event: K, listener: (...args: MonitorEvents[K]) => void): this;
  off<K extends keyof MonitorEvents>(event: K, listener: (...args: MonitorEvents[K]) => void): this;
  addListener<K extends keyof MonitorEvents>(event: K, listener: (...args: MonitorEvents[K]) => void): this;
  removeListener<K extends keyof MonitorEvents>(event: K, listener: (...args: MonitorEvents[K]) => void): this;
  emit<K extends keyof MonitorEvents>(event: K, ...args: MonitorEvents[K]): boolean;
}

// ---------------------------------------------------------------------------------------------
// Errors

/** The codes of forewarn's errors. */
export type ErrorCode =
  | 'ERR_FOREWARN'
  | 'ERR_FOREWARN_CONFIG'
  | 'ERR_FOREWARN_INVALID_ARGUMENT'
  | 'ERR_FOREWARN_NOT_FOUND'
  | 'ERR_FOREWARN_STORE'
  | 'ERR_FOREWARN_CONFLICT'
  | 'ERR_FOREWARN_SINK'
  | 'ERR_FOREWARN_IO'
  | 'ERR_FOREWARN_STOPPED';

/** Any error of forewarn; `code` says which kind. */
export declare class ForewarnError extends Error {
  constructor(message: string, code?: string, options?: ErrorOptions);
  readonly code: ErrorCode | string;
}

/** A configuration is invalid. */
export declare class ConfigError extends ForewarnError {
  constructor(
    message: string,
    where?: { file?: string | null; line?: number; column?: number; key?: string | null },
    options?: ErrorOptions,
  );
  readonly code: 'ERR_FOREWARN_CONFIG';
  /** The config file, when it came from one. */
  readonly file: string | null | undefined;
  /** 1-based line, 0 when unknown. */
  readonly line: number;
  /** 1-based column, 0 when unknown. */
  readonly column: number;
  /** The key at fault (`checks[2].interval`), when known. */
  readonly key: string | null;
}

/** A value given through the API is invalid. */
export declare class InvalidArgumentError extends ForewarnError {
  constructor(message: string, options?: ErrorOptions);
  readonly code: 'ERR_FOREWARN_INVALID_ARGUMENT';
}

/** Something asked for (an incident, a check) does not exist. */
export declare class NotFoundError extends ForewarnError {
  constructor(message: string, options?: ErrorOptions);
  readonly code: 'ERR_FOREWARN_NOT_FOUND';
}

/** The history store failed. */
export declare class StoreError extends ForewarnError {
  constructor(message: string, options?: ErrorOptions);
  readonly code: 'ERR_FOREWARN_STORE';
}

/** A state change was refused. */
export declare class ConflictError extends ForewarnError {
  constructor(message: string, options?: ErrorOptions);
  readonly code: 'ERR_FOREWARN_CONFLICT';
}

/** Delivering a notification failed. */
export declare class SinkError extends ForewarnError {
  constructor(message: string, options?: ErrorOptions);
  readonly code: 'ERR_FOREWARN_SINK';
}

/** Reading or writing a file failed. */
export declare class ForewarnIOError extends ForewarnError {
  constructor(message: string, options?: ErrorOptions);
  readonly code: 'ERR_FOREWARN_IO';
}

/** A part of the running monitor stopped. */
export declare class StoppedError extends ForewarnError {
  constructor(message: string, options?: ErrorOptions);
  readonly code: 'ERR_FOREWARN_STOPPED';
}

// ---------------------------------------------------------------------------------------------
// Functions

/** The library's version. */
export declare function version(): string;

/** Validates a config (a file's path or TOML text); returns its number of checks. */
export declare function validateConfig(pathOrToml: string): number;

// ---------------------------------------------------------------------------------------------
// Help-desk mining

/**
 * Help-desk mining: `forewarn tickets analyze` and `forewarn tickets generate` as functions.
 * The parts of an analysis are the library's JSON (the report's JSON twin): snake_case keys,
 * dates as `YYYY-MM-DD`, enumerations as their text; only the top-level keys are camelCase.
 */
export declare namespace tickets {
  /** A file system path: a string or a `file:` URL. */
  type PathLike = string | URL;

  /** A stage of {@link analyze}, in the order they start. */
  type Stage =
    | 'ingest' | 'inputs' | 'calendar' | 'topics' | 'trends' | 'recommendations'
    | 'faq drafts' | 'report';

  /** The export profiles (help-desk systems) the library reads. */
  type Profile =
    | 'glpi' | 'os-ticket' | 'zammad' | 'freshservice' | 'google-forms' | 'service-now'
    | 'helpdesk4tu' | 'generic';

  /** The options of {@link analyze} (those of `forewarn tickets analyze`). */
  interface AnalyzeOptions {
    /** The school calendar (TOML or CSV); inferred from the tickets when absent. */
    calendar?: PathLike | null;
    /** The HTML report to write, its JSON twin beside it (`report.html` → `report.json`). */
    out?: PathLike | null;
    /** The JSON twin's path instead. */
    jsonOut?: PathLike | null;
    /** A directory of knowledge-base articles (.md, .txt, .html). */
    kb?: PathLike | null;
    /** A forewarn SQLite database whose incidents are correlated with ticket volume. */
    incidents?: PathLike | null;
    /** A keyword taxonomy (TOML) instead of the K-12 default. */
    taxonomy?: PathLike | null;
    /** A directory to write one draft help page per FAQ suggestion into. */
    faqDrafts?: PathLike | null;
    /** Force the export profile instead of detecting it. */
    profile?: Profile | null;
    /** Salt for requester hashes (keep it private). */
    salt?: string | null;
    /** Force day-first (`true`) or month-first (`false`) dates. */
    dayFirst?: boolean | null;
    /** The earliest plausible date (default 1990-01-01); a `Date` is taken at its UTC date. */
    datesFrom?: string | Date | null;
    /** The latest plausible date (default: a year after today). */
    datesUntil?: string | Date | null;
    /** Clusters for the tickets the taxonomy misses (automatic when absent). */
    k?: number | null;
    /** Cluster every ticket, not only those the taxonomy misses. */
    clusterAll?: boolean | null;
    /** Random seed of the clustering (default 42). */
    seed?: number | null;
    /** The report's title. */
    title?: string | null;
    /** The district's IANA time zone (default: the system's). */
    timeZone?: string | null;
    /** Called with each stage as it starts, before the promise settles; an error it throws
     * rejects the promise once the analysis is over. */
    onProgress?: ((stage: Stage) => void) | null;
  }

  /** One skipped row. */
  interface RowProblem {
    file: string;
    /** 1-based line (for XLSX: the sheet row). */
    line: number;
    reason: string;
  }

  /** What was detected in one file. */
  interface FileSummary {
    file: string;
    profile: Profile;
    /** `,`, `;` or a tab; null for XLSX. */
    delimiter: string | null;
    encoding: string;
    day_first: boolean;
    /** Column header → the ticket field it was read as. */
    columns: Record<string, string>;
    read: number;
    folded: number;
    skipped: number;
  }

  /** What reading the exports did (`read === accepted + folded + skipped`). */
  interface IngestSummary {
    read: number;
    accepted: number;
    folded: number;
    skipped: number;
    /** Skipped rows per reason. */
    reasons: Record<string, number>;
    /** The first skipped rows in detail. */
    problems: RowProblem[];
    files: FileSummary[];
  }

  /** A topic (taxonomy or cluster); further fields as in the report's JSON twin. */
  interface Topic {
    name: string;
    source: 'taxonomy' | 'cluster';
    tickets: number;
    /** For a taxonomy topic, the terms that matched its tickets, most tickets first (empty for a cluster). */
    matched_terms: Array<{ term: string; tickets: number }>;
    /**
     * Of its tickets, those a device or a monitoring system sent, not a person (alert and
     * recovery mails, notices generated automatically). A topic made mostly of them is not
     * suggested for training or a help page.
     */
    automated: number;
    [field: string]: unknown;
  }

  /** One ticket's topic. */
  interface TicketAssignment {
    /** The ticket's id in the export. */
    ticket: string;
    /** Its topic's name (null when it has no text to go by). */
    topic: string | null;
    /** How it got the topic (null with no topic). */
    source: 'taxonomy' | 'near-duplicate' | 'cluster' | null;
    /**
     * For the taxonomy, the matched words (each occurrence of a term counts its words); for a
     * cluster or near-duplicate group, the cosine similarity to the cluster's centre (0 to 1).
     */
    score: number;
  }

  /** The tickets an outage (a forewarn incident) brought. */
  interface OutageImpact {
    check_name: string;
    /** ISO 8601 with the district's UTC offset (`2024-01-10T07:00:00-06:00`). */
    opened: string;
    resolved: string | null;
    tickets: number;
    expected: number;
    excess: number;
    p_value: number;
    /** Its tickets' topics: [topic, tickets]. */
    top_topics: Array<[string, number]>;
  }

  /** A weekly series of ticket counts. */
  interface WeeklySeries {
    dimension: 'all' | 'category' | 'site' | 'topic';
    key: string;
    counts: number[];
    total: number;
  }

  /** What {@link analyze} found. */
  interface Analysis {
    /** The export files read (names without directories). */
    inputs: string[];
    /** The tickets analysed. */
    tickets: number;
    ingest: IngestSummary;
    /** The school calendar used, given or inferred. */
    calendar: { inferred: boolean; [field: string]: unknown };
    trends: {
      /** Mondays, `YYYY-MM-DD`. */
      weeks: string[];
      instructional_days: number[];
      series: WeeklySeries[];
      spikes: Array<Record<string, unknown>>;
      terms: Array<Record<string, unknown>>;
      term_changes: Array<Record<string, unknown>>;
      long_trends: Array<Record<string, unknown>>;
      changepoints: Array<Record<string, unknown>>;
      outside_instruction: number;
    };
    topics: {
      topics: Topic[];
      /** Each ticket's topic, in the exports' order. */
      assignments: TicketAssignment[];
      groups: Array<Record<string, unknown>>;
      [field: string]: unknown;
    };
    recommendations: {
      training: Array<Record<string, unknown>>;
      faq: Array<Record<string, unknown>>;
      kb_articles: number;
      kb_gaps: Array<Record<string, unknown>>;
      outages: OutageImpact[];
    };
    /** The draft help pages written and left alone, when `faqDrafts` was given. */
    faqDrafts: { dir: string; written: string[]; skipped: string[] } | null;
    /** The district's time zone (IANA name). */
    timeZone: string;
    /** The HTML report written, if any. */
    report: string | null;
    /** Its JSON twin. */
    jsonReport: string | null;
  }

  /** The options of {@link generate}; absent ones take the library's defaults. */
  interface GenerateOptions {
    /** Ticket rows, 1 to 10,000,000 (default 20,000). */
    rows?: number | null;
    /** Random seed (default 1). */
    seed?: number | null;
    /** Plant the term-start surge, spikes and a rising trend (default true). */
    effects?: boolean | null;
    /** The first school year starts in August of this year (default 2022). */
    startYear?: number | null;
    /** School years covered, 1 to 50 (default 3). */
    years?: number | null;
    /** Also write the school calendar used (TOML). */
    calendarOut?: PathLike | null;
  }

  /** What {@link generate} planted in an export. */
  interface GroundTruth {
    calendar: { inferred: boolean; [field: string]: unknown };
    spikes: Array<{ topic: string; site: string | null; week: string; extra: number }>;
    trend: { topic: string; start: number; end: number } | null;
    untaxonomisedTopics: string[];
    faqQuestion: string;
    rows: number;
  }

  /** The stages, in order. */
  const STAGES: readonly Stage[];
  /** The report's title unless one is given. */
  const DEFAULT_TITLE: string;

  /** Analyses help-desk exports (files or directories), writing the report when `out` is given. */
  function analyze(exports: PathLike | PathLike[], options?: AnalyzeOptions): Promise<Analysis>;
  /** Writes a synthetic school-district export to `out`; resolves to what was planted. */
  function generate(out: PathLike, options?: GenerateOptions): Promise<GroundTruth>;
}
