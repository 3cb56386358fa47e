"""Writes the results: results.json, results.md (tables), throughput.png (gnuplot).

Usable on its own to re-render an existing run:
    /usr/bin/python3 -m sealbench.report OUTDIR
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

TARGETS_DOC = [
    ("smime_50KB_1", "S/MIME 50 KB x 1 recipient", ">= 800 msgs/s"),
    ("pgp_50KB_1", "PGP 50 KB x 1 recipient", ">= 250 msgs/s"),
    ("plain_ratio", "pass-through vs raw ceiling (every size/recipient case)", ">= 50 %"),
    ("p99_half_rate", "p99 latency at half peak rate (every case)", "< 50 ms"),
    ("rss_100MB", "100 MB message: peak RSS above idle (S/MIME and PGP)", "< 100 MiB"),
]


def _find(relay, method, size, rcpts):
    for row in relay:
        if row["method"] == method and row["size"] == size and row["rcpts"] == rcpts:
            return row
    return None


def evaluate_targets(results):
    """The issue's targets, each with the measured value and met: true/false/null
    (null = not measured in this run). Never asserted: the report says it."""
    relay = results.get("relay", [])
    out = []

    def rate_target(key, method, floor):
        row = _find(relay, method, "50KB", 1)
        value = row["peak"]["msgs_per_s"] if row else None
        out.append({"id": key, "value": value, "unit": "msgs/s",
                    "met": None if value is None else value >= floor})

    rate_target("smime_50KB_1", "smime", 800)
    rate_target("pgp_50KB_1", "pgp", 250)
    ratios = [r["peak"]["ratio_to_ceiling"] for r in relay
              if r["method"] == "plain" and r["peak"].get("ratio_to_ceiling") is not None]
    worst = min(ratios) if ratios else None
    out.append({"id": "plain_ratio", "value": None if worst is None else round(worst * 100, 1),
                "unit": "% (worst case)", "met": None if worst is None else worst >= 0.5})
    p99s = [(r["half_rate"]["latency_ms"]["p99"], r) for r in relay
            if r.get("half_rate") and r["half_rate"]["latency_ms"]["p99"] is not None]
    worst_p99 = max(p99s, key=lambda x: x[0]) if p99s else None
    out.append({"id": "p99_half_rate",
                "value": None if worst_p99 is None else worst_p99[0], "unit": "ms (worst case)",
                "worst_case": None if worst_p99 is None else _label(worst_p99[1]),
                "met": None if worst_p99 is None else worst_p99[0] < 50})
    mem = [m for m in results.get("memory", []) if m.get("above_idle_mib") is not None]
    worst_mem = max((m["above_idle_mib"] for m in mem), default=None)
    complete = len(mem) == 2 and all(m.get("delivered") for m in mem)
    out.append({"id": "rss_100MB", "value": worst_mem, "unit": "MiB (worst method)",
                "met": None if worst_mem is None else (worst_mem < 100 and complete)})
    return out


def _label(row):
    return "%s %s x%d" % (row["method"], row["size"], row["rcpts"])


def _fmt(value, digits=1):
    if value is None:
        return "-"
    if isinstance(value, float):
        return ("%%.%df" % digits) % value
    return str(value)


def _pct(ratio):
    return "-" if ratio is None else "%.0f %%" % (ratio * 100)


def markdown(results):
    lines = ["# Sealpost benchmark (%s run)" % results.get("mode", "?"), ""]
    host = results.get("host", {})
    params = results.get("params", {})
    lines += ["Started %s on %s (%s CPUs, %s); sealpostd queue workers: %s; sessions: %s; "
              "OpenPGP recipient keys: %s." % (
                  results.get("started_at", "?"), host.get("kernel", "?"), host.get("cpus", "?"),
                  host.get("build", "?"), params.get("workers", "?"), params.get("sessions", "?"),
                  params.get("pgp_key", "rsa3072")), ""]

    lines += ["## Raw ceiling (smtp-source -> receiver, loopback)", "",
              "The ceiling is the faster of Postfix's smtp-sink and the bench sink (which "
              "also receives the relay's deliveries). CPU and RSS are smtp-sink's.", "",
              "| size | rcpts | ceiling msgs/s | smtp-sink msgs/s | bench sink msgs/s "
              "| smtp-sink CPU ms/msg | smtp-sink peak RSS MiB |",
              "|---|---|---|---|---|---|---|"]
    for c in results.get("ceiling", []):
        lines.append("| %s | %d | %s | %s | %s | %s | %s |" % (
            c["size"], c["rcpts"], _fmt(c["msgs_per_s"]),
            _fmt(c.get("smtp_sink", {}).get("msgs_per_s")),
            _fmt(c.get("bench_sink", {}).get("msgs_per_s")),
            _fmt(c["receiver_cpu_s_per_msg"] * 1000, 3),
            _fmt(c["receiver_peak_rss_kib"] / 1024 if c.get("receiver_peak_rss_kib") else None)))
    checks = results.get("harness_check", [])
    if checks:
        lines += ["", "Harness check (is the load generator the bottleneck? compare with "
                  "smtp-source into the same smtp-sink):", "",
                  "| pair | size | msgs/s | vs smtp-source -> smtp-sink |", "|---|---|---|---|"]
        for h in checks:
            lines.append("| %s | %s | %s | %s |" % (h["pair"], h["size"], _fmt(h["msgs_per_s"]),
                                                    _pct(h.get("ratio_to_ceiling"))))

    floors = results.get("floor", [])
    if floors:
        lines += ["", "## Durable-write floor (file system only, no SMTP, no crypto)", "",
                  "The file-system work a 250 after fsync needs, alone, on the file system of "
                  "the relay's state dir (bench/sealbench/floor.py): *sealpost* is the spool's "
                  "own layout (data file and envelope, each written, fsynced and renamed; one "
                  "fsync of queue/; one audit line with fdatasync; two unlinks), *one file* the "
                  "least any durable queue needs. No relay with a durable spool on this disk "
                  "can be faster than its layout's floor.", "",
                  "| size | layout | writers | msgs/s | vs ceiling |", "|---|---|---|---|---|"]
        for f in floors:
            lines.append("| %s | %s | %d | %s | %s |" % (
                f["size"], f["layout"], f["writers"],
                "not measured: " + f["error"] if f.get("error") else _fmt(f["msgs_per_s"]),
                _pct(f.get("ratio_to_ceiling"))))

    lines += ["", "## Relay (load generator -> sealpostd -> sink), end to end", "",
              "msgs/s counts messages whose every recipient reached the sink, over the time "
              "from the first MAIL FROM to the last delivery. Latency runs from the client's "
              "250 to the delivery at the sink. CPU is sealpostd's own plus its reaped "
              "children's (gpg). Ratios are to the raw ceiling of the same size and recipients, "
              "and to the durable-write floor (sealpost layout) of the same size.",
              "",
              "| method | size | rcpts | msgs/s | vs ceiling | vs floor | accepted/s | p50 ms "
              "| p99 ms | half-rate p50 ms | half-rate p99 ms | CPU ms/msg | CPU vs sink "
              "| peak RSS MiB | delivered/sent | refused |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results.get("relay", []):
        p, h = r["peak"], r.get("half_rate") or {}
        hl = h.get("latency_ms", {})
        lines.append("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s "
                     "| %d/%d | %d |"
                     % (r["method"], r["size"], r["rcpts"], _fmt(p["msgs_per_s"]),
                        _pct(p.get("ratio_to_ceiling")), _pct(p.get("ratio_to_floor")),
                        _fmt(p["accepted_per_s"]),
                        _fmt(p["latency_ms"]["p50"]), _fmt(p["latency_ms"]["p99"]),
                        _fmt(hl.get("p50")), _fmt(hl.get("p99")),
                        _fmt(p["cpu_s_per_msg"] * 1000 if p.get("cpu_s_per_msg") is not None
                             else None, 2),
                        _fmt(p.get("cpu_ratio_to_sink"), 1),
                        _fmt(p["peak_rss_kib"] / 1024 if p.get("peak_rss_kib") else None),
                        p["delivered"], p["submitted"], p["refused"]))
    for r in results.get("relay", []):
        avg = r["peak"].get("delivered_bytes_avg")
        if r["method"] != "plain" and avg and abs(avg - r["size_bytes"]) < 0.02 * r["size_bytes"]:
            lines.append("")
            lines.append("- %s: **delivered copies are as large as the input (%d bytes): the relay "
                         "did not encrypt/transform; this figure measures pass-through**"
                         % (_label(r), avg))
    errors = [r for r in results.get("relay", []) if r.get("error")]
    for r in errors:
        lines.append("")
        lines.append("- %s: **not measured**: %s" % (_label(r), r["error"]))

    mem = results.get("memory", [])
    if mem:
        lines += ["", "## Memory: one 100 MB message", "",
                  "| method | message MB | idle RSS MiB | peak RSS MiB | above idle MiB | delivered |",
                  "|---|---|---|---|---|---|"]
        for m in mem:
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                m["method"], _fmt(m["message_bytes"] / 1e6), _fmt(_kib_mib(m.get("idle_rss_kib"))),
                _fmt(_kib_mib(m.get("peak_rss_kib"))), _fmt(m.get("above_idle_mib")),
                "yes" if m.get("delivered") else "no" + (": " + m["error"] if m.get("error") else "")))

    lines += ["", "## Targets", "", "| target | goal | measured | met |", "|---|---|---|---|"]
    measured = {t["id"]: t for t in results.get("targets", [])}
    for key, text, goal in TARGETS_DOC:
        t = measured.get(key, {})
        met = t.get("met")
        value = "-" if t.get("value") is None else "%s %s" % (_fmt(t["value"]), t.get("unit", ""))
        if t.get("worst_case"):
            value += " (%s)" % t["worst_case"]
        lines.append("| %s | %s | %s | %s |" % (text, goal, value,
                                                {True: "yes", False: "**no**", None: "not measured"}[met]))
    lines.append("")
    return "\n".join(lines)


def _kib_mib(kib):
    return None if kib is None else kib / 1024


def chart(results, outdir):
    """throughput.png: msgs/s per size x recipients, one bar per method plus the
    ceiling, log scale (5 MB and 5 KB differ by three orders of magnitude)."""
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        return None
    outdir = Path(outdir)
    series = ["ceiling", "disk-floor", "plain", "pgp", "smime", "pickup"]
    groups = []
    for c in results.get("ceiling", []):
        row = {"ceiling": c["msgs_per_s"]}
        for f in results.get("floor", []):
            if f["size"] == c["size"] and f["layout"] == "sealpost":
                row["disk-floor"] = f["msgs_per_s"]
        for m in series[2:]:
            r = _find(results.get("relay", []), m, c["size"], c["rcpts"])
            row[m] = r["peak"]["msgs_per_s"] if r and r["peak"]["msgs_per_s"] else None
        groups.append(("%s x%d" % (c["size"], c["rcpts"]), row))
    if not groups:
        return None
    data = outdir / "throughput.dat"
    with open(data, "w") as f:
        f.write("case " + " ".join(series) + "\n")
        for label, row in groups:
            f.write('"%s" %s\n' % (label, " ".join(
                "%g" % row[s] if row.get(s) else "NaN" for s in series)))
    png = outdir / "throughput.png"
    script = "\n".join([
        "set terminal pngcairo size 1100,600 noenhanced" if _has_cairo(gnuplot)
        else "set terminal png size 1100,600 noenhanced",
        "set output '%s'" % png,
        "set title 'Sealpost end-to-end throughput vs raw SMTP ceiling (%s run)'"
        % results.get("mode", ""),
        "set style data histogram", "set style histogram cluster gap 1",
        "set style fill solid 0.85 border -1", "set boxwidth 0.9",
        "set logscale y", "set ylabel 'messages/s (log scale)'", "set grid ytics",
        "set key top right", "set datafile missing 'NaN'",
        "plot for [i=2:%d] '%s' using i:xtic(1) title columnheader(i)" % (len(series) + 1, data),
    ])
    done = subprocess.run([gnuplot], input=script.encode(), capture_output=True)
    if done.returncode != 0 or not png.exists():
        raise RuntimeError("gnuplot failed: %s" % done.stderr.decode()[-400:])
    return png


def _has_cairo(gnuplot):
    out = subprocess.run([gnuplot, "-e", "set terminal"], capture_output=True)
    return b"pngcairo" in out.stdout + out.stderr


def write_all(results, outdir):
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    results["targets"] = evaluate_targets(results)
    (outdir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (outdir / "results.md").write_text(markdown(results))
    png = chart(results, outdir)
    return {"json": outdir / "results.json", "markdown": outdir / "results.md", "chart": png}


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    written = write_all(json.loads((folder / "results.json").read_text()), folder)
    print("\n".join("%s: %s" % kv for kv in written.items()))
