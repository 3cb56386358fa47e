"""CPU time and memory of a process from /proc (Linux only)."""
import os

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """(own user+system, reaped children's user+system) in seconds.

    GPGME runs gpg as a child per operation; once reaped its time shows up in
    cutime/cstime, so the second number is the crypto work done outside sealpostd."""
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    # The command name may contain spaces; fields start after the last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / TICKS, (cutime + cstime) / TICKS


def memory_kib(pid):
    """{'VmRSS': kib, 'VmHWM': kib} of a live process."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def reset_peak_rss(pid):
    """Restarts VmHWM counting from the current RSS (clear_refs "5", Linux >= 4.0).
    Returns False where the kernel or permissions do not allow it."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def related_processes(marker, exclude=()):
    """PIDs whose command line mentions `marker` (e.g. gpg-agent started for a
    state dir): helpers that are not sealpostd's children still cost CPU."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in exclude:
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                if marker.encode() in f.read():
                    pids.append(int(name))
        except OSError:
            continue
    return pids


def total_cpu(pids):
    total = 0.0
    for pid in pids:
        try:
            own, children = cpu_seconds(pid)
            total += own + children
        except (OSError, ValueError):
            continue
    return total
