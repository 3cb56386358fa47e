"""Profiles sealpostd for one method and size: where does a missed target's time go?

    bench/profile --build-dir build-release --method smime --size 50KB [--messages 200]
    bench/profile --build-dir build-release --method plain --size 50KB --perf

Default: callgrind (needs only valgrind). It counts user-space instructions,
repeatably, but sees nothing of the kernel. Writes OUTDIR/callgrind.<method>.<size>.out
and callgrind-<method>-<size>.txt (top entries by inclusive and by self cost).

--perf: `perf record -e cpu-clock -g` on the running daemon at full load (Debian's
linux-perf; `scripts/install-deps --bench` installs it). Samples user and kernel
time alike, so system calls, page faults and the file system show up. Writes
OUTDIR/perf.<method>.<size>.data and perf-<method>-<size>.txt: kernel vs user share,
the top system calls (inclusive) and the top functions (self).

gpg children are not traced in either mode; their share shows up as CPU in the
benchmark's children figure instead.
"""
import argparse
import asyncio
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from . import loadgen, measure, messages, procs, relay_setup


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--method", choices=list(relay_setup.RCPT_DOMAINS), default="plain")
    ap.add_argument("--size", choices=list(messages.SIZES), default="50KB")
    ap.add_argument("--rcpts", type=int, default=1)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--pgp-key", choices=list(relay_setup.PGP_KEY_TYPES), default="rsa3072")
    ap.add_argument("--perf", action="store_true",
                    help="sample user and kernel time with perf instead of callgrind")
    ap.add_argument("--sessions", type=int, default=None,
                    help="parallel SMTP sessions (default 4 with callgrind, 20 with --perf)")
    args = ap.parse_args(argv)
    tool = "perf" if args.perf else "valgrind"
    if not shutil.which(tool):
        sys.exit("bench/profile: %s not installed (scripts/install-deps --bench)" % tool)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "%s-%s" % (args.method, args.size)
    work = Path(tempfile.mkdtemp(prefix="sealbench-profile-"))
    try:
        keys = relay_setup.prepare_keys(work / "keys", [args.method], pgp_key=args.pgp_key)
        anchor, files = keys.get(args.method, (None, []))
        with procs.BenchSink(work / "sink") as sink:
            relay = relay_setup.BenchRelay(Path(args.build_dir).resolve(), work / "relay",
                                           sink.port, args.workers, trust_anchor=anchor)
            relay.import_keys(files)
            if args.perf:
                report = _perf_profile(args, relay, sink, out, stem)
            else:
                report = _callgrind_profile(args, relay, sink, out, stem)
        print(report)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _load(args, relay, sink, sessions):
    """Sends --messages messages and waits for their delivery; returns the summary."""
    records = measure.SinkRecords(sink.records)
    fixed = relay_setup.keyed_recipients(args.method) if args.method in relay_setup.KEYED else []
    spec = loadgen.LoadSpec("c1", relay_setup.SENDER_DOMAIN,
                            relay_setup.RCPT_DOMAINS[args.method], args.rcpts,
                            body=messages.body_of_size(messages.SIZES[args.size]),
                            fixed_rcpts=fixed, concurrency=sessions, duration=3600,
                            max_messages=args.messages)
    subs, _ = asyncio.run(loadgen.run_load("127.0.0.1", relay.port, spec))
    expected = {s.token: args.rcpts for s in subs if s.accepted}
    got = measure.wait_for_deliveries(records, expected, timeout=120)
    return measure.summarize(subs, got, args.rcpts)


def _perf_profile(args, relay, sink, out, stem):
    data = out / ("perf.%s.data" % stem)
    relay.start()
    try:
        perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "-g",
                                 "-p", str(relay.pid), "-o", str(data)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            summary = _load(args, relay, sink, args.sessions or 20)
        finally:
            perf.send_signal(signal.SIGINT)
            _, err = perf.communicate(timeout=60)
    finally:
        relay.stop()
    if perf.returncode not in (0, -signal.SIGINT) or not data.exists():
        sys.exit("bench/profile: perf record failed: %s" % err.decode()[-400:])

    def report(*extra):
        return subprocess.run(["perf", "report", "-i", str(data), "--stdio", "-g", "none",
                               *extra], capture_output=True, text=True).stdout.splitlines()

    def rows(lines):
        return [line for line in lines if line.strip() and not line.startswith("#")]

    syscalls = [l for l in rows(report("--children", "--sort", "sym"))
                if any(k in l for k in ("__x64_sys_", "__do_sys_", "__sys_", "exc_page_fault"))]
    text = ["# perf (cpu-clock): sealpostd, %s, %s x%d, %d messages (%d delivered)" % (
        args.method, args.size, args.rcpts, args.messages, summary["delivered"]), "",
        "## share by object (kernel vs libraries vs sealpostd)",
        *rows(report("--no-children", "--sort", "dso"))[:15], "",
        "## system calls and page faults (inclusive)", *syscalls[:args.top], "",
        "## functions (self)", *rows(report("--no-children", "--sort", "dso,sym"))[:args.top]]
    path = out / ("perf-%s.txt" % stem)
    path.write_text("\n".join(text) + "\n")
    return path


def _callgrind_profile(args, relay, sink, out, stem):
    cg_file = out / ("callgrind.%s.out" % stem)
    relay.start(wrapper=["valgrind", "--tool=callgrind", "--callgrind-out-file=%s" % cg_file,
                         "--separate-threads=no"], start_timeout=180.0)
    try:
        summary = _load(args, relay, sink, args.sessions or 4)
    finally:
        relay.stop()  # callgrind writes its file when sealpostd exits
    annotate = subprocess.run(["callgrind_annotate", "--inclusive=yes", str(cg_file)],
                              capture_output=True, text=True)
    self_cost = subprocess.run(["callgrind_annotate", str(cg_file)], capture_output=True,
                               text=True)
    text = ["# callgrind: sealpostd, %s, %s x%d, %d messages (%d delivered)" % (
        args.method, args.size, args.rcpts, args.messages, summary["delivered"]), "",
        "## inclusive", *_head(annotate.stdout, args.top), "", "## self",
        *_head(self_cost.stdout, args.top)]
    report = out / ("callgrind-%s.txt" % stem)
    report.write_text("\n".join(text) + "\n")
    return report


def _head(annotate_output, top):
    """The cost table of callgrind_annotate, cut to `top` rows."""
    lines = annotate_output.splitlines()
    for i, line in enumerate(lines):
        if "file:function" in line:
            return lines[max(0, i - 4):i + 2 + top]
    return lines[:top + 20]


if __name__ == "__main__":
    sys.exit(main())
