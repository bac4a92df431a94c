#!/usr/bin/env python3
"""Helpers of benches/peers.sh (standard library only).

  measure   CPU, checks delivered (nginx stub_status) and RSS of one running tool over a window
  blackbox  drive blackbox_exporter's /probe, paced or saturated, until killed
  nagios    fork a Nagios plugin per check at a paced rate until killed; SIGUSR1 appends the
            CPU of the plugins run so far (getrusage RUSAGE_CHILDREN) to a file
  table     the markdown table (medians of the runs) from the JSON lines
"""

import argparse
import http.client
import json
import os
import resource
import signal
import statistics
import sys
import threading
import time
import urllib.request

# ---------------------------------------------------------------------------------------- measure


def task_cpu_ns(pid):
    """Nanoseconds on CPU of every thread of pid (/proc/PID/task/*/schedstat, first field)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # the thread ended between listdir and open
    return total


def stat_cpu_ns(pid):
    """utime + stime of the whole process (threads that ended included), in ns; clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stub_status(url):
    """nginx stub_status: (accepts, requests)."""
    with urllib.request.urlopen(url, timeout=5) as r:
        lines = r.read().decode().splitlines()
    accepts, _handled, requests = (int(x) for x in lines[2].split())
    return accepts, requests


def children_cpu(path, pid, previous_lines):
    """Asks the nagios driver (SIGUSR1) for its children's CPU; waits for the new line."""
    os.kill(pid, signal.SIGUSR1)
    for _ in range(200):
        time.sleep(0.01)
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            continue
        if len(lines) > previous_lines:
            cpu_ns, maxrss, reaped = (int(x) for x in lines[-1].split())
            return cpu_ns, maxrss, reaped, len(lines)
    sys.exit(f"peers.py: the nagios driver (pid {pid}) did not answer SIGUSR1")


def measure(a):
    meta = dict(kv.split("=", 1) for kv in a.meta)
    for k in ("targets",):
        if k in meta:
            meta[k] = int(meta[k])
    pid = a.pid
    time.sleep(a.warmup)
    if not os.path.exists(f"/proc/{pid}"):
        sys.exit(f"peers.py: {meta.get('tool')} (pid {pid}) ended during the warm-up")
    lines = 0
    if a.children_file:
        c0, _, _, lines = children_cpu(a.children_file, pid, lines)
    else:
        c0, s0 = task_cpu_ns(pid), stat_cpu_ns(pid)
    acc0, req0 = stub_status(a.stub)
    t0 = time.monotonic()
    time.sleep(a.window)
    acc1, req1 = stub_status(a.stub)
    t1 = time.monotonic()
    if a.children_file:
        c1, _maxrss, _n1, _ = children_cpu(a.children_file, pid, lines)
        cpu_ns, cross = c1 - c0, None
        rss = None  # short-lived processes: no resident size to read at the end of the window
    else:
        c1, s1 = task_cpu_ns(pid), stat_cpu_ns(pid)
        cpu_ns, cross = c1 - c0, s1 - s0
        rss = rss_kib(pid)
    window = t1 - t0
    # Each stub_status read is itself one connection and one request: the second one is in the delta.
    delivered = (acc1 - acc0 - 1) if a.counter == "accepts" else (req1 - req0 - 1)
    row = dict(meta)
    row.update(
        window_s=round(window, 3),
        cpu_ns=cpu_ns,
        cpu_stat_ns=cross,
        cores=round(cpu_ns / 1e9 / window, 4),
        delivered=delivered,
        due=round(a.due_rate * window) if a.due_rate else None,
        rss_kib=rss,
        load=os.getloadavg()[0],
    )
    if delivered > 0:
        row["us_per_check"] = round(cpu_ns / 1000 / delivered, 2)
        row["checks_per_cpu_s"] = round(delivered / (cpu_ns / 1e9)) if cpu_ns else None
    if cross and cpu_ns and abs(cross - cpu_ns) > 0.05 * cpu_ns + 20_000_000:
        # Threads that ended during the window take their schedstat with them.
        print(
            f"peers.py: {meta.get('tool')}: schedstat {cpu_ns / 1e6:.0f} ms, /proc/PID/stat "
            f"{cross / 1e6:.0f} ms (threads ended in the window?)",
            file=sys.stderr,
        )
    print(json.dumps(row), flush=True)


# --------------------------------------------------------------------------------------- blackbox


def blackbox(a):
    ports = list(range(a.ports[0], a.ports[1] + 1))
    if a.module == "tcp_connect":
        targets = [f"127.0.0.1:{p}" for p in ports]
    else:
        targets = [f"http://127.0.0.1:{p}/" for p in ports]
    host, port = a.exporter.split(":")
    per_thread = a.rate / a.concurrency if a.rate else 0
    failures = [0]

    def worker(k):
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        start = time.monotonic()
        i = 0
        while True:
            if per_thread:
                wait = start + i / per_thread - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            target = targets[(k + i * a.concurrency) % len(targets)]
            try:
                conn.request("GET", f"/probe?target={target}&module={a.module}")
                body = conn.getresponse().read()
                if b"probe_success 1" not in body:
                    failures[0] += 1
            except (OSError, http.client.HTTPException):
                failures[0] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
            i += 1

    for k in range(a.concurrency):
        threading.Thread(target=worker, args=(k,), daemon=True).start()
    while True:
        time.sleep(10)
        if failures[0]:
            print(f"blackbox driver: {failures[0]} probes failed so far", file=sys.stderr)


# ----------------------------------------------------------------------------------------- nagios


def nagios(a):
    ports = list(range(a.ports[0], a.ports[1] + 1))
    plugin = a.plugin
    reaped = [0]
    failed = [0]

    def report(_sig, _frame):
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        ns = int((ru.ru_utime + ru.ru_stime) * 1e9)
        with open(a.out, "a") as f:
            f.write(f"{ns} {ru.ru_maxrss} {reaped[0]}\n")

    signal.signal(signal.SIGUSR1, report)
    devnull = os.open(os.devnull, os.O_WRONLY)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    start = time.monotonic()
    i = 0
    while True:
        wait = start + i / a.rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        port = ports[i % len(ports)]
        argv = [plugin, "-H", "127.0.0.1", "-p", str(port)] + a.extra
        os.posix_spawn(plugin, argv, {}, file_actions=actions)
        i += 1
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            reaped[0] += 1
            if os.waitstatus_to_exitcode(status) != 0:
                failed[0] += 1
                if failed[0] in (1, 100, 10000):
                    print(f"nagios driver: {failed[0]} checks failed", file=sys.stderr)


# ------------------------------------------------------------------------------------------ table


def fmt(x, digits=1):
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def fmt_kib(kib):
    if kib is None:
        return "—"
    if kib >= 10240:
        return f"{kib / 1024:,.0f} MiB"
    return f"{kib / 1024:.1f} MiB"


def table(a):
    rows = [json.loads(line) for line in open(a.jsonl) if line.strip()]
    cells = {}
    order = []
    for r in rows:
        key = (r["workload"], r["tool"])
        if key not in cells:
            order.append(key)
        cells.setdefault(key, []).append(r)

    def med(rs, k):
        vals = [r[k] for r in rs if r.get(k) is not None]
        return statistics.median(vals) if vals else None

    summary = {}
    for key in order:
        rs = cells[key]
        us = [r["us_per_check"] for r in rs if r.get("us_per_check")]
        pct = [100 * r["delivered"] / r["due"] for r in rs if r.get("due")]
        summary[key] = dict(
            us=statistics.median(us) if us else None,
            us_lo=min(us) if us else None,
            us_hi=max(us) if us else None,
            per_cpu_s=med(rs, "checks_per_cpu_s"),
            rate=statistics.median([r["delivered"] / r["window_s"] for r in rs]),
            pct=statistics.median(pct) if pct else None,
            pct_lo=min(pct) if pct else None,
            rss=med(rs, "rss_kib"),
            targets=rs[0].get("targets"),
            per_target=rs[0].get("per_target", "yes") == "yes",
            cores=med(rs, "cores"),
            runs=len(rs),
        )
    print(
        "| workload | tool | CPU µs per check, median (range) | checks per CPU-second "
        "| delivered/s | delivered / due | cores | RSS | RSS per target | forewarn ÷ this |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key in order:
        w, tool = key
        s = summary[key]
        fw = summary.get((w, "forewarn"), {}).get("us")
        ratio = "—"
        if tool != "forewarn" and fw and s["us"]:
            ratio = f"{fw / s['us']:.2f}"
        pct = "—"
        if s["pct"] is not None:
            pct = f"{s['pct']:.1f} %"
            if s["runs"] > 1:
                pct += f" (≥ {s['pct_lo']:.1f})"
        per_target = "—"
        if s["rss"] and s["targets"] and s["per_target"]:
            per_target = f"{s['rss'] / s['targets']:.2f} KiB"
        us = "—"
        if s["us"] is not None:
            us = fmt(s["us"])
            if s["runs"] > 1:
                us += f" ({fmt(s['us_lo'])}–{fmt(s['us_hi'])})"
        print(
            f"| {w} | {tool} | {us} | {fmt(s['per_cpu_s'], 0)} | {fmt(s['rate'], 0)} | {pct} "
            f"| {fmt(s['cores'], 3)} | {fmt_kib(s['rss'])} | {per_target} | {ratio} |"
        )
    # The targets, where the cells exist.
    print()
    checks = []

    def us(w, t):
        return summary.get((w, t), {}).get("us")

    for w in ("TCP 2,000 @ 1 s", "TCP 10,000 @ 1 s"):
        if us(w, "forewarn") and us(w, "monit"):
            checks.append((f"{w}: forewarn ÷ monit ≤ 0.8", us(w, "forewarn") / us(w, "monit"), 0.8))
        for floor in ("floor", "floor (reset close)"):
            if us(w, "forewarn") and us(w, floor):
                checks.append((f"{w}: forewarn ÷ {floor} ≤ 1.6", us(w, "forewarn") / us(w, floor), 1.6))
    w = "HTTP closes 2,000 @ 1 s"
    if us(w, "forewarn") and us(w, "monit"):
        checks.append((f"{w}: forewarn ÷ monit ≤ 0.8", us(w, "forewarn") / us(w, "monit"), 0.8))
    monit_close = us(w, "monit")
    for wk in ("HTTP keep-alive 2,000 @ 1 s", "HTTP keep-alive 10,000 @ 1 s"):
        if us(wk, "forewarn") and monit_close:
            checks.append(
                (f"{wk}: forewarn ÷ monit's HTTP close ≤ 0.5", us(wk, "forewarn") / monit_close, 0.5)
            )
    for (wk, tool), s in summary.items():
        if tool == "forewarn" and s["pct"] is not None:
            checks.append((f"{wk}: forewarn delivered ≥ 99.5 % of due", s["pct_lo"], -99.5))
    if checks:
        print("| target | measured | met |")
        print("|---|---|---|")
        for name, value, limit in checks:
            met = value >= -limit if limit < 0 else value <= limit
            shown = f"{value:.1f} %" if limit < 0 else f"{value:.2f}"
            print(f"| {name} | {shown} | {'yes' if met else 'no'} |")


# ------------------------------------------------------------------------------------------- main


def ports(s):
    lo, hi = s.split("-")
    return int(lo), int(hi)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--pid", type=int, required=True)
    m.add_argument("--warmup", type=float, default=5)
    m.add_argument("--window", type=float, default=20)
    m.add_argument("--stub", required=True)
    m.add_argument("--counter", choices=["accepts", "requests"], required=True)
    m.add_argument("--due-rate", type=float, default=0)
    m.add_argument("--children-file")
    m.add_argument("--meta", nargs="*", default=[])
    b = sub.add_parser("blackbox")
    b.add_argument("--exporter", required=True)
    b.add_argument("--module", required=True)
    b.add_argument("--ports", type=ports, required=True)
    b.add_argument("--rate", type=float, default=0, help="probes per second; 0: as fast as it can")
    b.add_argument("--concurrency", type=int, default=4)
    n = sub.add_parser("nagios")
    n.add_argument("--plugin", required=True)
    n.add_argument("--ports", type=ports, required=True)
    n.add_argument("--rate", type=float, required=True)
    n.add_argument("--out", required=True)
    n.add_argument("extra", nargs="*")
    t = sub.add_parser("table")
    t.add_argument("jsonl")
    a = p.parse_args()
    {"measure": measure, "blackbox": blackbox, "nagios": nagios, "table": table}[a.cmd](a)


if __name__ == "__main__":
    main()
