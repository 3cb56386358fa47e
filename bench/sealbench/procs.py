"""Processes the benchmark starts: each is stopped by PID, never by name."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s before listening on port %d"
                               % (proc.args[0], proc.returncode, port))
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nothing listens on 127.0.0.1:%d" % port)


class Managed:
    """A child process that is always stopped: SIGTERM, then SIGKILL after `grace`."""

    def __init__(self, args, log_path=None, env=None, grace=20.0):
        self.args = [str(a) for a in args]
        self.log_path = log_path
        self.env = env
        self.grace = grace
        self.proc = None
        self.log = None

    def start(self):
        self.log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=self.log, env=self.env,
                                     stdin=subprocess.DEVNULL)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        """Returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        code = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(self.grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        else:
            code = self.proc.returncode
        if self.log not in (None, subprocess.DEVNULL):
            self.log.close()
        self.proc = None
        return code

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class BenchSink(Managed):
    """sealbench.sink in its own interpreter; `records` is its record file."""

    def __init__(self, workdir):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.records = workdir / "records.txt"
        self.port_file = workdir / "port"
        super().__init__([sys.executable, "-m", "sealbench.sink", "--records", self.records,
                          "--port-file", self.port_file], log_path=workdir / "sink.log",
                         env=dict(os.environ, PYTHONPATH=str(BENCH_DIR)), grace=5.0)
        self.port = None

    def start(self):
        super().start()
        deadline = time.monotonic() + 10
        while not self.port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("bench sink did not start; see %s" % self.log_path)
            time.sleep(0.02)
        self.port = int(self.port_file.read_text())
        return self


class SmtpSink(Managed):
    """Postfix's smtp-sink: the reference receiver for the raw ceiling."""

    def __init__(self, workdir, backlog=1024):
        self.port = free_port()
        super().__init__(["/usr/sbin/smtp-sink", "-u", _unprivileged_user(),
                          "127.0.0.1:%d" % self.port, str(backlog)],
                         log_path=Path(workdir) / "smtp-sink.log", grace=5.0)

    def start(self):
        super().start()
        wait_port(self.port, self.proc)
        return self


def _unprivileged_user():
    # smtp-sink refuses to run as root without -u; as non-root the flag is ignored.
    return "nobody"
