"""Turns submissions (from the load generator) and sink records into figures."""
import os
import time
from dataclasses import dataclass


@dataclass
class Delivery:
    at: float
    token: str
    rcpts: int
    size: int
    dsn: bool


class SinkRecords:
    """Reads the sink's record file incrementally (it only ever grows)."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.pending = b""

    def mark(self):
        """Skips everything recorded so far (start of a new phase)."""
        self.read_new()

    def read_new(self):
        if not os.path.exists(self.path):
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        data = self.pending + data
        lines = data.split(b"\n")
        self.pending = lines.pop()  # a half-written last line waits for the next read
        out = []
        for line in lines:
            parts = line.split()
            if len(parts) != 5:
                continue
            out.append(Delivery(float(parts[0]), parts[1].decode(), int(parts[2]), int(parts[3]),
                                parts[4] == b"1"))
        return out


def wait_for_deliveries(records, expected, timeout, settle=0.0, progress=None):
    """Collects deliveries until `expected` (token -> recipient count) is complete,
    or no new delivery arrived for `timeout` seconds. Returns the deliveries."""
    got = []
    per_token = {}
    missing = {t for t, n in expected.items() if n > 0}
    last_change = time.monotonic()
    while True:
        new = records.read_new()
        if new:
            last_change = time.monotonic()
            for d in new:
                got.append(d)
                if d.dsn:
                    continue
                per_token[d.token] = per_token.get(d.token, 0) + d.rcpts
                if d.token in missing and per_token[d.token] >= expected[d.token]:
                    missing.discard(d.token)
            if progress:
                progress(len(expected) - len(missing), len(expected))
        if not missing:
            break
        if time.monotonic() - last_change > timeout:
            break
        time.sleep(0.05)
    if settle:
        time.sleep(settle)
        got.extend(records.read_new())
    return got


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), int(-(-p * len(sorted_values) // 100))))
    return sorted_values[rank - 1]


def summarize(submissions, deliveries, rcpts_per_message):
    """Matches deliveries to submissions by token.

    A message counts as delivered when the sink saw all of its recipients (whether
    the relay sent one transaction per recipient or one for all); its latency runs
    from the 250 the client got to the last of those deliveries."""
    accepted = {s.token: s for s in submissions if s.accepted}
    seen = {}
    last = {}
    uncorrelated = dsn = 0
    for d in deliveries:
        if d.dsn:
            dsn += 1
            continue
        if d.token not in accepted:
            uncorrelated += 1
            continue
        seen[d.token] = seen.get(d.token, 0) + d.rcpts
        last[d.token] = max(last.get(d.token, 0.0), d.at)
    done = [t for t, n in seen.items() if n >= rcpts_per_message]
    latencies = sorted((last[t] - accepted[t].accepted) * 1000.0 for t in done)
    starts = [s.start for s in submissions if s.start]
    first = min(starts) if starts else 0.0
    end = max((last[t] for t in done), default=first)
    accept_end = max((s.accepted for s in accepted.values()), default=first)
    e2e_seconds = end - first
    refused = [s.reply for s in submissions if not s.accepted]
    return {
        "submitted": len(submissions),
        "accepted": len(accepted),
        "delivered": len(done),
        "refused": len(refused),
        "refused_sample": refused[:3],
        "uncorrelated_deliveries": uncorrelated,
        "dsn": dsn,
        "deliveries_at_sink": sum(1 for d in deliveries if not d.dsn),
        # Shows the transform happened: encrypted copies are larger than what was sent.
        "delivered_bytes_avg": round(sum(d.size for d in deliveries if not d.dsn) /
                                     max(1, sum(1 for d in deliveries if not d.dsn))),
        "accepted_per_s": _rate(len(accepted), accept_end - first),
        "msgs_per_s": _rate(len(done), e2e_seconds),
        "seconds": round(e2e_seconds, 3),
        "latency_ms": {
            "p50": _round(percentile(latencies, 50)),
            "p99": _round(percentile(latencies, 99)),
            "max": _round(latencies[-1] if latencies else None),
        },
    }


def _rate(count, seconds):
    return round(count / seconds, 1) if count and seconds > 0 else 0.0


def _round(value):
    return None if value is None else round(value, 2)
