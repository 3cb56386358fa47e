"""`sealpost consent import` and `consent add` never undo a patient's newer
decision: an old list saying "granted" must not restore consent that was
withdrawn since, nor wipe the second factor the CSV does not carry."""
import json

from sealpost_harness import Relay

PATIENT, OTHER, NEW = "p@patient.example", "q@patient.example", "r@patient.example"


def consent_list(relay):
    return {r["address"]: r for r in json.loads(relay.cli("--json", "consent", "list").stdout)}


def test_import_skips_older_lines_and_keeps_second_factors(tmp_path):
    relay = Relay(tmp_path, smarthost_port=9)
    (tmp_path / "pass.txt").write_text("correct horse staple\n")
    relay.cli("consent", "add", PATIENT, "--passphrase-file", tmp_path / "pass.txt",
              "--date", "2026-01-05")
    relay.cli("consent", "revoke", PATIENT, "--date", "2026-03-01")
    relay.cli("consent", "add", OTHER, "--sms", "+49 171 2345678", "--date", "2026-01-10")

    csv = tmp_path / "old-export.csv"
    csv.write_text("address,state,date,sms\n"
                   "# exported from the practice software last year\n"
                   "%s,granted,2025-12-01\n"
                   "%s,granted,2026-04-01\n"
                   "%s,granted,2026-02-01,+49 160 1111111\n" % (PATIENT, OTHER, NEW))
    out = relay.cli("consent", "import", csv)
    assert out.returncode == 0
    assert "1 added, 1 updated, 0 unchanged, 1 skipped" in out.stdout, out.stdout
    assert out.stderr.strip() == (
        "%s:3: skipped %s: on record: revoked on 2026-03-01, newer than this granted of "
        "2025-12-01" % (csv, PATIENT)), out.stderr

    records = consent_list(relay)
    assert records[PATIENT]["state"] == "revoked" and records[PATIENT]["date"] == "2026-03-01"
    assert records[PATIENT]["passphrase_set"] is True
    assert records[OTHER]["state"] == "granted" and records[OTHER]["date"] == "2026-04-01"
    assert records[OTHER]["sms_number"] == "+49 171 2345678"  # the CSV named none: kept
    assert records[NEW]["sms_number"] == "+49 160 1111111"

    # The same file again changes nothing.
    again = relay.cli("consent", "import", csv)
    assert "0 added, 0 updated, 2 unchanged, 1 skipped" in again.stdout, again.stdout

    # A withdrawal in a newer list is applied; the passphrase hash stays on file.
    newer = tmp_path / "newer.csv"
    newer.write_text("%s,revoked,2026-05-01\n" % OTHER)
    assert "1 updated" in relay.cli("consent", "import", newer).stdout
    assert consent_list(relay)[OTHER]["state"] == "revoked"

    # The admin audit trail counts what changed and what was skipped.
    trail = "".join(p.read_text() for p in (relay.state_dir / "admin-audit").glob("*"))
    assert '"skipped":"1"' in trail.replace(" ", ""), trail


def test_add_refuses_a_date_before_the_record_on_file(tmp_path):
    relay = Relay(tmp_path, smarthost_port=9)
    relay.cli("consent", "add", PATIENT, "--date", "2026-01-05")
    relay.cli("consent", "revoke", PATIENT, "--date", "2026-03-01")
    old = relay.cli("consent", "add", PATIENT, "--date", "2026-02-01", check=False)
    assert old.returncode == 1
    assert "on record is revoked on 2026-03-01, newer than 2026-02-01" in old.stderr, old.stderr
    assert consent_list(relay)[PATIENT]["state"] == "revoked"
    # Granting again later (the patient changed their mind) works.
    assert relay.cli("consent", "add", PATIENT, "--date", "2026-03-02").returncode == 0
    assert consent_list(relay)[PATIENT]["state"] == "granted"


def test_a_bad_line_imports_nothing(tmp_path):
    relay = Relay(tmp_path, smarthost_port=9)
    csv = tmp_path / "bad.csv"
    csv.write_text("%s,granted,2026-01-01\n%s,perhaps,2026-01-01\n" % (PATIENT, OTHER))
    bad = relay.cli("consent", "import", csv, check=False)
    assert bad.returncode == 1
    assert "bad.csv:2: state must be granted or revoked (nothing imported)" in bad.stderr, bad.stderr
    assert consent_list(relay) == {}


def test_a_consent_date_in_the_future_is_refused(tmp_path):
    relay = Relay(tmp_path, smarthost_port=9)
    # Dated ahead, a decision would outrank every real later one.
    ahead = relay.cli("consent", "add", PATIENT, "--date", "2999-01-01", check=False)
    assert ahead.returncode != 0
    assert "--date 2999-01-01 is in the future" in ahead.stderr, ahead.stderr
    revoke = relay.cli("consent", "revoke", PATIENT, "--date", "2999-01-01", check=False)
    assert revoke.returncode != 0
    csv = tmp_path / "ahead.csv"
    csv.write_text("%s,granted,2026-01-01\n%s,revoked,2999-12-31\n" % (PATIENT, OTHER))
    bad = relay.cli("consent", "import", csv, check=False)
    assert bad.returncode == 1
    assert "ahead.csv:2: date 2999-12-31 is in the future" in bad.stderr, bad.stderr
    assert consent_list(relay) == {}
