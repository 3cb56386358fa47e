"""The durable-write floor: what the file system under the state dir allows.

The raw ceiling (smtp-source -> sink) never touches a disk; a relay that answers
250 only after the message is on stable storage cannot be faster than the
file-system work that promise needs. This measures that work alone, with no SMTP,
no crypto and no parsing, on the same file system as the relay's spool, in the
same run, so the report can say how much of the gap to the ceiling is the disk's
and how much is ours.

Two layouts per message size, each by `writers` processes in parallel for a few
seconds (processes, not threads: no interpreter lock between the system calls):

- "sealpost": what sealpostd's spool does per message (docs/queue.md): the data
  file (create in incoming/, write, fsync, rename into queue/), the envelope
  (create a temp in queue/, write ~300 bytes, fsync, rename), one fsync of queue/,
  one audit line appended with fdatasync, then both files unlinked after delivery.
- "one file": the least any durable queue can do: one file (create, write, fsync,
  rename), one directory fsync, one unlink.
"""
import multiprocessing
import os
import time
from pathlib import Path

ENVELOPE_BYTES = 300
AUDIT_LINE = b'{"event":"delivery.attempt","queue_id":"0000000000000000000000000","result":"sent"}\n'


def _sealpost_message(root, qfd, audit_fd, data, tag):
    incoming = "%s/incoming/%s.tmp" % (root, tag)
    msg = "%s/queue/%s.msg" % (root, tag)
    env_tmp = "%s/queue/%s.env.tmp" % (root, tag)
    env = "%s/queue/%s.env" % (root, tag)
    _write_synced(incoming, data)
    os.rename(incoming, msg)
    _write_synced(env_tmp, data[:ENVELOPE_BYTES])
    os.rename(env_tmp, env)
    os.fsync(qfd)
    os.write(audit_fd, AUDIT_LINE)
    os.fdatasync(audit_fd)
    os.unlink(env)
    os.unlink(msg)


def _one_file_message(root, qfd, _audit_fd, data, tag):
    incoming = "%s/incoming/%s.tmp" % (root, tag)
    msg = "%s/queue/%s.msg" % (root, tag)
    _write_synced(incoming, data)
    os.rename(incoming, msg)
    os.fsync(qfd)
    os.unlink(msg)


LAYOUTS = {"sealpost": _sealpost_message, "one file": _one_file_message}


def _write_synced(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def _writer(root, layout, size, deadline, start, index, out):
    """Reports (messages written, error or None): a full disk ends the run with
    its reason instead of leaving the parent waiting."""
    count, error = 0, None
    try:
        data = os.urandom(size)
        qfd = os.open(root + "/queue", os.O_RDONLY | os.O_DIRECTORY)
        audit_fd = os.open("%s/audit-%d.log" % (root, index),
                           os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        step = LAYOUTS[layout]
        start.wait()
        try:
            while time.monotonic() < deadline.value:
                step(root, qfd, audit_fd, data, "w%d-%d" % (index, count))
                count += 1
        finally:
            os.close(qfd)
            os.close(audit_fd)
    except OSError as e:
        error = str(e)
    out.put((count, error))


def measure(directory, layout, size, writers, seconds):
    """msgs/s of `layout` for messages of `size` bytes, `writers` in parallel."""
    root = Path(directory)
    for sub in ("incoming", "queue"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    deadline = ctx.Value("d", 0.0)
    procs = [ctx.Process(target=_writer, args=(str(root), layout, size, deadline, start, i, out))
             for i in range(writers)]
    for p in procs:
        p.start()
    try:
        t0 = time.monotonic()
        deadline.value = t0 + seconds
        start.set()
        reports = [out.get(timeout=seconds + 120) for _ in procs]
        elapsed = time.monotonic() - t0
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
    total = sum(count for count, _ in reports)
    errors = sorted({error for _, error in reports if error})
    row = {"layout": layout, "size_bytes": size, "writers": writers,
           "msgs": total, "seconds": round(elapsed, 3),
           "msgs_per_s": round(total / elapsed, 1) if elapsed > 0 and not errors else 0.0}
    if errors:
        row["error"] = "; ".join(errors)
    return row
