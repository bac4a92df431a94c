// A school portal that tells its own users when it is in trouble: a minimal web app on
// node:http with forewarn inside it.
//
// The portal checks its own login page with a probe written in JavaScript
// (login_probe.mjs), as a service called "School portal". While the service is not
// operational, every page carries a banner ("School portal is down — we're on it"), with what
// people cannot do, what to do meanwhile and since when, in the district's time. The banner
// changes when the monitor's incidents do (its events), not by polling. With an SMTP server
// given, the ICT address hears of the incident at once and the staff list hears of the outage
// in plain words.
//
//   SMTP_PASSWORD=… node examples/node/portal.mjs --port 8080 --time-zone America/Chicago \
//       --smtp smtp.district.example:587 --smtp-username portal@district.example \
//       --ict-to ict@district.example --staff-to all-staff@district.example
//
// serves
//   /             the portal's home page, with the banner when something is wrong
//   /banner.json  the banner as JSON: the services not operational and the active outages
//   /login        the login page (the page the probe checks)
//
// Demonstration aid: with `--fail-switch FILE`, while FILE exists the login page fails the
// way the file says: `error` (HTTP 503, the default for an empty file), `no-form` (HTTP 200
// without the login form) or `slow` (the form, after 3 seconds). `touch FILE` breaks the
// portal; `rm FILE` mends it; the banner follows within a few checks.
//
// Ctrl-C or SIGTERM stops it gracefully: the monitor writes its states, e-mails not yet
// delivered stay in the database for the next start.

import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { Monitor, sinks } from 'forewarn';

import { LoginPageProbe } from './login_probe.mjs';

/** The service key the portal's checks belong to. */
export const SERVICE = 'school-portal';

/** The ways the demonstration switch makes the login page fail. */
const FAILURES = ['error', 'no-form', 'slow'];

/** Text made safe for HTML. */
function escapeHtml(text) {
  return String(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

/**
 * A formatter of times as people in the district read them ("Mon 9:41 AM CST").
 * @param {string} timeZone an IANA zone name
 */
export function districtTime(timeZone) {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: 'numeric',
    minute: '2-digit',
    timeZoneName: 'short',
  });
  return (iso) => (iso ? format.format(new Date(iso)) : null);
}

/** What the banner says of a service in `state`. */
function headline(name, state) {
  switch (state) {
    case 'down':
      return `${name} is down — we're on it.`;
    case 'degraded':
      return `${name} is slow or partly failing — we're looking into it.`;
    case 'maintenance':
      return `${name} is down for planned maintenance.`;
    default:
      return `${name}: ${state}.`;
  }
}

/** What the banner says of an outage of the services called `names`, in `state`. */
function outageLine(names, state) {
  const who = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0];
  switch (state) {
    case 'identified':
      return `${who}: the cause is found and being fixed.`;
    case 'monitoring':
      return `${who} ${names.length > 1 ? 'work' : 'works'} again — we're keeping an eye on it.`;
    default:
      return `${who}: we know and are working on it.`;
  }
}

/**
 * The banner of a public status (`monitor.publicStatus()`): the services not operational and
 * the outages not yet resolved, with times in UTC (`since`, `startedAt`) and as the district
 * reads them (`sinceLocal`, `startedLocal`). Empty lists when all is operational.
 */
export function bannerOf(status) {
  const local = districtTime(status.time_zone);
  const nameOf = (id) => status.services.find((s) => s.id === id)?.name ?? id;
  return {
    generatedAt: status.generated_at,
    timeZone: status.time_zone,
    services: status.services
      .filter((s) => s.state !== 'operational')
      .map((s) => ({
        id: s.id,
        name: s.name,
        state: s.state,
        message: headline(s.name, s.state),
        impact: s.impact ?? null,
        workaround: s.workaround ?? null,
        since: s.since ?? null,
        sinceLocal: local(s.since),
      })),
    incidents: status.incidents
      .filter((i) => i.state !== 'resolved')
      .map((i) => ({
        id: i.id,
        title: i.title,
        services: i.services,
        state: i.state,
        message: outageLine(i.services.map(nameOf), i.state),
        startedAt: i.started_at,
        startedLocal: local(i.started_at),
        latest: i.updates.at(-1)?.text ?? null,
      })),
  };
}

/** The banner as HTML; empty when there is nothing to say. */
function bannerHtml(banner) {
  if (banner.services.length === 0 && banner.incidents.length === 0) return '';
  const parts = banner.services.map((s) => {
    const lines = [`<strong>${escapeHtml(s.message)}</strong>`];
    if (s.impact) lines.push(escapeHtml(s.impact));
    if (s.workaround) lines.push(`Meanwhile: ${escapeHtml(s.workaround)}`);
    if (s.sinceLocal) lines.push(`<small>Since ${escapeHtml(s.sinceLocal)}.</small>`);
    return `<p>${lines.join(' ')}</p>`;
  });
  for (const i of banner.incidents) {
    const words = i.latest ? ` ${escapeHtml(i.latest)}` : '';
    parts.push(`<p><strong>${escapeHtml(i.message)}</strong>${words}</p>`);
  }
  return `<div class="banner" role="alert">\n${parts.join('\n')}\n</div>`;
}

function page(title, bannerPart, body) {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: sans-serif; margin: 0; color: #1d1d1d; }
.banner { background: #fff3cd; border-bottom: 2px solid #e0a800; padding: 0.5em 1em; }
main { padding: 1em; }
</style>
</head>
<body>
${bannerPart}
<main>
${body}
</main>
</body>
</html>
`;
}

function send(res, status, type, text, headers = {}) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/**
 * The portal: its web server, its monitor and the banner the monitor's events keep current.
 * Emits `banner` with each new banner.
 */
export class Portal extends EventEmitter {
  constructor(options) {
    super();
    this.options = options;
    /** The portal's address once listening ("http://127.0.0.1:8080"). */
    this.url = null;
    /** The monitor (started by `startPortal`). */
    this.monitor = null;
    /** The HTTP server. */
    this.server = null;
    /**
     * Demonstration aid: how the login page fails when set (`'error'`, `'no-form'`,
     * `'slow'`), `null` for a working page. The `failSwitch` file, when it exists, wins.
     */
    this.loginFailure = null;
    this._banner = { generatedAt: null, timeZone: null, services: [], incidents: [] };
    this._refreshing = Promise.resolve();
    this._stopping = null;
  }

  /** The current banner (see `bannerOf`). */
  get banner() {
    return this._banner;
  }

  /** How the login page fails right now, or `null`. */
  failure() {
    const file = this.options.failSwitch;
    if (file) {
      let word;
      try {
        word = fs.readFileSync(file, 'utf8').trim();
      } catch {
        word = null; // no file: the switch is off
      }
      if (word !== null) return FAILURES.includes(word) ? word : 'error';
    }
    return this.loginFailure;
  }

  /**
   * Reads the public view of services again and makes it the banner. Refreshes run one after
   * another, so a slower earlier one never overwrites a later one.
   */
  refresh() {
    this._refreshing = this._refreshing
      .then(() => this.monitor.publicStatus())
      .then(
        (status) => {
          this._banner = bannerOf(status);
          this.emit('banner', this._banner);
        },
        (error) => {
          console.error(`portal: the status could not be read: ${error.message}`);
        },
      );
    return this._refreshing;
  }

  async _handle(req, res) {
    const path = new URL(req.url, 'http://portal').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
    }
    const title = this.options.title;
    if (path === '/banner.json') {
      return send(res, 200, 'application/json', `${JSON.stringify(this._banner, null, 2)}\n`);
    }
    if (path === '/') {
      const body = `<h1>${escapeHtml(title)}</h1>
<p>Grades, attendance and report cards for staff, students and families.</p>
<p><a href="/login">Sign in</a></p>`;
      return send(res, 200, 'text/html; charset=utf-8', page(title, bannerHtml(this._banner), body));
    }
    if (path === '/login') {
      const failure = this.failure();
      if (failure === 'error') {
        return send(res, 503, 'text/html; charset=utf-8', page(title, '', '<h1>Service unavailable</h1>'));
      }
      if (failure === 'no-form') {
        return send(res, 200, 'text/html; charset=utf-8', page(title, '', '<h1>Something went wrong</h1>'));
      }
      if (failure === 'slow') await new Promise((r) => setTimeout(r, 3000));
      const body = `<h1>Sign in to ${escapeHtml(title)}</h1>
<form method="post" action="/login">
<label>User name <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form>`;
      return send(res, 200, 'text/html; charset=utf-8', page(title, bannerHtml(this._banner), body));
    }
    return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }

  /** Stops the monitor and the web server; safe to call more than once. */
  stop() {
    this._stopping ??= (async () => {
      const closed = new Promise((resolve) => this.server.close(() => resolve()));
      this.server.closeAllConnections();
      try {
        await this.monitor?.stop();
      } finally {
        this.monitor?.removeAllListeners('incident');
        await closed;
        await this._refreshing;
      }
    })();
    return this._stopping;
  }
}

/**
 * Starts the portal: listens, builds its monitor (the login page's probe, the "School
 * portal" service, e-mail when `smtp` is given), starts it and shows the first banner.
 *
 * @param {object} [options]
 * @param {string} [options.host] the address to listen on (default 127.0.0.1)
 * @param {number} [options.port] the port (default 8080; 0 for any free port)
 * @param {string} [options.database] the monitor's history (default portal.db)
 * @param {string} [options.timeZone] the district's IANA zone (default this machine's)
 * @param {string} [options.title] the portal's name
 * @param {string} [options.interval] how often the login page is checked (default "30s")
 * @param {number} [options.failureThreshold] failed checks in a row that open an incident (2)
 * @param {number} [options.slowAfter] seconds past which the login page is slow (2)
 * @param {{host: string, port: number, tls?: string, username?: string, password?: string}} [options.smtp]
 *   the SMTP server; without it, no e-mail
 * @param {string} [options.mailFrom] the sender of the e-mails
 * @param {string[]} [options.ictTo] who hears of incidents at once (ICT)
 * @param {string[]} [options.staffTo] who hears of outages in plain words (staff)
 * @param {string} [options.broadcastDelay] how long the portal must be down before staff
 *   are told (default "5m": a blip is not news)
 * @param {string} [options.failSwitch] demonstration aid: a file that, while it exists, makes
 *   the login page fail (see the top of this file)
 * @returns {Promise<Portal>}
 */
export async function startPortal(options = {}) {
  const o = {
    host: '127.0.0.1',
    port: 8080,
    database: 'portal.db',
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    title: 'School portal',
    interval: '30s',
    failureThreshold: 2,
    slowAfter: 2,
    smtp: null,
    mailFrom: 'School portal <portal@district.example>',
    ictTo: [],
    staffTo: [],
    broadcastDelay: '5m',
    failSwitch: null,
    ...options,
  };
  const portal = new Portal(o);
  portal.server = http.createServer((req, res) => {
    portal._handle(req, res).catch((error) => {
      console.error(`portal: ${error.stack}`);
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  await new Promise((resolve, reject) => {
    portal.server.once('error', reject);
    portal.server.listen(o.port, o.host, () => {
      portal.server.off('error', reject);
      resolve();
    });
  });
  const { port } = portal.server.address();
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  portal.url = `http://${host}:${port}`;

  try {
    const builder = Monitor.builder()
      .database(o.database)
      .timeZone(o.timeZone)
      .check('portal-login', new LoginPageProbe({ url: `${portal.url}/login`, slowAfter: o.slowAfter }), {
        interval: o.interval,
        failureThreshold: o.failureThreshold,
        successThreshold: 1,
      })
      .service(SERVICE, {
        name: 'School portal',
        checks: ['portal-login'],
        description: 'Grades, attendance and report cards',
        impact: 'Staff, students and families cannot sign in to see or enter grades and attendance.',
        workaround: 'Take attendance on paper and enter it once the portal is back.',
      });
    if (o.staffTo.length > 0 && o.ictTo.length === 0) {
      throw new TypeError('staff are told of outages beside ICT: give ictTo (--ict-to) too');
    }
    if (o.smtp && o.ictTo.length > 0) {
      const mail = { ...o.smtp, from: o.mailFrom };
      // ICT hears of every incident at once; the staff list only through its audience.
      builder
        .sink('ict-mail', sinks.email({ ...mail, to: o.ictTo }))
        .policy('ict', { type: 'notify', sinks: ['ict-mail'] })
        .defaultPolicy('ict');
      if (o.staffTo.length > 0) {
        builder.sink('staff-mail', sinks.email({ ...mail, to: o.staffTo }));
        builder.audience('staff', {
          name: 'Staff',
          sinks: ['staff-mail'],
          services: [SERVICE],
          delay: o.broadcastDelay,
        });
      }
    }
    portal.monitor = await builder.build();
    // The banner follows the incidents: each opened, updated or resolved incident reads the
    // public view of services again.
    portal.monitor.on('incident', () => portal.refresh());
    portal.monitor.on('error', (error) => console.error(`portal: the monitor stopped: ${error.message}`));
    await portal.monitor.start();
    await portal.refresh();
  } catch (error) {
    await new Promise((resolve) => portal.server.close(() => resolve()));
    throw error;
  }
  return portal;
}

/** `HOST:PORT` as `{host, port}`. */
function hostPort(text) {
  const at = text.lastIndexOf(':');
  const port = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new TypeError(`--smtp ${text}: expected HOST:PORT`);
  }
  return { host: text.slice(0, at), port };
}

/** The command line: serves until Ctrl-C or SIGTERM. */
async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8080' },
      database: { type: 'string', default: 'portal.db' },
      'time-zone': { type: 'string' },
      interval: { type: 'string', default: '30s' },
      'failure-threshold': { type: 'string', default: '2' },
      'slow-after': { type: 'string', default: '2' },
      smtp: { type: 'string', default: process.env.PORTAL_SMTP },
      'smtp-tls': { type: 'string', default: 'starttls' },
      'smtp-username': { type: 'string' },
      'mail-from': { type: 'string' },
      'ict-to': { type: 'string', multiple: true, default: [] },
      'staff-to': { type: 'string', multiple: true, default: [] },
      'broadcast-delay': { type: 'string', default: '5m' },
      'fail-switch': { type: 'string' },
    },
  });
  const smtp = values.smtp ? { ...hostPort(values.smtp), tls: values['smtp-tls'] } : null;
  if (smtp && values['smtp-username']) {
    // The password comes from the environment and is never printed.
    smtp.username = values['smtp-username'];
    smtp.password = process.env.SMTP_PASSWORD ?? '';
  }
  const portal = await startPortal({
    host: values.host,
    port: Number(values.port),
    database: values.database,
    ...(values['time-zone'] ? { timeZone: values['time-zone'] } : {}),
    interval: values.interval,
    failureThreshold: Number(values['failure-threshold']),
    slowAfter: Number(values['slow-after']),
    smtp,
    ...(values['mail-from'] ? { mailFrom: values['mail-from'] } : {}),
    ictTo: values['ict-to'],
    staffTo: values['staff-to'],
    broadcastDelay: values['broadcast-delay'],
    failSwitch: values['fail-switch'] ?? null,
  });
  const local = districtTime(portal.options.timeZone);
  portal.on('banner', (banner) => {
    const now = local(new Date().toISOString());
    const words = banner.services.map((s) => s.message).join(' ') || 'all services operational';
    console.log(`${now}  banner: ${words}`);
  });
  console.log(`school portal on ${portal.url} (banner JSON at ${portal.url}/banner.json); Ctrl-C stops`);
  const stop = (signal) => {
    console.log(`${signal}: stopping`);
    portal.stop().then(
      () => console.log('stopped'),
      (error) => {
        console.error(`portal: ${error.message}`);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(`portal: ${error.message}`);
    process.exitCode = 2;
  });
}
