"""Profiles sealpostd under callgrind for one method and size (where a target is
missed, this names the functions the time goes to). perf is often unavailable in
containers; callgrind needs nothing but valgrind.

    bench/profile --build-dir build-release --method smime --size 50KB [--messages 200]

Writes OUTDIR/callgrind.<method>.<size>.out and a text summary callgrind-<method>-<size>.txt
(top entries by inclusive and by self cost). gpg children are not traced; their
share shows up as CPU in the benchmark's children figure instead.
"""
import argparse
import asyncio
import shutil
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
    args = ap.parse_args(argv)
    if not shutil.which("valgrind"):
        sys.exit("bench/profile: valgrind not installed")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "%s-%s" % (args.method, args.size)
    cg_file = out / ("callgrind.%s.out" % stem)
    work = Path(tempfile.mkdtemp(prefix="sealbench-profile-"))
    try:
        keys = relay_setup.prepare_keys(work / "keys", [args.method])
        anchor, files = keys.get(args.method, (None, []))
        with procs.BenchSink(work / "sink") as sink:
            relay = relay_setup.BenchRelay(Path(args.build_dir).resolve(), work / "relay",
                                           sink.port, args.workers, trust_anchor=anchor)
            relay.import_keys(files)
            relay.start(wrapper=["valgrind", "--tool=callgrind", "--callgrind-out-file=%s" % cg_file,
                                 "--separate-threads=no"], start_timeout=180.0)
            try:
                records = measure.SinkRecords(sink.records)
                fixed = relay_setup.keyed_recipients(args.method) \
                    if args.method in relay_setup.KEYED else []
                spec = loadgen.LoadSpec("c1", relay_setup.SENDER_DOMAIN,
                                        relay_setup.RCPT_DOMAINS[args.method], args.rcpts,
                                        body=messages.body_of_size(messages.SIZES[args.size]),
                                        fixed_rcpts=fixed, concurrency=4, duration=3600,
                                        max_messages=args.messages)
                subs, _ = asyncio.run(loadgen.run_load("127.0.0.1", relay.port, spec))
                expected = {s.token: args.rcpts for s in subs if s.accepted}
                got = measure.wait_for_deliveries(records, expected, timeout=120)
                summary = measure.summarize(subs, got, args.rcpts)
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
        print(report)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _head(annotate_output, top):
    """The cost table of callgrind_annotate, cut to `top` rows."""
    lines = annotate_output.splitlines()
    for i, line in enumerate(lines):
        if "file:function" in line:
            return lines[max(0, i - 4):i + 2 + top]
    return lines[:top + 20]


if __name__ == "__main__":
    sys.exit(main())
