"""The raw ceiling: Postfix's smtp-source straight into smtp-sink on loopback.

Every relay figure is reported as a ratio to this, measured in the same run with the
same message bytes, recipients and session count, so the machine's speed (and
whatever else shares its cores) cancels out.
"""
import subprocess
import time
from pathlib import Path

from . import procstat

SMTP_SOURCE = "/usr/sbin/smtp-source"


def write_source_file(path, body):
    """smtp-source -F wants headers + body with LF line ends and no dot-stuffing."""
    headers = (b"From: Praxis Bench <bench-c0-0@praxis.example>\r\nTo: r@sink.example\r\n"
               b"Subject: Befund bench-c0-0\r\nMessage-ID: <bench-c0-0@ws-17.praxis.internal>\r\n"
               b"MIME-Version: 1.0\r\n")
    text = (headers + body).replace(b"\r\n..", b"\r\n.").replace(b"\r\n", b"\n")
    Path(path).write_bytes(text)
    return path


def smtp_source(port, source_file, count, sessions, rcpts, reuse=True):
    """Runs smtp-source to completion; returns wall seconds (it waits for every 250)."""
    args = [SMTP_SOURCE, "-s", str(sessions), "-m", str(count), "-r", str(rcpts),
            "-f", "bench-c0-0@praxis.example", "-t", "r@sink.example", "-F", str(source_file),
            "-M", "bench.client.test"]
    if reuse:
        args.insert(1, "-d")
    args.append("127.0.0.1:%d" % port)
    t0 = time.monotonic()
    done = subprocess.run(args, capture_output=True, timeout=600)
    seconds = time.monotonic() - t0
    if done.returncode != 0:
        raise RuntimeError("smtp-source failed (%d): %s" % (done.returncode,
                                                             done.stderr.decode()[-400:]))
    return seconds


def measure(sink, source_file, count, sessions, rcpts):
    """smtp-source into `sink` (a started SmtpSink or BenchSink): rate and the
    receiver's cost, so relay CPU and memory can be put next to a plain receiver."""
    procstat.reset_peak_rss(sink.pid)
    cpu0 = sum(procstat.cpu_seconds(sink.pid))
    seconds = smtp_source(sink.port, source_file, count, sessions, rcpts)
    cpu1 = sum(procstat.cpu_seconds(sink.pid))
    return {
        "msgs": count,
        "seconds": round(seconds, 3),
        "msgs_per_s": round(count / seconds, 1),
        "receiver_cpu_s_per_msg": round((cpu1 - cpu0) / count, 6),
        "receiver_peak_rss_kib": procstat.memory_kib(sink.pid).get("VmHWM"),
    }
