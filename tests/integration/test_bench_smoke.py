"""Keeps bench/ from rotting: the sink, the load generator and the report work, and a
tiny `bench/run --quick` against the built sealpostd yields sane JSON.

No wall-clock limits are asserted: figures depend on the machine. What is asserted is
that the numbers exist, are consistent with each other and that correlation works.
"""
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("SEALPOST_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BUILD_DIR = Path(os.environ.get("SEALPOST_BUILD_DIR", SOURCE_DIR / "build"))
BENCH_RUN = SOURCE_DIR / "bench" / "run"
sys.path.insert(0, str(SOURCE_DIR / "bench"))

from sealbench import loadgen, measure, messages, procs  # noqa: E402

needs_postfix_tools = pytest.mark.skipif(
    not (os.path.exists("/usr/sbin/smtp-source") and os.path.exists("/usr/sbin/smtp-sink")),
    reason="postfix's smtp-source/smtp-sink not installed (scripts/install-deps)")


def _read_reply(sock_file):
    lines = []
    while True:
        line = sock_file.readline()
        assert line, "sink closed the connection"
        lines.append(line)
        if line[3:4] != b"-":
            return int(line[:3]), lines


def test_sink_finds_end_of_data_across_chunks_and_dot_stuffing(tmp_path):
    with procs.BenchSink(tmp_path / "sink") as sink:
        with socket.create_connection(("127.0.0.1", sink.port)) as s:
            f = s.makefile("rb")
            assert _read_reply(f)[0] == 220
            s.sendall(b"EHLO t\r\n")
            assert _read_reply(f)[0] == 250
            # A stuffed ".\r\n"-lookalike line and the real end split one byte per send,
            # then a second, pipelined transaction right behind it in the same packet.
            first = (b"MAIL FROM:<bench-c7-1@praxis.example>\r\nRCPT TO:<a@x.example>\r\n"
                     b"RCPT TO:<b@x.example>\r\nDATA\r\n")
            s.sendall(first)
            assert [_read_reply(f)[0] for _ in range(4)] == [250, 250, 250, 354]
            body = b"Subject: x\r\n\r\n..\r\nline\r\n.\r\n"
            for i in range(len(body)):
                s.sendall(body[i:i + 1])
                time.sleep(0.001)
            assert _read_reply(f)[0] == 250
            s.sendall(b"MAIL FROM:<>\r\nRCPT TO:<bench-c7-2@praxis.example>\r\nDATA\r\n"
                      b"Subject: bounce\r\n\r\n.\r\nQUIT\r\n")
            assert [_read_reply(f)[0] for _ in range(5)] == [250, 250, 354, 250, 221]
        records = measure.SinkRecords(sink.records)
        got = []
        deadline = time.time() + 5
        while len(got) < 2 and time.time() < deadline:
            got += records.read_new()
            time.sleep(0.02)
    assert [(d.token, d.rcpts, d.dsn) for d in got] == [("bench-c7-1", 2, False), ("bench-c7-2", 1, True)]
    assert got[0].size == len(b"Subject: x\r\n\r\n..\r\nline\r\n")


def test_generator_and_sink_correlate_every_message(tmp_path):
    with procs.BenchSink(tmp_path / "sink") as sink:
        records = measure.SinkRecords(sink.records)
        spec = loadgen.LoadSpec("c3", "praxis.example", "sink.example", 3,
                                body=messages.body_of_size(50000), concurrency=3, duration=60,
                                max_messages=40)
        subs, _ = asyncio.run(loadgen.run_load("127.0.0.1", sink.port, spec))
        expected = {s.token: 3 for s in subs if s.accepted}
        deliveries = measure.wait_for_deliveries(records, expected, timeout=10)
    summary = measure.summarize(subs, deliveries, 3)
    assert summary["submitted"] == summary["accepted"] == summary["delivered"] == 40
    assert summary["uncorrelated_deliveries"] == 0 and summary["dsn"] == 0
    assert summary["msgs_per_s"] > 0
    # The sink stamps a message before it answers 250, so "latency" here is <= 0:
    # proves both sides use the same clock and the match is per message.
    assert summary["latency_ms"]["max"] <= 0
    assert all(d.size >= 50000 - 500 for d in deliveries)


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert measure.percentile(values, 50) == 50
    assert measure.percentile(values, 99) == 99
    assert measure.percentile([7], 99) == 7
    assert measure.percentile([], 50) is None


@needs_postfix_tools
def test_ceiling_only_run_writes_json_markdown_chart(tmp_path):
    out = tmp_path / "out"
    subprocess.run([str(BENCH_RUN), "--quick", "--ceiling-only", "--build-dir",
                    str(tmp_path / "no-build"), "--out", str(out)], check=True,
                   capture_output=True, timeout=300)
    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == "sealpost-bench/1" and results["mode"] == "quick"
    (c,) = results["ceiling"]
    assert c["size"] == "5KB" and c["rcpts"] == 1
    assert c["msgs_per_s"] == max(c["smtp_sink"]["msgs_per_s"], c["bench_sink"]["msgs_per_s"]) > 0
    assert results["relay"] == []
    assert all(t["met"] is None for t in results["targets"])
    # The durable-write floor: both layouts, on the same file system, really written.
    assert {f["layout"] for f in results["floor"]} == {"sealpost", "one file"}
    for f in results["floor"]:
        assert f["size"] == "5KB" and f["size_bytes"] == 5000 and f["msgs"] > 0
        assert f["msgs_per_s"] > 0 and f["ratio_to_ceiling"] > 0
    text = (out / "results.md").read_text()
    assert "Raw ceiling" in text and "Durable-write floor" in text
    if os.path.exists("/usr/bin/gnuplot"):
        assert (out / "throughput.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_postfix_tools
@pytest.mark.skipif(not (BUILD_DIR / "relay" / "sealpostd").exists(),
                    reason="sealpostd is not built yet in %s" % BUILD_DIR)
def test_quick_bench_against_sealpostd(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([str(BENCH_RUN), "--quick", "--build-dir", str(BUILD_DIR), "--out",
                           str(out)], capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    results = json.loads((out / "results.json").read_text())
    by_method = {r["method"]: r for r in results["relay"]}
    assert set(by_method) == {"plain", "pgp"}
    plain = by_method["plain"]
    assert "error" not in plain, plain.get("error")
    peak = plain["peak"]
    assert 0 < peak["delivered"] <= peak["accepted"] <= peak["submitted"]
    assert peak["msgs_per_s"] > 0 and peak["cpu_s_per_msg"] > 0 and peak["peak_rss_kib"] > 0
    assert 0 <= peak["latency_ms"]["p50"] <= peak["latency_ms"]["p99"] <= peak["latency_ms"]["max"]
    assert peak["ratio_to_ceiling"] > 0 and peak["ratio_to_floor"] > 0
    assert plain["half_rate"]["delivered"] > 0
    # PGP is reported either with figures or with the reason it could not be measured.
    pgp = by_method["pgp"]
    assert pgp.get("error") or pgp["peak"]["delivered"] > 0
