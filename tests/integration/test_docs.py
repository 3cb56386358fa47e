"""Documentation and packaging metadata stay in step with the code:
man pages lint clean, every config key and CLI verb is documented, and the
systemd units verify and stay hardened."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("SEALPOST_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BUILD_DIR = Path(os.environ.get("SEALPOST_BUILD_DIR", SOURCE_DIR / "build"))
MAN_DIR = SOURCE_DIR / "man"
UNITS = ["sealpostd.service", "sealpost-portal.service"]
# Pages of other packages our pages refer to; mandoc cannot always find them.
EXTERNAL_PAGES = {("systemd.service", "5")}


def man_pages():
    return sorted(p for p in MAN_DIR.iterdir() if re.fullmatch(r".+\.[1-8]", p.name))


def config_keys():
    """Every dotted key path the sealpost.yaml loader accepts, read from the one
    table it checks against (config/config_keys.cpp)."""
    text = (SOURCE_DIR / "config" / "config_keys.cpp").read_text()
    body = text[text.index("config_sections()"):text.index("config_section_keys(")]
    keys = []
    for section, names in re.findall(r'\{\s*"([^"]*)"\s*,\s*\{([^}]*)\}\s*\}', body):
        for name in re.findall(r'"([^"]+)"', names):
            keys.append(f"{section}.{name}" if section else name)
    return keys


def key_table(path, function):
    """Dotted key paths from a {"section", {"key", ...}} table in C++ source."""
    text = path.read_text()
    body = text[text.index(function):]
    body = body[:body.index("};")]
    keys = []
    for section, names in re.findall(r'\{\s*"([^"]*)"\s*,\s*\{([^}]*)\}\s*\}', body):
        for name in re.findall(r'"([^"]+)"', names):
            keys.append(f"{section}.{name}" if section else name)
    return keys


def policy_keys():
    """Every dotted key path the policy loader accepts (policy/policy_keys.cpp)."""
    return key_table(SOURCE_DIR / "policy" / "policy_keys.cpp", "policy_sections()")


def users_keys():
    """The keys of users.yaml, from the check_map() calls of its loader."""
    text = (SOURCE_DIR / "relay" / "auth" / "user_directory.cpp").read_text()
    keys = []
    for section, names in re.findall(r'check_map\(\w+, "([^"]*)", \{([^}]*)\}\)', text):
        for name in re.findall(r'"([^"]+)"', names):
            keys.append(f"{section}.{name}" if section else name)
    return keys


def listed_by_cli(option):
    """`sealpost check-config OPTION` of the build; skips (with the reason)
    when the build has no sealpost binary, rather than passing unchecked."""
    exe = BUILD_DIR / "cli" / "sealpost"
    if not exe.exists():
        pytest.skip("%s is not built (set SEALPOST_BUILD_DIR): the key lists of the program "
                    "cannot be compared with the source" % exe)
    r = subprocess.run([str(exe), "check-config", option], capture_output=True, text=True, check=True)
    return r.stdout.split()


def section_items(page, heading):
    """The `.It Ic/Cm NAME` items between `.Sh HEADING` and the next `.Sh`."""
    text = page.read_text()
    start = text.index(".Sh " + heading + "\n")
    end = text.find("\n.Sh ", start + 1)
    return set(re.findall(r"^\.It (?:Ic|Cm) (\S+)", text[start:end if end > 0 else None], re.M))


def cli_verbs():
    """("group", "sub") pairs from the usage text in cli/main.cpp."""
    text = (SOURCE_DIR / "cli" / "main.cpp").read_text()
    usage = text[text.index("kUsageText"):]
    usage = usage[:usage.index(";")]
    verbs = []
    for line in re.findall(r'"  ([^"\\]+)', usage):
        words = line.split()
        group = words[0]
        rest = re.sub(r"\[[^\]]*\]|\([^)]*\)", "", " ".join(words[1:]))  # options, notes
        subs = []
        for alt in re.split(r"\s*\|\s*", rest):
            first = alt.split()[0] if alt.split() else ""
            if re.fullmatch(r"[a-z][a-z-]*", first):
                subs.append(first)
        verbs += [(group, s) for s in subs] or [(group, None)]
    return verbs


def test_config_key_table_is_parsed():
    keys = config_keys()
    # Guards the parser above: these keys exist since DESIGN.md section 3.1.
    for k in ["state_dir", "listen[].tls.cert", "smarthost.ca_file", "limits.max_message_size"]:
        assert k in keys
    assert len(keys) > 40


def test_the_program_accepts_the_documented_config_keys():
    # What the program says it accepts is the same list (skipped if not built).
    assert sorted(listed_by_cli("--list-keys")) == sorted(config_keys())


def test_policy_and_users_key_tables_are_parsed():
    keys = policy_keys()
    for k in ["defaults.methods", "rules[].match.recipient_domain", "scrub_profiles.*.headers"]:
        assert k in keys
    assert users_keys() == ["users", "users[].name", "users[].password", "users[].addresses"]


def test_the_program_accepts_the_documented_policy_keys():
    assert sorted(listed_by_cli("--list-policy-keys")) == sorted(policy_keys())


def own_pages():
    return {tuple(p.name.rsplit(".", 1)) for p in man_pages()}


@pytest.mark.parametrize("page", man_pages(), ids=lambda p: p.name)
def test_man_page_lints_clean(page):
    """Clean at mandoc's strictest level (style), but for cross references to
    pages mandoc's database does not know: our own (not installed here) and
    a few of other packages. A reference to a page of ours that does not exist,
    such as a wrong section, still fails."""
    if not shutil.which("mandoc"):
        pytest.skip("mandoc is not installed (apt-get install mandoc)")
    r = subprocess.run(["mandoc", "-Tlint", "-W", "style", str(page)], capture_output=True, text=True)
    allowed = own_pages() | EXTERNAL_PAGES
    problems = []
    for line in r.stdout.splitlines():
        m = re.search(r"STYLE: referenced manual not found: Xr (\S+) (\S+)", line)
        if not (m and (m.group(1), m.group(2)) in allowed):
            problems.append(line)
    # stderr only ever says the system's page database is out of date.
    problems += [l for l in r.stderr.splitlines() if "outdated mandoc.db" not in l]
    assert not problems, "\n".join(problems)


def test_man_lint_catches_a_wrong_cross_reference(tmp_path):
    if not shutil.which("mandoc"):
        pytest.skip("mandoc is not installed (apt-get install mandoc)")
    page = tmp_path / "sealpost-policy.5"
    page.write_text((MAN_DIR / "sealpost-policy.5").read_text().replace("Xr sealpost 1", "Xr sealpost 8"))
    r = subprocess.run(["mandoc", "-Tlint", "-W", "style", str(page)], capture_output=True, text=True)
    assert "referenced manual not found: Xr sealpost 8" in r.stdout
    assert ("sealpost", "8") not in own_pages()


def test_every_config_key_is_documented():
    page = (MAN_DIR / "sealpost.yaml.5").read_text()
    documented = set(re.findall(r"^\.It Cm (\S+)", page, re.M))
    missing = [k for k in config_keys() if k not in documented]
    assert not missing, "undocumented in man/sealpost.yaml.5: " + ", ".join(missing)


# Where sealpost-policy(5) describes the keys of each part of the policy file
# (defaults take the rule keys, see its TOP-LEVEL KEYS).
POLICY_MAN_SECTIONS = {
    "": "TOP-LEVEL KEYS",
    "defaults": "RULE KEYS",
    "defaults.pickup": "RULE KEYS",
    "rules[]": "RULE KEYS",
    "rules[].pickup": "RULE KEYS",
    "rules[].match": "MATCH KEYS",
    "scrub_profiles.*": "SCRUB PROFILES",
}


def test_every_policy_key_is_documented():
    page = MAN_DIR / "sealpost-policy.5"
    missing = []
    for key in policy_keys():
        section, _, name = key.rpartition(".")
        heading = POLICY_MAN_SECTIONS.get(section)
        assert heading, f"no section of sealpost-policy(5) is known for '{section}' ({key})"
        if name not in section_items(page, heading):
            missing.append(f"{key} (under {heading})")
    assert not missing, "undocumented in man/sealpost-policy.5: " + ", ".join(missing)


def test_every_users_file_key_is_documented():
    page = (MAN_DIR / "sealpost.1").read_text()
    documented = set(re.findall(r"^\.It Cm (\S+)", page, re.M))
    missing = [k for k in users_keys() if k not in documented]
    assert not missing, "users.yaml keys undocumented in man/sealpost.1: " + ", ".join(missing)


def test_every_cli_option_is_documented():
    text = (SOURCE_DIR / "cli" / "main.cpp").read_text()
    usage = text[text.index("kUsageText"):]
    usage = usage[:usage.index(";")]
    options = set(re.findall(r"(?<![\w-])--([a-z][a-z-]*)", usage))
    assert {"list-keys", "list-policy-keys", "json"} <= options, options
    page = (MAN_DIR / "sealpost.1").read_text()
    missing = [o for o in sorted(options) if not re.search(r"Fl -%s\b" % re.escape(o), page)]
    assert not missing, "options undocumented in man/sealpost.1: --" + ", --".join(missing)


def test_every_cli_verb_is_documented():
    page = (MAN_DIR / "sealpost.1").read_text()
    items = [" ".join(m.split()[:2]) for m in re.findall(r"^\.It Ic (.+)$", page, re.M)]
    missing = []
    for group, sub in cli_verbs():
        want = group if sub is None else f"{group} {sub}"
        if not any(i == want or i.startswith(want + " ") or i.split()[0] == want for i in items):
            missing.append(want)
    assert cli_verbs(), "could not read the usage text in cli/main.cpp"
    assert not missing, "undocumented in man/sealpost.1: " + ", ".join(missing)


@pytest.fixture
def unit_root(tmp_path):
    """A throw-away root holding the units, stand-ins for the binaries they
    start, and the distribution's own units they refer to (sysinit.target...)."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    root = tmp_path / "root"
    (root / "usr" / "sbin").mkdir(parents=True)
    (root / "bin").mkdir()
    for exe in ["usr/sbin/sealpostd", "usr/sbin/sealpost-portal", "bin/kill"]:
        p = root / exe
        p.write_text("#!/bin/sh\n")
        p.chmod(0o755)
    for d in ["/lib/systemd/system", "/usr/lib/systemd/system"]:
        if Path(d).is_dir() and not (root / "usr/lib/systemd/system").exists():
            shutil.copytree(d, root / "usr/lib/systemd/system", symlinks=True)
    etc = root / "etc" / "systemd" / "system"
    etc.mkdir(parents=True)
    for u in UNITS:
        shutil.copy(SOURCE_DIR / "systemd" / u, etc / u)
    return root


def test_units_verify(unit_root):
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={unit_root}", *UNITS],
                       capture_output=True, text=True)
    assert r.returncode == 0 and not r.stderr.strip(), r.stdout + r.stderr


def test_units_verify_catches_mistakes(unit_root):
    # The check above must be able to fail: a misspelled directive is reported.
    unit = unit_root / "etc/systemd/system/sealpostd.service"
    unit.write_text(unit.read_text().replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", f"--root={unit_root}", "sealpostd.service"],
                       capture_output=True, text=True)
    assert "NoNewPrivilege" in r.stderr


@pytest.mark.parametrize("unit", UNITS)
def test_units_are_hardened(unit_root, unit):
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", f"--root={unit_root}", unit],
                       capture_output=True, text=True)
    if "--offline" in r.stderr and "unrecognized" in r.stderr:
        pytest.skip("this systemd-analyze has no --offline mode")
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\w+)", r.stdout)
    assert m, r.stdout[-2000:] + r.stderr
    assert m.group(2) in ("SAFE", "OK"), f"{unit}: exposure {m.group(1)} rated {m.group(2)}"
    assert float(m.group(1)) < 2.0


def test_units_start_what_the_build_installs():
    installs = {}
    for cm in SOURCE_DIR.glob("*/CMakeLists.txt"):
        for target, dest in re.findall(r"install\(TARGETS\s+(\S+)\s+DESTINATION\s+\$\{CMAKE_INSTALL_(\w+)\}",
                                       cm.read_text()):
            installs[target] = dest
    for unit in UNITS:
        exe = re.search(r"^ExecStart=(\S+)", (SOURCE_DIR / "systemd" / unit).read_text(), re.M).group(1)
        name = Path(exe).name
        where = {"BINDIR": "/usr/bin", "SBINDIR": "/usr/sbin"}.get(installs.get(name, ""), "?")
        assert f"{where}/{name}" == exe, f"{unit} starts {exe} but CMake installs {name} to {where}"
