"""Counting, timestamping SMTP sink: the benchmark's stand-in for the smarthost.

It runs as its own process (so it never competes with the load generator for the
GIL) and appends one line per accepted transaction to a record file:

    <monotonic seconds> <token or -> <recipient count> <bytes> <dsn 0|1>

The token is the first "bench-<case>-<seq>" found in the envelope sender, the
recipients or the first 8 KiB of the message, which is how a delivery is matched
to the 250 the load generator saw (CLOCK_MONOTONIC is shared by all processes).
The message body is never kept: DATA is scanned chunk by chunk for the end
marker, so a 100 MB message costs the sink no memory.

    /usr/bin/python3 -m sealbench.sink --records FILE --port-file FILE [--port N]
"""
import argparse
import asyncio
import os
import re
import signal
import socket
import time

TOKEN = re.compile(rb"bench-c\d+-\d+")
HEAD_BYTES = 8192
MAX_COMMAND_LINE = 4096
END_OF_DATA = b"\r\n.\r\n"

EHLO_REPLY = (b"250-benchsink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
              b"250-ENHANCEDSTATUSCODES\r\n250 SIZE\r\n")


def _angle_address(arg):
    """The address inside <...> of a MAIL FROM/RCPT TO argument (bytes)."""
    start, end = arg.find(b"<"), arg.find(b">")
    return arg[start + 1:end] if 0 <= start < end else arg.split(b" ", 1)[0]


class SinkProtocol(asyncio.Protocol):
    def __init__(self, records):
        self.records = records
        self.buffer = b""
        self.in_data = False
        self._reset()

    def _reset(self):
        self.sender = None
        self.rcpts = []
        self.head = b""
        self.size = 0
        self.pending = b"\r\n"  # DATA starts at a line start: an immediate ".\r\n" ends it
        self.skip = 2

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(b"220 benchsink ESMTP\r\n")

    def data_received(self, data):
        self.buffer += data
        replies = []
        while self.buffer:
            if self.in_data:
                if not self._consume_data(replies):
                    break
                continue
            nl = self.buffer.find(b"\r\n")
            if nl < 0:
                if len(self.buffer) > MAX_COMMAND_LINE:
                    replies.append(b"500 5.5.2 Line too long\r\n")
                    self.buffer = b""
                break
            line, self.buffer = self.buffer[:nl], self.buffer[nl + 2:]
            reply = self._command(line)
            if reply is None:  # QUIT
                replies.append(b"221 2.0.0 Bye\r\n")
                self.transport.write(b"".join(replies))
                self.transport.close()
                return
            replies.append(reply)
        if replies:
            self.transport.write(b"".join(replies))

    def _consume_data(self, replies):
        """Eats DATA bytes from the buffer; True when the message ended.

        The last 4 bytes seen stay unaccounted in `pending` until we know whether
        they start the end marker, so the size does not depend on packet boundaries."""
        window = self.pending + self.buffer
        end = window.find(END_OF_DATA)
        if end < 0:
            self._account(window[:-4])
            self.pending = window[-4:]
            self.buffer = b""
            return False
        self._account(window[:end + 2])  # the CRLF before "." ends the last line
        self.buffer = window[end + len(END_OF_DATA):]
        self.in_data = False
        replies.append(self._delivered())
        return True

    def _account(self, content):
        # The CRLF that DATA's own line ended with is in the window (so an immediate
        # ".\r\n" ends the message) but is not message content.
        if self.skip:
            dropped = min(self.skip, len(content))
            content, self.skip = content[dropped:], self.skip - dropped
        self.size += len(content)
        if len(self.head) < HEAD_BYTES:
            self.head += content[:HEAD_BYTES - len(self.head)]

    def _delivered(self):
        now = time.monotonic()
        found = TOKEN.search(b" ".join([self.sender or b""] + self.rcpts + [self.head]))
        token = found.group(0).decode() if found else "-"
        dsn = 1 if self.sender == b"" else 0
        self.records.write("%.6f %s %d %d %d\n" % (now, token, len(self.rcpts), self.size, dsn))
        self.records.flush()
        self._reset()
        return b"250 2.0.0 Ok: queued\r\n"

    def _command(self, line):
        verb = line[:4].upper()
        if verb in (b"EHLO",):
            return EHLO_REPLY
        if verb == b"HELO":
            return b"250 benchsink\r\n"
        if verb == b"MAIL":
            self._reset()
            self.sender = _angle_address(line[10:])
            return b"250 2.1.0 Ok\r\n"
        if verb == b"RCPT":
            if self.sender is None:
                return b"503 5.5.1 MAIL first\r\n"
            self.rcpts.append(_angle_address(line[8:]))
            return b"250 2.1.5 Ok\r\n"
        if verb == b"DATA":
            if not self.rcpts:
                return b"503 5.5.1 RCPT first\r\n"
            self.in_data = True
            return b"354 End data with <CR><LF>.<CR><LF>\r\n"
        if verb == b"RSET":
            self._reset()
            return b"250 2.0.0 Ok\r\n"
        if verb == b"NOOP":
            return b"250 2.0.0 Ok\r\n"
        if verb == b"QUIT":
            return None
        return b"502 5.5.2 Not implemented\r\n"


async def serve(port, records_path, port_file):
    loop = asyncio.get_running_loop()
    with open(records_path, "a") as records:
        server = await loop.create_server(lambda: SinkProtocol(records), "127.0.0.1", port,
                                          backlog=1024, reuse_address=True)
        bound = server.sockets[0].getsockname()[1]
        tmp = port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % bound)
        os.rename(tmp, port_file)  # readers see the whole number or nothing
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with server:
            await stop.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--records", required=True)
    ap.add_argument("--port-file", required=True)
    args = ap.parse_args()
    asyncio.run(serve(args.port, args.records, args.port_file))


if __name__ == "__main__":
    main()
