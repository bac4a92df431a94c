// The school portal example (examples/node) the whole way round: its login page fails → the
// JavaScript probe finds it → the incident opens → the portal's banner and /banner.json name
// "School portal" with its impact, in the district's time → ICT's e-mail and the staff's
// plain-words e-mail arrive at a real SMTP server (aiosmtpd); the page mends → the banner
// clears and ICT hears it is resolved. And the login probe alone, against real HTTP servers.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { freePort, skipOrFail, startSmtp, tempDir } from './peers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const examples = path.join(here, '..', 'examples', 'node');
const { LoginPageProbe } = await import(path.join(examples, 'login_probe.mjs'));
const { startPortal } = await import(path.join(examples, 'portal.mjs'));

// --- reading e-mails --------------------------------------------------------------------------

/** A header's value, unfolded, with RFC 2047 encoded words decoded. */
function header(raw, name) {
  const head = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  if (!line) return null;
  return line
    .slice(name.length + 1)
    .trim()
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([bqBQ])\?([^?]*)\?=/g, (_, charset, enc, text) =>
      enc.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16))),
            'latin1',
          ).toString('utf8'),
    );
}

/** The text/plain part of a message, decoded. */
function plainText(raw) {
  const parts = raw.split(/\r?\n--[^\r\n]+\r?\n/);
  for (const part of parts) {
    const [head, ...rest] = part.split(/\r?\n\r?\n/);
    if (!/content-type:\s*text\/plain/i.test(head)) continue;
    const body = rest.join('\n\n').replace(/\r?\n--[^\r\n]*--\s*$/, '');
    const encoding = /content-transfer-encoding:\s*([\w-]+)/i.exec(head)?.[1]?.toLowerCase();
    if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    if (encoding === 'quoted-printable') {
      const bytes = body
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-Fa-f]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16)));
      return Buffer.from(bytes, 'latin1').toString('utf8');
    }
    return body;
  }
  return '';
}

/** The messages so far as `{to, subject, text}`. */
function mails(smtp) {
  return smtp.messages().map((raw) => ({
    to: header(raw, 'To'),
    subject: header(raw, 'Subject'),
    text: plainText(raw),
  }));
}

/** Waits until `find()` returns something truthy; fails with `what` after `ms`. */
async function waitFor(what, find, ms = 20000) {
  const until = Date.now() + ms;
  let last;
  for (;;) {
    last = await find();
    if (last) return last;
    if (Date.now() > until) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(200);
  }
}

async function get(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

// --- the login probe alone --------------------------------------------------------------------

/** An HTTP server on a free loopback port answering with `handler`; resolves to its URL. */
async function server(t, handler) {
  const s = http.createServer(handler);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  t.after(() => {
    s.closeAllConnections();
    s.close();
  });
  return `http://127.0.0.1:${s.address().port}/login`;
}

const FORM = '<html><body><form method="post"><input name="u"><input type="password" name="p"></form></body></html>';

describe('LoginPageProbe', () => {
  test('a page with its login form is OK, with the response time', async (t) => {
    const url = await server(t, (req, res) => res.end(FORM));
    const probe = new LoginPageProbe({ url });
    assert.equal(probe.kind, 'login-page');
    assert.equal(probe.target, url);
    const r = await probe.check({ check: 'portal-login', timeout: 5 });
    assert.equal(r.status, 'ok', r.summary);
    assert.match(r.summary, /^login page up in \d+ ms$/);
    const [took, unit] = r.metrics.response_time;
    assert.equal(unit, 's');
    assert.ok(took > 0 && took < 5, `${took}`);
    assert.equal(r.latency, took);
  });

  test('an HTTP error is Critical and names the status', async (t) => {
    const url = await server(t, (req, res) => {
      res.statusCode = 503;
      res.end('down for maintenance');
    });
    const r = await new LoginPageProbe({ url }).check({ check: 'c', timeout: 5 });
    assert.equal(r.status, 'critical');
    assert.match(r.summary, /HTTP 503/);
    assert.ok(r.metrics.response_time[0] > 0);
  });

  test('a page without the login form is Critical', async (t) => {
    const url = await server(t, (req, res) => res.end('<html><body><h1>Oops</h1><form><input name="q"></form></body></html>'));
    const r = await new LoginPageProbe({ url }).check({ check: 'c', timeout: 5 });
    assert.equal(r.status, 'critical');
    assert.equal(r.summary, 'the login page answers HTTP 200 without its login form');
  });

  test('a slow page is a Warning', async (t) => {
    const url = await server(t, (req, res) => setTimeout(() => res.end(FORM), 400));
    const r = await new LoginPageProbe({ url, slowAfter: 0.2 }).check({ check: 'c', timeout: 5 });
    assert.equal(r.status, 'warning', r.summary);
    assert.match(r.summary, /took \d+ ms \(slow past 200 ms\)/);
    assert.ok(r.metrics.response_time[0] >= 0.4);
  });

  test('no answer within the timeout is Critical', async (t) => {
    const url = await server(t, () => {}); // accepts, never answers
    const started = Date.now();
    const r = await new LoginPageProbe({ url }).check({ check: 'c', timeout: 0.3 });
    assert.equal(r.status, 'critical');
    assert.equal(r.summary, 'the login page does not answer: no answer within 0.3 s');
    assert.ok(Date.now() - started < 3000);
  });

  test('a refused connection is Critical and says so', async () => {
    const port = await freePort();
    const r = await new LoginPageProbe({ url: `http://127.0.0.1:${port}/login` }).check({ check: 'c', timeout: 2 });
    assert.equal(r.status, 'critical');
    assert.match(r.summary, /does not answer: ECONNREFUSED/);
  });

  test('settings are checked', () => {
    assert.throws(() => new LoginPageProbe({ url: 'not a url' }), TypeError);
    assert.throws(() => new LoginPageProbe({ url: 'ftp://portal/login' }), /http:\/\/ or https:\/\//);
    assert.throws(() => new LoginPageProbe({ url: 'http://portal/login', slowAfter: 0 }), /slowAfter/);
  });
});

// --- the portal -------------------------------------------------------------------------------

test('the portal banner and e-mails follow its login page down and back', async (t) => {
  const smtp = await startSmtp();
  if (!smtp) return skipOrFail(t, 'aiosmtpd is not installed (pip install aiosmtpd)');
  t.after(() => smtp.stop());
  const dir = tempDir('forewarn-portal-');
  const failSwitch = path.join(dir, 'login-fails');
  const portal = await startPortal({
    port: 0,
    database: path.join(dir, 'portal.db'),
    timeZone: 'America/Chicago',
    interval: '1s',
    failureThreshold: 2,
    smtp: { host: smtp.host, port: smtp.port, tls: 'none' },
    mailFrom: 'School portal <portal@district.example>',
    ictTo: ['ict@district.example'],
    staffTo: ['staff@district.example'],
    broadcastDelay: '0s',
    failSwitch,
  });
  t.after(() => portal.stop());
  assert.match(portal.url, /^http:\/\/127\.0\.0\.1:\d+$/);

  // All well: no banner.
  const login = await get(`${portal.url}/login`);
  assert.equal(login.status, 200);
  assert.match(login.text, /<input[^>]*type="password"/);
  let banner = JSON.parse((await get(`${portal.url}/banner.json`)).text);
  assert.deepEqual(banner.services, []);
  assert.deepEqual(banner.incidents, []);
  assert.equal(banner.timeZone, 'America/Chicago');
  let home = await get(`${portal.url}/`);
  assert.equal(home.status, 200);
  assert.match(home.type, /^text\/html/);
  assert.doesNotMatch(home.text, /class="banner"/);

  // The login page fails: two failed checks (about 2 s) open the incident.
  fs.writeFileSync(failSwitch, 'error\n');
  assert.equal((await get(`${portal.url}/login`)).status, 503);
  banner = await waitFor('the banner names School portal', async () => {
    const b = JSON.parse((await get(`${portal.url}/banner.json`)).text);
    return b.services.some((s) => s.name === 'School portal') ? b : null;
  });
  const [portalService] = banner.services;
  assert.equal(banner.services.length, 1);
  assert.equal(portalService.id, 'school-portal');
  assert.equal(portalService.state, 'down');
  assert.equal(portalService.message, "School portal is down — we're on it.");
  assert.match(portalService.impact, /cannot sign in/);
  assert.match(portalService.workaround, /attendance on paper/);
  // Machine time in UTC, people's time in Chicago's zone.
  assert.match(portalService.since, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$/);
  assert.match(portalService.sinceLocal, /^[A-Z][a-z]{2},? \d{1,2}:\d\d [AP]M C[SD]T$/);
  const chicago = new Intl.DateTimeFormat('en-US', {
    timeZone: 'America/Chicago',
    weekday: 'short',
    hour: 'numeric',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(new Date(portalService.since));
  assert.equal(portalService.sinceLocal, chicago);

  home = await get(`${portal.url}/`);
  assert.match(home.text, /<div class="banner" role="alert">/);
  assert.match(home.text, /School portal is down — we&#39;re on it\./);
  assert.match(home.text, /cannot sign in/);
  assert.ok(home.text.includes(`Since ${portalService.sinceLocal}.`), home.text);

  const { checks } = await portal.monitor.status();
  const check = checks.find((c) => c.name === 'portal-login');
  assert.equal(check.kind, 'login-page');
  assert.equal(check.target, `${portal.url}/login`);
  assert.equal(check.status, 'critical');
  assert.match(check.summary, /^the login page answers HTTP 503/);

  // ICT hears at once of the check; the staff hear of School portal in plain words.
  const opened = await waitFor('the e-mails of the outage', () => {
    const all = mails(smtp);
    const ict = all.find((m) => m.to.includes('ict@district.example'));
    const staff = all.find((m) => m.to.includes('staff@district.example'));
    return ict && staff ? { ict, staff } : null;
  });
  assert.match(opened.ict.subject, /portal-login/);
  // The JavaScript probe's words, not a built-in's.
  assert.match(opened.ict.text, /the login page answers HTTP 503/);
  assert.match(`${opened.staff.subject}\n${opened.staff.text}`, /School portal/);
  assert.match(opened.staff.text, /cannot sign in/);
  assert.doesNotMatch(opened.staff.text, /portal-login/, 'staff are not told check names');

  // Mended: the next good check resolves it and the banner clears.
  fs.rmSync(failSwitch);
  banner = await waitFor('the banner clears', async () => {
    const b = JSON.parse((await get(`${portal.url}/banner.json`)).text);
    return b.services.length === 0 ? b : null;
  });
  // The public outage shows only after the broadcasts' delay (5 min): none here.
  assert.deepEqual(banner.incidents, []);
  home = await get(`${portal.url}/`);
  assert.doesNotMatch(home.text, /School portal is down/);
  const resolved = await waitFor('ICT hears it is resolved', () =>
    mails(smtp).find((m) => m.to.includes('ict@district.example') && /resolved|recovered|ok/i.test(m.subject)),
  );
  assert.match(resolved.subject, /portal-login/);

  await portal.stop();
  await assert.rejects(fetch(`${portal.url}/`, { signal: AbortSignal.timeout(2000) }));
});

test('the portal command serves, prints its address and stops on SIGTERM', async (t) => {
  const dir = tempDir('forewarn-portal-cli-');
  const child = spawn(
    process.execPath,
    [path.join(examples, 'portal.mjs'), '--port', '0', '--database', path.join(dir, 'portal.db'), '--time-zone', 'America/Chicago'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => child.exitCode === null && child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    err += d;
  });
  const url = await waitFor('the printed address', () => {
    if (child.exitCode !== null) assert.fail(`the portal exited ${child.exitCode}: ${err}`);
    return /school portal on (http:\/\/\S+) /.exec(out)?.[1];
  }, 15000);
  const home = await get(`${url}/`);
  assert.equal(home.status, 200);
  assert.match(home.text, /<h1>School portal<\/h1>/);
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code, signal] = await exited;
  assert.equal(signal, null, `stderr: ${err}`);
  assert.equal(code, 0, `stderr: ${err}`);
  assert.match(out, /SIGTERM: stopping\nstopped\n/);
});
