"""A TLS-terminating IMAP proxy for tests: sealpostd talks to it as if it were
the server (certificate from the test CA), it talks to Dovecot. It can hold
back chosen traffic, so a test can SIGKILL sealpostd at an exact point of a
message's processing, and it can cut every connection (network loss)."""
import re
import select
import socket
import ssl
import threading

# What to hold back (nothing is forwarded in that direction afterwards):
PASS = "pass"
HOLD_APPEND_COMMAND = "hold-append-command"  # the APPEND never reaches the server
HOLD_APPEND_REPLY = "hold-append-reply"      # the server appended; the client never hears it
HOLD_FETCH_REPLY = "hold-fetch-reply"        # the message body never reaches the client
# Not holding back: every APPEND is answered "NO [OVERQUOTA]" by the proxy itself.
REFUSE_APPEND = "refuse-append"


class ImapProxy:
    def __init__(self, ca, upstream_port):
        cert, key = ca.server_cert("localhost", stem="imap-proxy-localhost")
        self.server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server_ctx.load_cert_chain(cert, key)
        self.client_ctx = ssl.create_default_context(cafile=str(ca.cert))
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode = PASS
        self.held = threading.Event()  # set once something is being held back
        self.refused = 0  # APPENDs answered NO under REFUSE_APPEND
        self.lock = threading.Lock()
        self.conns = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.closed = True
        self.listener.close()
        self.cut()

    def cut(self):
        """Network loss: every open connection is dropped."""
        with self.lock:
            conns, self.conns = self.conns, []
        for pair in conns:
            for s in pair:
                try:
                    s.close()
                except OSError:
                    pass

    def _accept(self):
        while not self.closed:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        try:
            client = self.server_ctx.wrap_socket(raw, server_side=True)
            upstream = self.client_ctx.wrap_socket(
                socket.create_connection(("127.0.0.1", self.upstream_port)),
                server_hostname="localhost")
        except (OSError, ssl.SSLError):
            raw.close()
            return
        with self.lock:
            self.conns.append((client, upstream))
        state = {"append": False, "fetch": False, "c2s_held": False, "s2c_held": False}
        try:
            self._pump(client, upstream, state)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            for s in (client, upstream):
                try:
                    s.close()
                except OSError:
                    pass

    def _pump(self, client, upstream, state):
        # One thread per connection: an SSL object must not be read and
        # written from two threads at once.
        while True:
            ready = [s for s in (client, upstream) if s.pending()]
            if not ready:
                ready, _, _ = select.select([client, upstream], [], [], 0.5)
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                if s is client:
                    self._from_client(data, upstream, state, client)
                else:
                    self._from_server(data, client, state)

    def _from_client(self, data, upstream, state, client=None):
        refused = re.search(rb"^(\S+) APPEND ", data, re.M)
        if refused and self.mode == REFUSE_APPEND:
            # Instead of the "+" continuation: libetpan sends no literal then.
            self.refused += 1
            client.sendall(refused.group(1) + b" NO [OVERQUOTA] Quota exceeded (test)\r\n")
            return
        if re.search(rb"^\S+ APPEND ", data, re.M):
            state["append"] = True
            if self.mode == HOLD_APPEND_COMMAND:
                state["c2s_held"] = True
        if b"BODY.PEEK[]" in data:
            state["fetch"] = True
        if state["c2s_held"]:
            self.held.set()
            return
        upstream.sendall(data)

    def _from_server(self, data, client, state):
        if self.mode == HOLD_APPEND_REPLY and state["append"] and b"APPENDUID" in data:
            state["s2c_held"] = True
        if self.mode == HOLD_FETCH_REPLY and state["fetch"]:
            state["s2c_held"] = True
        if state["s2c_held"]:
            self.held.set()
            return
        client.sendall(data)
