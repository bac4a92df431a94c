'use strict';
// Help-desk mining: turn ticket exports into trends, recurring topics and recommendations.
// The `forewarn tickets analyze` and `forewarn tickets generate` commands as functions; the
// work runs off Node's thread and every decision is the library's.

const { fileURLToPath } = require('node:url');
const native = require('./native');
const errors = require('./errors');

/** The report's title unless one is given (the command line's). */
const DEFAULT_TITLE = 'Help-desk trends and recommendations';

/**
 * The stages of {@link analyze}, in the order they start (`'faq drafts'` only with
 * `faqDrafts`, `'report'` only with `out`).
 * @type {ReadonlyArray<string>}
 */
const STAGES = Object.freeze([
  'ingest', 'inputs', 'calendar', 'topics', 'trends', 'recommendations', 'faq drafts', 'report',
]);

/**
 * A file system path: a string or a `file:` URL.
 * @typedef {string | URL} PathLike
 */

/**
 * A path option as the text the addon takes; `undefined` when absent.
 * @param {string} name the option's name, for the error
 * @param {PathLike | null | undefined} value
 * @returns {string | undefined}
 */
function toPath(name, value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (value instanceof URL) return fileURLToPath(value);
  throw new errors.InvalidArgumentError(`invalid ${name}: a path (string or file: URL) is expected`);
}

/**
 * A date option as `YYYY-MM-DD`: a string is passed as it is (the library checks it), a `Date`
 * is taken at its UTC date (`new Date('2020-01-31')` is 2020-01-31).
 * @param {string} name the option's name, for the error
 * @param {string | Date | null | undefined} value
 * @returns {string | undefined}
 */
function toDate(name, value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (value instanceof Date && !Number.isNaN(value.getTime())) {
    return value.toISOString().slice(0, 10);
  }
  throw new errors.InvalidArgumentError(`invalid ${name}: a date (YYYY-MM-DD or a Date) is expected`);
}

/**
 * A whole-number option; `undefined` when absent.
 * @param {string} name the option's name, for the error
 * @param {number | null | undefined} value
 * @returns {number | undefined}
 */
function toWhole(name, value) {
  if (value === undefined || value === null) return undefined;
  if (!Number.isSafeInteger(value)) {
    throw new errors.InvalidArgumentError(`invalid ${name}: a whole number is expected, not ${value}`);
  }
  return value;
}

/**
 * The draft help pages {@link analyze} wrote (`faqDrafts`), and existing ones it left alone.
 * @typedef {object} FaqDrafts
 * @property {string} dir the directory written to
 * @property {string[]} written the pages written, in the order of the FAQ suggestions
 * @property {string[]} skipped the pages left alone because they existed
 */

/**
 * What {@link analyze} found. The top-level keys are camelCase; the parts of the analysis
 * (`ingest`, `calendar`, `trends`, `topics`, `recommendations`) are the library's JSON as it
 * is in the report's JSON twin, with snake_case keys (`ingest.accepted`,
 * `topics.topics[i].name`, `recommendations.kb_gaps`, …), dates as `YYYY-MM-DD` and
 * enumerations as their text. The one difference from the twin: an outage's `opened` and
 * `resolved` (`recommendations.outages[i]`) are ISO 8601 times with the district's UTC offset
 * (`2024-01-08T08:30:00-06:00`) rather than wall-clock times.
 * @typedef {object} Analysis
 * @property {string[]} inputs the export files read (names without directories)
 * @property {number} tickets the tickets analysed (`ingest.accepted`)
 * @property {object} ingest what reading the exports did: `read`, `accepted`, `folded`,
 *   `skipped`, `reasons` (skipped rows per reason), `problems` (the first skipped rows:
 *   `{file, line, reason}`) and `files` (per file: detected `profile`, `delimiter`,
 *   `encoding`, `day_first`, `columns`, `read`, `folded`, `skipped`)
 * @property {object} calendar the school calendar used, given or inferred (`terms`, `breaks`, …)
 * @property {object} trends weekly series (`weeks`, `instructional_days`, `series`), `spikes`,
 *   `terms`, `term_changes`, `long_trends` and `changepoints`
 * @property {object} topics `topics` (each with `name`, `source`, `tickets`, `matched_terms`, …),
 *   `assignments` (each ticket's `ticket` id, `topic`, `source` and `score`) and `groups` of
 *   near-duplicate tickets
 * @property {object} recommendations `training`, `faq`, `kb_articles`, `kb_gaps` and `outages`
 * @property {FaqDrafts | null} faqDrafts the draft help pages, when `faqDrafts` was given
 * @property {string} timeZone the district's time zone (IANA name) times were read in
 * @property {string | null} report the HTML report written, if any
 * @property {string | null} jsonReport its JSON twin
 */

/**
 * The options of {@link analyze}: those of `forewarn tickets analyze`.
 * @typedef {object} AnalyzeOptions
 * @property {PathLike} [calendar] the school calendar (TOML or CSV); inferred from the
 *   tickets when absent
 * @property {PathLike} [out] the HTML report to write, with its JSON twin beside it
 *   (`report.html` → `report.json`); nothing is written when absent
 * @property {PathLike} [jsonOut] the JSON twin's path instead (with `out`)
 * @property {PathLike} [kb] a directory of knowledge-base articles (.md, .txt, .html) to check
 *   FAQ coverage against
 * @property {PathLike} [incidents] a forewarn SQLite database whose incidents are correlated
 *   with ticket volume
 * @property {PathLike} [taxonomy] a keyword taxonomy (TOML) instead of the K-12 default
 * @property {PathLike} [faqDrafts] a directory to write one draft help page per FAQ
 *   suggestion into (existing pages are left as they are)
 * @property {string} [profile] force the export profile (`glpi`, `os-ticket`, `zammad`,
 *   `freshservice`, `google-forms`, `service-now`, `helpdesk4tu`, `generic`) instead of
 *   detecting it
 * @property {string} [salt] salt for requester hashes (keep it private; the same salt keeps
 *   hashes comparable between reports)
 * @property {boolean} [dayFirst] force day-first (`true`) or month-first (`false`) dates;
 *   detected when absent
 * @property {string | Date} [datesFrom] the earliest plausible date (default 1990-01-01): rows
 *   dated before it are skipped and listed
 * @property {string | Date} [datesUntil] the latest plausible date (default: a year after
 *   today)
 * @property {number} [k] clusters for the tickets the taxonomy misses (automatic when absent)
 * @property {boolean} [clusterAll] cluster every ticket, not only those the taxonomy misses
 * @property {number} [seed] random seed of the clustering (default 42)
 * @property {string} [title] the report's title (default {@link DEFAULT_TITLE})
 * @property {string} [timeZone] the district's IANA time zone, which the exports' times are
 *   written in and the incidents are read in (default: the system's)
 * @property {(stage: string) => void} [onProgress] called with each stage's name (see
 *   {@link STAGES}) as it starts, on Node's thread; every call happens before the promise
 *   settles. An error it throws stops further calls and rejects the promise once the
 *   analysis is over.
 */

/**
 * Analyses help-desk exports (GLPI, osTicket, Zammad, Freshservice, Google Forms, ServiceNow;
 * CSV, TSV, XLSX), as `forewarn tickets analyze` does: counts tickets per school week, finds
 * spikes, term-over-term changes, long trends and level shifts, groups the tickets into topics
 * and suggests training sessions and FAQ pages, each with its evidence; writes the HTML report
 * and its JSON twin when `out` is given.
 *
 * The work runs on a worker thread: Node's thread stays free.
 *
 * Rejects with a `ForewarnIOError` (`ERR_FOREWARN_IO`) for a file that cannot be read, an
 * `InvalidArgumentError` (`ERR_FOREWARN_INVALID_ARGUMENT`) for an export that cannot be used
 * (naming the file and line) or an invalid option (a time zone, a date, a profile), a
 * `ConfigError` for a bad calendar or taxonomy file. Rows that cannot be used are skipped and
 * listed in `ingest` rather than stopping the analysis.
 *
 * @example
 * const { tickets } = require('forewarn');
 * const a = await tickets.analyze('exports/', { calendar: 'calendar.toml', out: 'report.html',
 *   timeZone: 'America/Chicago', onProgress: (stage) => console.error(stage) });
 * for (const t of a.topics.topics.slice(0, 5)) console.log(t.name, t.tickets);
 *
 * @param {PathLike | PathLike[]} exports an export file or a directory of them, or several
 * @param {AnalyzeOptions} [options]
 * @returns {Promise<Analysis>}
 */
async function analyze(exports, options = {}) {
  const list = Array.isArray(exports) ? exports : [exports];
  const o = options ?? {};
  const { onProgress } = o;
  if (onProgress !== undefined && onProgress !== null && typeof onProgress !== 'function') {
    throw new errors.InvalidArgumentError('invalid onProgress: a function is expected');
  }
  const request = {
    exports: list.map((p, i) => toPath(`exports[${i}]`, p)),
    calendar: toPath('calendar', o.calendar),
    out: toPath('out', o.out),
    jsonOut: toPath('jsonOut', o.jsonOut),
    kb: toPath('kb', o.kb),
    incidents: toPath('incidents', o.incidents),
    timeZone: o.timeZone ?? undefined,
    faqDrafts: toPath('faqDrafts', o.faqDrafts),
    profile: o.profile ?? undefined,
    salt: o.salt ?? undefined,
    dayFirst: o.dayFirst ?? undefined,
    datesFrom: toDate('datesFrom', o.datesFrom),
    datesUntil: toDate('datesUntil', o.datesUntil),
    taxonomy: toPath('taxonomy', o.taxonomy),
    k: toWhole('k', o.k),
    clusterAll: o.clusterAll ?? undefined,
    seed: toWhole('seed', o.seed),
    title: o.title ?? undefined,
  };
  // The first error of the callback, raised when the analysis is over (as Python does).
  let callbackError = null;
  let progress;
  if (onProgress) {
    progress = (stage) => {
      if (callbackError !== null) return;
      try {
        onProgress(stage);
      } catch (e) {
        callbackError = { error: e };
      }
    };
  }
  let result;
  let failure = null;
  try {
    result = await native.ticketsAnalyze(request, progress);
  } catch (e) {
    failure = errors.fromNative(e);
  }
  // The stages are queued for Node's thread before the outcome: one turn of the event loop
  // delivers those still waiting, so every call happens before this promise settles.
  if (progress) await new Promise((resolve) => setImmediate(resolve));
  if (callbackError !== null) throw callbackError.error;
  if (failure !== null) throw failure;
  // Absent values are null, as documented (the addon leaves them out).
  return {
    ...result,
    faqDrafts: result.faqDrafts ?? null,
    report: result.report ?? null,
    jsonReport: result.jsonReport ?? null,
  };
}

/**
 * A spike planted in a synthetic export.
 * @typedef {object} PlantedSpike
 * @property {string} topic the taxonomy topic of the extra tickets
 * @property {string | null} site the site, when the spike is local
 * @property {string} week Monday of the week, `YYYY-MM-DD`
 * @property {number} extra extra tickets
 */

/**
 * What {@link generate} planted in an export, to check an analysis against.
 * @typedef {object} GroundTruth
 * @property {object} calendar the school calendar the tickets follow (the library's JSON, as
 *   in an analysis)
 * @property {PlantedSpike[]} spikes the planted spikes
 * @property {{ topic: string, start: number, end: number } | null} trend the rising topic and
 *   its volume multiplier at start and end (none without effects)
 * @property {string[]} untaxonomisedTopics recurring topics outside the default taxonomy, by a
 *   distinctive word
 * @property {string} faqQuestion the question asked most often in near-identical words
 * @property {number} rows rows written
 */

/**
 * The options of {@link generate}: those of `forewarn tickets generate`; absent ones take the
 * library's defaults.
 * @typedef {object} GenerateOptions
 * @property {number} [rows] ticket rows, 1 to 10,000,000 (default 20,000; planted spikes add
 *   some)
 * @property {number} [seed] random seed: the same seed gives the same file (default 1)
 * @property {boolean} [effects] plant the term-start surge, spikes and a rising trend (default
 *   `true`); `false` gives a stationary district
 * @property {number} [startYear] the first school year starts in August of this year, 1970 to
 *   2999 (default 2022)
 * @property {number} [years] school years covered, 1 to 50 (default 3)
 * @property {PathLike} [calendarOut] also write the school calendar used (TOML), which
 *   {@link analyze} takes as `calendar`
 */

/**
 * Writes a realistic synthetic school-district export (Freshservice-style CSV) to `out`, as
 * `forewarn tickets generate` does, and returns what was planted in it. The work runs on a
 * worker thread.
 *
 * Rejects with an `InvalidArgumentError` for options out of range and a `ForewarnIOError` when
 * a file cannot be written.
 *
 * @example
 * const truth = await tickets.generate('export.csv', { rows: 5000, seed: 1,
 *   calendarOut: 'calendar.toml' });
 * const a = await tickets.analyze('export.csv', { calendar: 'calendar.toml' });
 *
 * @param {PathLike} out the export to write
 * @param {GenerateOptions} [options]
 * @returns {Promise<GroundTruth>}
 */
async function generate(out, options = {}) {
  const o = options ?? {};
  const request = {
    out: toPath('out', out),
    rows: toWhole('rows', o.rows),
    seed: toWhole('seed', o.seed),
    effects: o.effects ?? undefined,
    startYear: toWhole('startYear', o.startYear),
    years: toWhole('years', o.years),
    calendarOut: toPath('calendarOut', o.calendarOut),
  };
  if (request.out === undefined) {
    throw new errors.InvalidArgumentError('invalid out: the export to write is required');
  }
  const truth = await errors.settle(native.ticketsGenerate(request));
  // No trend is null, as documented (the addon leaves it out).
  return { ...truth, trend: truth.trend ?? null };
}

module.exports = { analyze, generate, STAGES, DEFAULT_TITLE };
