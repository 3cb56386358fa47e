"""Runs the whole benchmark and writes results.json, results.md and throughput.png.

Normally started through bench/run (which builds Release first); directly:
    /usr/bin/python3 -m sealbench.main --build-dir build-release --out bench-out [--quick]
"""
import argparse
import asyncio
import datetime
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import ceiling, floor, loadgen, measure, messages, procs, procstat, relay_setup, report

METHODS = ["plain", "pgp", "smime", "pickup"]
BIG_MESSAGE_BYTES = 100 * 1000 * 1000


class Plan:
    """What one run measures; --quick shrinks every dimension."""

    def __init__(self, args):
        self.quick = args.quick
        self.sizes = args.sizes or (["5KB"] if args.quick else ["5KB", "50KB", "5MB"])
        self.rcpts = args.rcpts or ([1] if args.quick else [1, 5])
        self.methods = args.methods or (["plain", "pgp"] if args.quick else METHODS)
        self.sessions = args.sessions or (2 if args.quick else 20)
        self.workers = args.workers or (2 if args.quick else 8)
        self.duration = args.duration or (1.0 if args.quick else 8.0)
        self.memory = not args.quick and not args.no_memory
        self.harness_check = not args.quick
        self.floor_seconds = 1.0 if args.quick else 4.0
        self.pgp_key = args.pgp_key
        self.stall_timeout = 30.0 if args.quick else 90.0

    def ceiling_count(self, size):
        if self.quick:
            return 200
        return {"5KB": 8000, "50KB": 6000, "5MB": 200}.get(size, 1000)

    def message_cap(self, size):
        """At most this many messages per load phase: a relay that accepts 5 MB mail
        faster than it can encrypt it would otherwise build a backlog of minutes."""
        if self.quick:
            return 50
        return {"5MB": 120}.get(size, 1 << 30)

    def as_dict(self):
        return {k: getattr(self, k) for k in ("sizes", "rcpts", "methods", "sessions", "workers",
                                              "duration", "memory", "stall_timeout",
                                              "floor_seconds", "pgp_key")}


def log(text):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), text), file=sys.stderr, flush=True)


class Runner:
    def __init__(self, args, plan, workdir):
        self.args, self.plan, self.workdir = args, plan, Path(workdir)
        self.build_dir = Path(args.build_dir).resolve()
        self.bodies = {s: messages.body_of_size(messages.SIZES[s]) for s in plan.sizes}
        self.case_seq = 0
        self.results = {
            "schema": "sealpost-bench/1",
            "mode": "quick" if plan.quick else "full",
            "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": {"kernel": platform.release(), "cpus": os.cpu_count(),
                     "python": platform.python_version(), "build": _build_type(self.build_dir),
                     "load_avg_at_start": list(os.getloadavg())},
            "params": plan.as_dict(),
            "ceiling": [], "harness_check": [], "floor": [], "relay": [], "memory": [],
        }

    def next_case_id(self):
        self.case_seq += 1
        return "c%d" % self.case_seq

    # --- raw ceiling -------------------------------------------------------------------
    def run_ceiling(self):
        """smtp-source into smtp-sink, and into our bench sink: smtp-sink reads line by
        line and is slow for big messages, so the ceiling is the faster receiver of the
        two (ratios are never flattered by a slow reference)."""
        d = self.workdir / "ceiling"
        d.mkdir(parents=True, exist_ok=True)
        with procs.SmtpSink(d) as sink, procs.BenchSink(d / "benchsink") as bsink:
            for size in self.plan.sizes:
                src = ceiling.write_source_file(d / ("%s.msg" % size), self.bodies[size])
                for rcpts in self.plan.rcpts:
                    log("ceiling %s x%d" % (size, rcpts))
                    count = self.plan.ceiling_count(size)
                    ref = ceiling.measure(sink, src, count, self.plan.sessions, rcpts)
                    ours = ceiling.measure(bsink, src, count, self.plan.sessions, rcpts)
                    best = max(ref["msgs_per_s"], ours["msgs_per_s"])
                    self.results["ceiling"].append({
                        "size": size, "rcpts": rcpts, "size_bytes": src.stat().st_size,
                        "msgs_per_s": best,
                        "receiver": "smtp-sink" if best == ref["msgs_per_s"] else "bench sink",
                        "smtp_sink": ref, "bench_sink": ours,
                        # CPU and memory are compared with the C reference receiver.
                        "receiver_cpu_s_per_msg": ref["receiver_cpu_s_per_msg"],
                        "receiver_peak_rss_kib": ref["receiver_peak_rss_kib"]})
                if self.plan.harness_check:
                    self._check_loadgen_into_smtp_sink(sink, size)

    def _check_loadgen_into_smtp_sink(self, sink, size):
        spec = loadgen.LoadSpec(self.next_case_id(), relay_setup.SENDER_DOMAIN, "sink.example",
                                1, body=self.bodies[size], concurrency=self.plan.sessions,
                                duration=min(self.plan.duration, 4.0))
        subs, seconds = asyncio.run(loadgen.run_load("127.0.0.1", sink.port, spec))
        accepted = sum(1 for s in subs if s.accepted)
        self._add_check("bench load generator -> smtp-sink", size,
                        round(accepted / seconds, 1) if seconds > 0 else 0.0)

    def _add_check(self, pair, size, rate):
        ceil = (self._ceiling_field(size, 1, "smtp_sink") or {}).get("msgs_per_s")
        self.results["harness_check"].append({
            "pair": pair, "size": size, "msgs_per_s": rate,
            "ratio_to_ceiling": round(rate / ceil, 3) if ceil else None})

    def _ceiling(self, size, rcpts):
        for c in self.results["ceiling"]:
            if c["size"] == size and c["rcpts"] == rcpts:
                return c["msgs_per_s"]
        return None

    # --- durable-write floor -----------------------------------------------------------
    def run_floor(self):
        """The file-system work a durable 250 needs, alone, on the state dir's file
        system (floor.py): how much of the gap to the ceiling is the disk's."""
        for size in self.plan.sizes:
            for layout in floor.LAYOUTS:
                log("durable-write floor %s, %s" % (size, layout))
                d = self.workdir / "floor" / ("%s-%s" % (size, layout.replace(" ", "-")))
                row = floor.measure(d, layout, messages.SIZES[size], self.plan.sessions,
                                    self.plan.floor_seconds)
                row["size"] = size
                ceil = self._ceiling(size, 1)
                row["ratio_to_ceiling"] = round(row["msgs_per_s"] / ceil, 3) \
                    if ceil and row["msgs_per_s"] else None
                self.results["floor"].append(row)

    def _floor(self, size):
        for f in self.results["floor"]:
            if f["size"] == size and f["layout"] == "sealpost":
                return f["msgs_per_s"] or None
        return None

    # --- relay -------------------------------------------------------------------------
    def run_relay(self):
        keys = relay_setup.prepare_keys(self.workdir / "keys",
                                        [m for m in self.plan.methods if m in relay_setup.KEYED],
                                        max(self.plan.rcpts), self.plan.pgp_key)
        with procs.BenchSink(self.workdir / "sink") as sink:
            records = measure.SinkRecords(sink.records)
            for method in self.plan.methods:
                self._run_method(method, keys.get(method), sink, records)
            if self.plan.memory:
                for method in ("smime", "pgp"):
                    self._run_memory(method, keys.get(method) or relay_setup.prepare_keys(
                        self.workdir / "keys-mem", [method], 1, self.plan.pgp_key)[method],
                        sink, records)

    def _start_relay(self, name, key_info, sink):
        anchor, files = key_info if key_info else (None, [])
        relay = relay_setup.BenchRelay(self.build_dir, self.workdir / name, sink.port,
                                       self.plan.workers, trust_anchor=anchor)
        relay.import_keys(files)
        relay.start()
        return relay

    def _spec(self, method, size, rcpts, **kw):
        fixed = relay_setup.keyed_recipients(method) if method in relay_setup.KEYED else []
        return loadgen.LoadSpec(self.next_case_id(), relay_setup.SENDER_DOMAIN,
                                relay_setup.RCPT_DOMAINS[method], rcpts,
                                body=kw.pop("body", b""), fixed_rcpts=fixed, **kw)

    def _phase(self, relay, records, spec, timeout=None):
        """One load phase against the relay, then wait until the sink has everything."""
        records.mark()
        subs, _ = asyncio.run(loadgen.run_load("127.0.0.1", relay.port, spec))
        expected = {s.token: spec.rcpts for s in subs if s.accepted}
        deliveries = measure.wait_for_deliveries(records, expected,
                                                 timeout or self.plan.stall_timeout)
        return measure.summarize(subs, deliveries, spec.rcpts)

    def _run_method(self, method, key_info, sink, records):
        log("relay method %s: starting sealpostd" % method)
        try:
            relay = self._start_relay(method, key_info, sink)
        except (RuntimeError, TimeoutError, OSError) as e:
            for size in self.plan.sizes:
                for rcpts in self.plan.rcpts:
                    self.results["relay"].append(_failed_case(method, size, rcpts, str(e)))
            return
        try:
            for size in self.plan.sizes:
                for rcpts in self.plan.rcpts:
                    self.results["relay"].append(self._run_case(relay, records, method, size,
                                                                rcpts))
        finally:
            code = relay.stop()
            if code not in (0, None):
                log("sealpostd (%s) exited with %s; log: %s" % (method, code,
                                                               relay.daemon.log_path))

    def _run_case(self, relay, records, method, size, rcpts):
        log("relay %s %s x%d" % (method, size, rcpts))
        body = self.bodies[size]
        # Warm-up: proves the method works end to end before we time it.
        warm = self._phase(relay, records, self._spec(method, size, rcpts, body=body,
                                                      concurrency=1, duration=60,
                                                      max_messages=2),
                           timeout=min(30.0, self.plan.stall_timeout))
        if warm["delivered"] < 1:
            reason = ("warm-up message not delivered: refused=%s, at sink=%d, dsn=%d" % (
                warm["refused_sample"], warm["deliveries_at_sink"], warm["dsn"]))
            return _failed_case(method, size, rcpts, reason, relay.daemon.log_path)
        pid = relay.pid
        rss_reset = procstat.reset_peak_rss(pid)
        cpu0 = sum(procstat.cpu_seconds(pid))
        cap = self.plan.message_cap(size)
        peak = self._phase(relay, records, self._spec(method, size, rcpts, body=body,
                                                      concurrency=self.plan.sessions,
                                                      duration=self.plan.duration,
                                                      max_messages=cap))
        cpu1 = sum(procstat.cpu_seconds(pid))
        peak["peak_rss_kib"] = procstat.memory_kib(pid).get("VmHWM")
        peak["peak_rss_since_start"] = not rss_reset
        peak["cpu_s_per_msg"] = round((cpu1 - cpu0) / peak["delivered"], 6) \
            if peak["delivered"] else None
        ceil = self._ceiling(size, rcpts)
        peak["ratio_to_ceiling"] = round(peak["msgs_per_s"] / ceil, 3) if ceil else None
        disk = self._floor(size)
        peak["ratio_to_floor"] = round(peak["msgs_per_s"] / disk, 3) if disk else None
        sink_cpu = self._ceiling_field(size, rcpts, "receiver_cpu_s_per_msg")
        peak["cpu_ratio_to_sink"] = round(peak["cpu_s_per_msg"] / sink_cpu, 1) \
            if sink_cpu and peak["cpu_s_per_msg"] else None
        half = None
        if peak["msgs_per_s"] > 0:
            rate = peak["msgs_per_s"] / 2
            half = self._phase(relay, records, self._spec(
                method, size, rcpts, body=body, concurrency=self.plan.sessions,
                duration=max(self.plan.duration, 3.0 / rate), rate=rate, max_messages=cap))
            half["target_rate"] = round(rate, 1)
        return {"method": method, "size": size, "size_bytes": len(body), "rcpts": rcpts,
                "peak": peak, "half_rate": half}

    def _ceiling_field(self, size, rcpts, field):
        for c in self.results["ceiling"]:
            if c["size"] == size and c["rcpts"] == rcpts:
                return c.get(field)
        return None

    # --- memory ------------------------------------------------------------------------
    def _run_memory(self, method, key_info, sink, records):
        log("memory run: one 100 MB message with %s" % method)
        big = self.workdir / "big-100MB.msg"
        if not big.exists():
            messages.write_big_message(big, BIG_MESSAGE_BYTES)
        entry = {"method": method, "message_bytes": big.stat().st_size}
        try:
            relay = self._start_relay("memory-" + method, key_info, sink)
        except (RuntimeError, TimeoutError, OSError) as e:
            entry["error"] = str(e)
            self.results["memory"].append(entry)
            return
        try:
            warm = self._phase(relay, records, self._spec(method, "5KB", 1,
                                                          body=messages.body_of_size(5000),
                                                          concurrency=1, duration=60,
                                                          max_messages=1), timeout=30)
            time.sleep(1.0)  # let the worker go idle before taking the baseline
            idle = procstat.memory_kib(relay.pid).get("VmRSS")
            procstat.reset_peak_rss(relay.pid)
            run = self._phase(relay, records, self._spec(method, "100MB", 1, body_file=str(big),
                                                         concurrency=1, duration=600,
                                                         max_messages=1), timeout=300)
            peak = procstat.memory_kib(relay.pid).get("VmHWM")
            entry.update({"idle_rss_kib": idle, "peak_rss_kib": peak,
                          "above_idle_mib": round((peak - idle) / 1024, 1),
                          "delivered": run["delivered"] == 1, "warmup_delivered":
                              warm["delivered"] == 1,
                          "seconds": run["seconds"], "refused_sample": run["refused_sample"]})
        finally:
            relay.stop()
        self.results["memory"].append(entry)


def _failed_case(method, size, rcpts, reason, log_path=None):
    empty = {"submitted": 0, "accepted": 0, "delivered": 0, "refused": 0, "msgs_per_s": 0.0,
             "accepted_per_s": 0.0, "latency_ms": {"p50": None, "p99": None, "max": None}}
    return {"method": method, "size": size, "size_bytes": messages.SIZES.get(size, 0),
            "rcpts": rcpts, "error": reason + (" (see %s)" % log_path if log_path else ""),
            "peak": empty, "half_rate": None}


def _build_type(build_dir):
    cache = Path(build_dir) / "CMakeCache.txt"
    if cache.exists():
        for line in cache.read_text(errors="replace").splitlines():
            if line.startswith("CMAKE_BUILD_TYPE:"):
                return line.split("=", 1)[1] or "default"
    return "unknown"


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for results.json/.md/.png")
    ap.add_argument("--build-dir", required=True, help="CMake build with relay/sealpostd")
    ap.add_argument("--quick", action="store_true", help="tiny smoke run")
    ap.add_argument("--methods", nargs="+", choices=METHODS)
    ap.add_argument("--sizes", nargs="+", choices=list(messages.SIZES))
    ap.add_argument("--rcpts", nargs="+", type=int, choices=[1, 2, 3, 4, 5])
    ap.add_argument("--sessions", type=int, help="parallel SMTP sessions (default 20)")
    ap.add_argument("--workers", type=int, help="sealpostd queue workers (default 8)")
    ap.add_argument("--duration", type=float, help="seconds of load per phase (default 8)")
    ap.add_argument("--no-memory", action="store_true", help="skip the 100 MB runs")
    ap.add_argument("--pgp-key", choices=list(relay_setup.PGP_KEY_TYPES), default="rsa3072",
                    help="recipients' OpenPGP key type (default rsa3072, gpg 2.2's default)")
    ap.add_argument("--ceiling-only", action="store_true", help="no sealpostd needed")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, state)")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    plan = Plan(args)
    workdir = tempfile.mkdtemp(prefix="sealbench-")
    runner = Runner(args, plan, workdir)
    try:
        runner.run_ceiling()
        runner.run_floor()
        sealpostd = runner.build_dir / "relay" / "sealpostd"
        if args.ceiling_only:
            runner.results["relay_skipped"] = "--ceiling-only"
        elif not sealpostd.exists():
            runner.results["relay_skipped"] = "%s not built" % sealpostd
            log("sealpostd not built: relay figures skipped")
        else:
            runner.run_relay()
        runner.results["finished_at"] = datetime.datetime.now(
            datetime.timezone.utc).isoformat(timespec="seconds")
        written = report.write_all(runner.results, args.out)
        for kind, path in written.items():
            log("%s: %s" % (kind, path))
    finally:
        if args.keep:
            log("kept work dir %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
