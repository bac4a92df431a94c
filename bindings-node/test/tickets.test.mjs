// Help-desk mining: a generated export analysed end to end (counts, planted topics, the report
// and its JSON twin, FAQ drafts, progress stages, Node's thread left free), a real export of
// the shared data, and the errors of bad paths and options.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import { tickets, ForewarnIOError, InvalidArgumentError } from 'forewarn';
import { skipOrFail, tempDir } from './peers.mjs';

const require = createRequire(import.meta.url);

/** Whether `dir` is the repository's root. */
function isRepoRoot(dir) {
  return (
    fs.existsSync(path.join(dir, 'core', 'Cargo.toml')) &&
    fs.existsSync(path.join(dir, 'bindings-node', 'package.json'))
  );
}

/**
 * The repository's root: FOREWARN_REPO (bindings-node/test.sh sets it), else the first
 * folder up from the working directory, else up from where the package really is; `null`
 * when none is.
 */
function repoRoot() {
  if (process.env.FOREWARN_REPO) return path.resolve(process.env.FOREWARN_REPO);
  const starts = [process.cwd()];
  try {
    starts.push(fs.realpathSync(path.dirname(require.resolve('forewarn/package.json'))));
  } catch {
    // The package is not installed by a folder: only the working directory is looked at.
  }
  for (const start of starts) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      if (isRepoRoot(dir)) return dir;
      if (path.dirname(dir) === dir) break;
    }
  }
  return null;
}

/** The shared data's ticket exports (beside the repository), or `null` with why not. */
function sharedTickets() {
  const root = repoRoot();
  if (!root) {
    return { dir: null, why: 'the repository root is unknown (set FOREWARN_REPO)' };
  }
  const dir = path.join(root, '..', 'shared', 'data', 'tickets');
  if (!fs.existsSync(dir)) return { dir: null, why: `no shared ticket data at ${dir}` };
  return { dir, why: null };
}

test('a generated export analysed: counts, planted topics, the report, drafts and stages in order', async () => {
  const dir = tempDir('forewarn-tickets-');
  const exportFile = path.join(dir, 'export.csv');
  const calendar = path.join(dir, 'calendar.toml');
  const truth = await tickets.generate(exportFile, {
    rows: 3000, seed: 7, years: 1, startYear: 2023, calendarOut: calendar,
  });
  assert.equal(truth.rows, 3000);
  assert.ok(fs.existsSync(exportFile) && fs.existsSync(calendar));
  assert.deepEqual(truth.trend, { topic: 'Chromebooks', start: 0.5, end: 2 });
  assert.ok(truth.spikes.length > 0);
  for (const s of truth.spikes) {
    assert.match(s.week, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(s.extra > 0);
  }
  assert.ok(truth.untaxonomisedTopics.length > 0 && truth.faqQuestion.length > 0);

  const stages = [];
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  let a;
  try {
    a = await tickets.analyze(exportFile, {
      calendar,
      out: path.join(dir, 'report.html'),
      faqDrafts: path.join(dir, 'help'),
      timeZone: 'America/Chicago',
      title: 'Lincoln USD help desk',
      onProgress: (stage) => stages.push(stage),
    });
  } finally {
    clearInterval(timer);
  }
  // Node's thread stayed free while the analysis ran.
  assert.ok(ticks > 0, 'no timer ran during the analysis');
  assert.deepEqual(stages, [...tickets.STAGES]);
  assert.deepEqual(stages, [
    'ingest', 'inputs', 'calendar', 'topics', 'trends', 'recommendations', 'faq drafts', 'report',
  ]);

  assert.deepEqual(a.inputs, ['export.csv']);
  assert.equal(a.tickets, 3000);
  assert.equal(a.ingest.read, 3000);
  assert.equal(a.ingest.accepted, 3000);
  assert.equal(a.ingest.skipped, 0);
  assert.equal(a.ingest.files[0].profile, 'freshservice');
  assert.equal(a.timeZone, 'America/Chicago');
  assert.equal(a.calendar.inferred, false);
  assert.ok(a.trends.weeks.length >= 40, `${a.trends.weeks.length} weeks`);

  const names = a.topics.topics.map((t) => t.name);
  assert.ok(names.includes(truth.trend.topic), `${truth.trend.topic} not in ${names}`);
  for (const s of truth.spikes) assert.ok(names.includes(s.topic), `${s.topic} not in ${names}`);
  const counted = a.topics.topics.reduce((n, t) => n + t.tickets, 0);
  assert.ok(counted > 0 && counted <= a.tickets, `${counted} tickets in topics`);

  // Each ticket's topic, how it got it and the score; taxonomy topics list their matched terms.
  assert.equal(a.topics.assignments.length, a.tickets);
  for (const t of a.topics.topics) {
    const members = a.topics.assignments.filter((x) => x.topic === t.name);
    assert.equal(members.length, t.tickets, t.name);
    assert.ok(members.every((x) => x.ticket && x.score >= 0), t.name);
    assert.ok(
      members.every((x) => (t.source === 'taxonomy') === (x.source === 'taxonomy')),
      t.name,
    );
    assert.equal(t.matched_terms.length > 0, t.source === 'taxonomy', t.name);
    // Of them, those a device or a monitoring system sent.
    assert.ok(Number.isInteger(t.automated) && t.automated >= 0 && t.automated <= t.tickets, t.name);
  }
  assert.ok(a.topics.assignments.every((x) => ['taxonomy', 'near-duplicate', 'cluster', null].includes(x.source)));

  // The report and its twin, with the same counts.
  assert.equal(a.report, path.join(dir, 'report.html'));
  assert.equal(a.jsonReport, path.join(dir, 'report.json'));
  const html = fs.readFileSync(a.report, 'utf8');
  assert.ok(html.includes('Lincoln USD help desk'));
  const twin = JSON.parse(fs.readFileSync(a.jsonReport, 'utf8'));
  assert.equal(twin.title, 'Lincoln USD help desk');
  assert.deepEqual(twin.inputs, a.inputs);
  assert.equal(twin.ingest.accepted, 3000);
  assert.deepEqual(twin.ingest, a.ingest);
  assert.deepEqual(twin.analysis.topics.topics.map((t) => t.name), names);
  assert.deepEqual(twin.analysis.trends.weeks, a.trends.weeks);

  // One draft help page per FAQ suggestion, written.
  assert.equal(a.faqDrafts.dir, path.join(dir, 'help'));
  assert.ok(a.faqDrafts.written.length > 0);
  assert.ok(a.faqDrafts.written.length <= a.recommendations.faq.length);
  for (const page of a.faqDrafts.written) assert.ok(fs.existsSync(page), `${page} missing`);
  assert.deepEqual(a.faqDrafts.skipped, []);
});

test('nothing is written unless asked, and the same seed generates the same export', async () => {
  const dir = tempDir('forewarn-tickets-');
  const first = path.join(dir, 'a.csv');
  const second = path.join(dir, 'b.csv');
  const t1 = await tickets.generate(first, { rows: 600, seed: 3, years: 1, effects: false });
  const t2 = await tickets.generate(new URL(`file://${second}`), { rows: 600, seed: 3, years: 1, effects: false });
  assert.deepEqual(t1, t2);
  assert.equal(t1.trend, null);
  assert.deepEqual(t1.spikes, []);
  assert.ok(fs.readFileSync(first).equals(fs.readFileSync(second)));

  const a = await tickets.analyze([first, second], { timeZone: 'UTC', datesFrom: new Date('2000-01-01') });
  assert.deepEqual(a.inputs, ['a.csv', 'b.csv']);
  assert.equal(a.tickets, 1200);
  assert.equal(a.report, null);
  assert.equal(a.jsonReport, null);
  assert.equal(a.faqDrafts, null);
  assert.equal(a.calendar.inferred, true);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a.csv', 'b.csv']);
});

test('a real export of the shared data (the 4TU help desk) is analysed and reported', async (t) => {
  const { dir, why } = sharedTickets();
  if (!dir) return skipOrFail(t, why);
  const file = path.join(dir, 'helpdesk_4tu_tickets.csv');
  if (!fs.existsSync(file)) return skipOrFail(t, `${file} is missing`);
  const rows = fs.readFileSync(file, 'utf8').trimEnd().split('\n').length - 1;
  const out = tempDir('forewarn-tickets-');
  const stages = [];
  const a = await tickets.analyze(file, {
    out: path.join(out, 'report.html'),
    timeZone: 'Europe/Amsterdam',
    onProgress: (s) => stages.push(s),
  });
  assert.deepEqual(stages, [
    'ingest', 'inputs', 'calendar', 'topics', 'trends', 'recommendations', 'report',
  ]);
  assert.equal(rows, 4580);
  assert.equal(a.ingest.read, rows);
  assert.equal(a.ingest.accepted + a.ingest.folded + a.ingest.skipped, rows);
  assert.equal(a.tickets, a.ingest.accepted);
  assert.ok(a.tickets > 4000, `${a.tickets} tickets`);
  assert.equal(a.ingest.files[0].profile, 'helpdesk4tu');
  assert.deepEqual(a.inputs, ['helpdesk_4tu_tickets.csv']);
  assert.equal(a.calendar.inferred, true);
  assert.ok(a.trends.weeks.length > 20);
  const twin = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
  assert.equal(twin.ingest.accepted, a.tickets);
  assert.deepEqual(twin.analysis.trends.weeks, a.trends.weeks);

  // The other file of the shared data has no dates: an invalid export naming the file.
  const undated = path.join(dir, 'it_service_tickets_sample.csv');
  if (fs.existsSync(undated)) {
    await assert.rejects(tickets.analyze(undated), (e) => {
      assert.ok(e instanceof InvalidArgumentError, `${e.name}: ${e.message}`);
      assert.equal(e.code, 'ERR_FOREWARN_INVALID_ARGUMENT');
      assert.ok(e.message.includes('it_service_tickets_sample.csv'), e.message);
      return true;
    });
  }
});

/** The UTC offset of Chicago at `ms` as `-06:00` / `-05:00`. */
function chicagoOffset(ms) {
  const name = new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/Chicago', timeZoneName: 'shortOffset',
  }).formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName').value; // GMT-6
  const [, sign, hours] = /^GMT([+-])(\d+)$/.exec(name);
  return `${sign}${hours.padStart(2, '0')}:00`;
}

test("an outage of forewarn's incidents is reported in the district's time, with its offset", async (t) => {
  // A forewarn incidents table (UTC milliseconds) written with SQLite through Python's sqlite3.
  const python = ['python3', 'python'].find((p) => {
    const r = spawnSync(p, ['-c', 'import sqlite3'], { stdio: 'ignore' });
    return !r.error && r.status === 0;
  });
  if (!python) return skipOrFail(t, 'no Python with sqlite3 to write the incident database');
  const dir = tempDir('forewarn-tickets-');
  const exportFile = path.join(dir, 'export.csv');
  const calendar = path.join(dir, 'calendar.toml');
  const truth = await tickets.generate(exportFile, {
    rows: 4000, seed: 5, years: 1, startYear: 2023, calendarOut: calendar,
  });
  const wifi = truth.spikes.find((s) => s.topic.startsWith('Wi-Fi'));
  assert.ok(wifi, `no Wi-Fi spike in ${JSON.stringify(truth.spikes)}`);
  // 07:00 to 16:00 in Chicago on the Wednesday of the spike's week.
  const day = new Date(`${wifi.week}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + 2);
  const date = day.toISOString().slice(0, 10);
  const at = (hour) => {
    const guess = Date.parse(`${date}T${String(hour).padStart(2, '0')}:00:00Z`);
    return Date.parse(`${date}T${String(hour).padStart(2, '0')}:00:00${chicagoOffset(guess)}`);
  };
  const [opened, resolved] = [at(7), at(16)];
  const db = path.join(dir, 'forewarn.db');
  const script = [
    'import sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1])',
    "db.execute('CREATE TABLE incidents (id INTEGER PRIMARY KEY, check_name TEXT NOT NULL,"
      + " opened_at INTEGER NOT NULL, resolved_at INTEGER)')",
    "db.execute('INSERT INTO incidents (check_name, opened_at, resolved_at) VALUES (?, ?, ?)',"
      + " ('roosevelt-wifi', int(sys.argv[2]), int(sys.argv[3])))",
    'db.commit()',
  ].join('\n');
  const r = spawnSync(python, ['-c', script, db, String(opened), String(resolved)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);

  const a = await tickets.analyze(exportFile, { calendar, incidents: db, timeZone: 'America/Chicago' });
  assert.equal(a.recommendations.outages.length, 1);
  const outage = a.recommendations.outages[0];
  assert.equal(outage.check_name, 'roosevelt-wifi');
  const offset = chicagoOffset(opened);
  assert.equal(outage.opened, `${date}T07:00:00${offset}`);
  assert.equal(outage.resolved, `${date}T16:00:00${offset}`);
  assert.equal(Date.parse(outage.opened), opened);
  assert.equal(Date.parse(outage.resolved), resolved);
  assert.ok(outage.tickets >= 0 && Number.isFinite(outage.expected));
});

test('a bad path names the file; a bad time zone, date or number is an invalid argument', async () => {
  const dir = tempDir('forewarn-tickets-');
  const missing = path.join(dir, 'no-such-export.csv');
  const stages = [];
  await assert.rejects(tickets.analyze(missing, { onProgress: (s) => stages.push(s) }), (e) => {
    assert.ok(['ERR_FOREWARN_IO', 'ERR_FOREWARN_INVALID_ARGUMENT'].includes(e.code), e.code);
    assert.ok(e instanceof ForewarnIOError, `${e.name}: ${e.message}`);
    assert.ok(e.message.includes(missing), e.message);
    return true;
  });
  assert.deepEqual(stages, ['ingest']);

  const exportFile = path.join(dir, 'export.csv');
  await tickets.generate(exportFile, { rows: 300, years: 1 });
  const calendar = path.join(dir, 'no-such-calendar.toml');
  await assert.rejects(tickets.analyze(exportFile, { calendar }), (e) => {
    assert.equal(e.code, 'ERR_FOREWARN_IO');
    assert.ok(e.message.includes(calendar), e.message);
    return true;
  });

  const rows = path.join(dir, 'bad.csv');
  fs.writeFileSync(rows, 'Created,Subject\nnot a date,printer jammed\n');
  await assert.rejects(tickets.analyze(rows), (e) => {
    assert.equal(e.code, 'ERR_FOREWARN_INVALID_ARGUMENT');
    assert.ok(e.message.includes('bad.csv:2'), e.message);
    return true;
  });

  const invalid = (pattern) => (e) => {
    assert.ok(e instanceof InvalidArgumentError, `${e.name}: ${e.message}`);
    assert.equal(e.code, 'ERR_FOREWARN_INVALID_ARGUMENT');
    assert.match(e.message, pattern);
    return true;
  };
  await assert.rejects(tickets.analyze(exportFile, { timeZone: 'Mars/Olympus_Mons' }),
    invalid(/Mars\/Olympus_Mons/));
  await assert.rejects(tickets.analyze(exportFile, { datesFrom: '2020-13-45' }), invalid(/2020-13-45/));
  await assert.rejects(tickets.analyze(exportFile, { profile: 'no-such-system' }),
    invalid(/no-such-system/));
  await assert.rejects(tickets.analyze(exportFile, { seed: -1 }), invalid(/seed/));
  await assert.rejects(tickets.analyze(exportFile, { k: 1.5 }), invalid(/k/));
  await assert.rejects(tickets.generate(path.join(dir, 'g.csv'), { rows: 0 }), invalid(/rows/));
  const unwritable = path.join(dir, 'no-such-dir', 'g.csv');
  await assert.rejects(tickets.generate(unwritable), (e) => {
    assert.equal(e.code, 'ERR_FOREWARN_IO');
    assert.ok(e.message.includes(unwritable), e.message);
    return true;
  });
});

test('an error thrown by onProgress stops its calls and rejects once the analysis is over', async () => {
  const dir = tempDir('forewarn-tickets-');
  const exportFile = path.join(dir, 'export.csv');
  await tickets.generate(exportFile, { rows: 300, years: 1 });
  const calls = [];
  const boom = new Error('progress bar broke');
  await assert.rejects(
    tickets.analyze(exportFile, {
      out: path.join(dir, 'report.html'),
      onProgress: (s) => {
        calls.push(s);
        throw boom;
      },
    }),
    (e) => e === boom,
  );
  assert.deepEqual(calls, ['ingest']);
  // The analysis itself went on to the end: the report is there.
  assert.ok(fs.existsSync(path.join(dir, 'report.json')));
});
