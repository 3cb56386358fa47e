"""Asyncio SMTP load generator that records when each message got its final 250.

smtp-source cannot tell which message was answered when, so for end-to-end latency
we drive the relay ourselves: every connection is reused (like Postfix's smtp
client cache), commands are pipelined (MAIL, RCPT..., DATA in one write), and the
monotonic time of each final reply is kept per token.

Two modes:
  closed loop  `concurrency` connections send back to back for `duration` seconds
               (or until `max_messages`): finds the peak rate;
  open loop    messages are released at a fixed `rate`: latency at a given load.
"""
import asyncio
import socket
import time
from dataclasses import dataclass, field

from . import messages

READ_LIMIT = 1 << 20
STREAM_CHUNK = 1 << 20


@dataclass
class Submission:
    token: str
    start: float = 0.0  # monotonic seconds when MAIL FROM was written
    accepted: float = 0.0  # monotonic seconds of the final 250 (0 if refused)
    reply: str = ""


@dataclass
class LoadSpec:
    case_id: str
    sender_domain: str
    rcpt_domain: str
    rcpts: int
    body: bytes = b""
    body_file: str = ""  # stream the body from here instead (100 MB run)
    fixed_rcpts: list = field(default_factory=list)  # addresses with keys (pgp/smime)
    concurrency: int = 10
    duration: float = 5.0
    max_messages: int = 1 << 30
    rate: float = 0.0  # > 0: open loop at this many messages/s

    def envelope(self, seq):
        tok = messages.token(self.case_id, seq)
        sender = "%s@%s" % (tok, self.sender_domain)
        if self.fixed_rcpts:
            rcpts = self.fixed_rcpts[:self.rcpts]
        else:  # recipients without keys carry the token too: survives any rewriting
            rcpts = ["%s-r%d@%s" % (tok, i + 1, self.rcpt_domain) for i in range(self.rcpts)]
        return tok, sender, rcpts


class SmtpError(Exception):
    pass


class Connection:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port,
                                                                 limit=READ_LIMIT)
        self.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY,
                                                        1)
        await self.reply(220)
        self.writer.write(b"EHLO bench.client.test\r\n")
        await self.reply(250)

    async def reply(self, expect=None):
        """Reads one (possibly multi-line) reply; returns (code, text)."""
        lines = []
        while True:
            line = await self.reader.readline()
            if not line:
                raise SmtpError("connection closed by server")
            lines.append(line.decode(errors="replace").rstrip())
            if len(line) < 4 or line[3:4] != b"-":
                break
        code = int(lines[-1][:3]) if lines[-1][:3].isdigit() else 0
        if expect is not None and code != expect:
            raise SmtpError(" | ".join(lines))
        return code, lines[-1]

    async def send(self, spec, seq, sub):
        tok, sender, rcpts = spec.envelope(seq)
        size = len(spec.body) if spec.body else 0
        commands = ["MAIL FROM:<%s> BODY=8BITMIME%s\r\n" % (sender, " SIZE=%d" % size if size else "")]
        commands += ["RCPT TO:<%s>\r\n" % r for r in rcpts]
        commands.append("DATA\r\n")
        sub.start = time.monotonic()
        self.writer.write("".join(commands).encode())
        codes = [await self.reply() for _ in range(len(commands))]
        if any(c[0] >= 400 for c in codes[:-1]) or codes[-1][0] != 354:
            sub.reply = next(c[1] for c in codes if c[0] >= 400 or c is codes[-1])
            if codes[-1][0] == 354:  # pipelined DATA was accepted anyway: end it empty
                self.writer.write(b".\r\n")
                await self.reply()
            self.writer.write(b"RSET\r\n")
            await self.reply()
            return
        self.writer.write(messages.headers(tok, sender, rcpts))
        if spec.body_file:
            await self._stream_file(spec.body_file)
        else:
            self.writer.write(spec.body)
        self.writer.write(b".\r\n")
        await self.writer.drain()
        code, text = await self.reply()
        if code == 250:
            sub.accepted = time.monotonic()
        sub.reply = text

    async def _stream_file(self, path):
        with open(path, "rb") as f:
            while True:
                chunk = f.read(STREAM_CHUNK)
                if not chunk:
                    break
                self.writer.write(chunk)
                await self.writer.drain()

    async def close(self):
        if self.writer is None:
            return
        try:
            self.writer.write(b"QUIT\r\n")
            await asyncio.wait_for(self.reply(), 5)
        except (OSError, SmtpError, asyncio.TimeoutError, ValueError):
            pass
        self.writer.close()


async def _worker(host, port, spec, next_job, results):
    """One session; a broken session is counted as a refusal and replaced. A session
    that cannot even be opened ends this worker (the others carry on), so a relay
    that refuses connections shows up as refusals, not as a crashed benchmark."""
    conn = None
    try:
        while True:
            seq = await next_job()
            if seq is None:
                break
            sub = Submission(messages.token(spec.case_id, seq))
            results.append(sub)
            try:
                if conn is None:
                    conn = Connection(host, port)
                    await conn.open()
                await conn.send(spec, seq, sub)
            except (OSError, SmtpError, ValueError) as e:
                sub.reply = "error: %s" % e
                if conn is not None and conn.writer is not None:
                    conn.writer.close()
                if conn is not None and conn.writer is None:
                    break  # could not connect at all
                conn = None
    finally:
        if conn is not None:
            await conn.close()


async def run_load(host, port, spec):
    """Runs one load phase; returns (list of Submission, wall seconds)."""
    results = []
    counter = iter(range(spec.max_messages))
    t0 = time.monotonic()
    deadline = t0 + spec.duration

    if spec.rate > 0:
        queue = asyncio.Queue()

        async def release():
            for seq in counter:
                due = t0 + seq / spec.rate
                if due >= deadline:
                    break
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                queue.put_nowait(seq)
            for _ in range(spec.concurrency):
                queue.put_nowait(None)

        releaser = asyncio.ensure_future(release())
        next_job = queue.get
    else:
        releaser = None

        async def next_job():
            if time.monotonic() >= deadline:
                return None
            return next(counter, None)

    await asyncio.gather(*(_worker(host, port, spec, next_job, results)
                           for _ in range(spec.concurrency)))
    if releaser:
        await releaser
    return results, time.monotonic() - t0
