// A probe of your own, in JavaScript: the school portal's login page, checked the way a
// teacher meets it in the morning.
//
// The check GETs the login page. It is Critical when the portal does not answer (within the
// check's timeout), answers an HTTP error, or answers a page without the login form (a
// maintenance page, an error page served with 200); Warning when the page takes longer than
// `slowAfter` seconds; OK otherwise. Every answer carries the response time as the
// `response_time` metric (seconds).
//
//   import { LoginPageProbe } from './login_probe.mjs';
//   builder.check('portal-login', new LoginPageProbe({ url: 'https://portal.district.example/login' }),
//                 { interval: '30s' });
//
// It runs beside the built-in checks, through the same state machine, incidents, alerts and
// history. Run on its own, it looks once and prints what it found:
//
//   node examples/node/login_probe.mjs https://portal.district.example/login [--slow-after 2]
//
// (exit status 0 OK, 1 Warning, 2 Critical, as monitoring plugins do).

import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** A login form: a `<form>` holding a password field. */
const LOGIN_FORM = /<form\b[^>]*>[\s\S]*?<input\b[^>]*\btype\s*=\s*["']?password\b[\s\S]*?<\/form>/i;

/** What went wrong with a fetch that did not get an answer, in a few words. */
function whyNoAnswer(error, timeout) {
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError') {
    return `no answer within ${timeout} s`;
  }
  const cause = error?.cause;
  if (cause?.code) return `${cause.code}${cause.address ? ` (${cause.address}:${cause.port})` : ''}`;
  return cause?.message || error?.message || String(error);
}

/** Seconds, as people read a response time: "0.120 s" or "35 ms". */
function seconds(s) {
  return s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`;
}

/**
 * Checks a login page: answered, with a login form, and not slow. A forewarn probe (`kind`,
 * `target`, `check(ctx)`) to give to `Monitor.builder().check(name, probe, settings)`.
 */
export class LoginPageProbe {
  /**
   * @param {{url: string, slowAfter?: number}} options `url`: the login page's address;
   *   `slowAfter`: seconds past which the page counts as slow (Warning), default 2.
   */
  constructor({ url, slowAfter = 2 } = {}) {
    const parsed = new URL(url); // throws a TypeError for an invalid address
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`the login page is an http:// or https:// address, not ${url}`);
    }
    if (!(typeof slowAfter === 'number' && slowAfter > 0)) {
      throw new TypeError(`slowAfter is a positive number of seconds, not ${slowAfter}`);
    }
    /** The kind of check, for listings. */
    this.kind = 'login-page';
    /** What is probed, for listings. */
    this.target = parsed.href;
    /** Seconds past which the page counts as slow. */
    this.slowAfter = slowAfter;
  }

  /**
   * One look at the login page.
   * @param {{check: string, timeout: number}} ctx the check's name and its timeout in seconds
   * @returns {Promise<{status: string, summary: string, metrics?: object, latency?: number}>}
   */
  async check(ctx) {
    const timeout = ctx?.timeout > 0 ? ctx.timeout : 10;
    const started = performance.now();
    let response;
    let body;
    try {
      response = await fetch(this.target, {
        redirect: 'follow',
        headers: { 'user-agent': 'forewarn login-page probe' },
        signal: AbortSignal.timeout(timeout * 1000),
      });
      body = await response.text();
    } catch (error) {
      return {
        status: 'critical',
        summary: `the login page does not answer: ${whyNoAnswer(error, timeout)}`,
      };
    }
    const took = (performance.now() - started) / 1000;
    const metrics = { response_time: [took, 's'] };
    if (!response.ok) {
      return {
        status: 'critical',
        summary: `the login page answers HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
        metrics,
        latency: took,
      };
    }
    if (!LOGIN_FORM.test(body)) {
      return {
        status: 'critical',
        summary: `the login page answers HTTP ${response.status} without its login form`,
        metrics,
        latency: took,
      };
    }
    if (took > this.slowAfter) {
      return {
        status: 'warning',
        summary: `the login page took ${seconds(took)} (slow past ${seconds(this.slowAfter)})`,
        metrics,
        latency: took,
      };
    }
    return { status: 'ok', summary: `login page up in ${seconds(took)}`, metrics, latency: took };
  }
}

/** Runs the probe once against the address given on the command line. */
async function main(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'slow-after': { type: 'string', default: '2' }, timeout: { type: 'string', default: '10' } },
  });
  if (positionals.length !== 1) {
    console.error('usage: node login_probe.mjs URL [--slow-after SECONDS] [--timeout SECONDS]');
    return 3;
  }
  const probe = new LoginPageProbe({ url: positionals[0], slowAfter: Number(values['slow-after']) });
  const result = await probe.check({ check: 'portal-login', timeout: Number(values.timeout) });
  const time = result.metrics ? ` [response_time=${result.metrics.response_time[0].toFixed(3)}s]` : '';
  console.log(`${result.status}: ${result.summary}${time}`);
  return { ok: 0, warning: 1, critical: 2 }[result.status] ?? 3;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
