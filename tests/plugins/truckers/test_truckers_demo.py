"""`mutualaid demo`, the README's first command, run as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

MUTUALAID = Path(sys.executable).parent / "mutualaid"


def test_the_demo_runs_a_pool_end_to_end_and_reconciles(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run(
        [str(MUTUALAID), "demo", "--dir", str(out), "--members", "200", "--seed", "7"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Traceback" not in result.stderr
    joined, rejected = map(int, re.search(r"200 drivers applied: (\d+) joined, (\d+) were not eligible", text).groups())
    assert joined + rejected == 200 and rejected > 0
    assert "accidental death -> approved 300,000.00 CNY" in text
    assert "grade-3 disability -> approved 240,000.00 CNY" in text
    assert "disability while drunk driving -> rejected" in text
    assert "running 2026-11 again is refused" in text
    assert "totals reconcile: YES" in text
    assert "7. ledger: 1 entry, hash chain intact; books balance to the fen" in text
    # one statement per member charged: everyone who joined but the driver who died
    sharing = int(re.search(r"among the ([\d,]+) members covered", text).group(1).replace(",", ""))
    assert sharing == joined - 1
    assert len(list((out / "notices" / "statements").glob("statement-2026-11-*.txt"))) == sharing
    assert (out / "demo.db").is_file() and (out / "pool.toml").is_file() and (out / "drivers.rejects.csv").is_file()


def test_the_demo_refuses_a_bad_member_count(tmp_path):
    result = subprocess.run(
        [str(MUTUALAID), "demo", "--dir", str(tmp_path / "demo"), "--members", "3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2  # click's usage error
    assert "Invalid value for '--members': 3 is not in the range 50<=x<=100000." in result.stderr
    assert not (tmp_path / "demo").exists()


def test_the_demo_never_deletes_a_directory_it_did_not_make(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    result = subprocess.run(
        [str(MUTUALAID), "demo", "--dir", str(precious), "--members", "50"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: {precious} is not empty and was not made by 'mutualaid demo', so it is left alone; "
        "give the demo a new directory with --dir\n"
    )
    assert [p.name for p in precious.iterdir()] == ["notes.txt"]


def test_the_demo_replaces_its_own_earlier_output(tmp_path):
    out = tmp_path / "demo"
    for _ in range(2):
        result = subprocess.run(
            [str(MUTUALAID), "demo", "--dir", str(out), "--members", "50"], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        assert "totals reconcile: YES" in result.stdout
        assert "hash chain intact; books balance to the fen" in result.stdout
    assert (out / ".mutualaid-demo").is_file()
