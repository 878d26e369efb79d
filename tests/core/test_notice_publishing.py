"""How rendered notices appear in their output directory: all at once, replacing the earlier
rendering's, or not at all; staged beside it, privately; a directory holding anything else is
never replaced. (Renderings killed with SIGKILL at random points: ``test_faults.py``.)"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from mutualaid import MutualAid, ValidationError
from mutualaid.notices import writer

POOL = "js-truckers"


@pytest.fixture
def app(sqlite_url, plugins, truckers_pool, make_driver):
    """Seven drivers and period 2026-11 shared; members 1 and 2 claimed (both claims decided)."""
    application = MutualAid(sqlite_url, plugins=plugins)
    application.create_pool(truckers_pool())
    for n in range(1, 8):
        application.join(POOL, **make_driver(n))
    for member, day in ((1, "2026-10-20"), (2, "2026-10-21")):
        claim = application.file_claim(
            POOL, member, event_kind="accidental_death", event_date=day, filed_on="2026-10-25"
        )
        application.approve_claim(claim.id)
    application.share(POOL, "2026-11")
    yield application
    application.close()


def _listing(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() if p.is_file() else b"(a directory)" for p in sorted(directory.iterdir())}


def _staged(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".rendering-" in p.name)


def _statements(app: MutualAid, out: Path, **options) -> list[Path]:
    return app.render_notices(POOL, "statement", out, period="2026-11", **options).paths


def _failing_templates(tmp_path: Path) -> Path:
    """Templates that fail for member #6, after others have rendered."""
    root = tmp_path / "templates"
    (root / "en").mkdir(parents=True)
    (root / "en" / "statement.txt.j2").write_text(
        "{% if member.id == 6 %}{{ 1 // 0 }}{% endif %}{{ member.masked_name }}\n", encoding="utf-8"
    )
    return root


def test_a_rendering_replaces_the_earlier_set_whole_and_keeps_the_directorys_mode(app, tmp_path):
    out = tmp_path / "out"
    paths = _statements(app, out, locale="en")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    assert len(paths) == 5  # members 3-7
    out.chmod(0o750)
    welcome = app.render_notices(POOL, "welcome", out, members=[3], locale="en").paths
    assert [p.name for p in out.iterdir()] == [p.name for p in welcome] == ["welcome-3.txt"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(welcome[0].stat().st_mode) == 0o666 & ~mask  # as any file the operator makes
    assert _staged(tmp_path) == []


@pytest.mark.parametrize("place", ["notes", "subdirectory", "hidden", "database"])
def test_a_directory_holding_more_than_notices_is_refused_and_left_alone(app, tmp_path, place):
    out = tmp_path / "out"
    out.mkdir()
    (out / "statement-2026-11-3.txt").write_text("an earlier statement", encoding="utf-8")
    extra = {"notes": "notes.md", "subdirectory": "drafts", "hidden": ".profile", "database": None}[place]
    if extra == "drafts":
        (out / extra).mkdir()
    elif extra:
        (out / extra).write_text("mine", encoding="utf-8")
    target = tmp_path if extra is None else out  # tmp_path holds the database
    before = _listing(out)
    with pytest.raises(ValidationError) as caught:
        _statements(app, target)
    shown = extra or "mutualaid.db, "  # the database's own directory: the database, and more
    message = str(caught.value)
    assert message.startswith(f"the output directory {target} holds more than notices ({shown}")
    assert message.endswith(
        "); a rendering replaces its output directory whole, so name a new or empty one, or one holding only notices"
    )
    assert _listing(out) == before
    assert _staged(tmp_path) == [] and _staged(out) == []


@pytest.mark.parametrize(("layout", "jobs"), [("files", 1), ("stream", 1), ("files", 2), ("stream", 2)])
def test_a_rendering_failing_half_way_leaves_the_earlier_set(app, tmp_path, layout, jobs):
    out = tmp_path / "out"
    _statements(app, out, locale="en")
    before = _listing(out)
    with pytest.raises(ValidationError, match=re.escape("failed for member #6: ZeroDivisionError")):
        _statements(app, out, locale="en", layout=layout, jobs=jobs, templates=_failing_templates(tmp_path))
    assert _listing(out) == before
    assert _staged(tmp_path) == []


def test_letters_named_by_reference_are_named_alike_by_two_processes(app, tmp_path):
    one = app.render_notices(POOL, "decision", tmp_path / "one", locale="en")
    two = app.render_notices(POOL, "decision", tmp_path / "two", locale="en", jobs=2)
    assert (
        [p.name for p in two.paths] == [p.name for p in one.paths] == ["decision-claim-1.txt", "decision-claim-2.txt"]
    )
    assert _listing(tmp_path / "two") == _listing(tmp_path / "one")


def test_staging_is_private_to_its_owner(tmp_path):
    staging = writer.Staging(tmp_path / "out")
    files = writer.NoticeFiles(staging.notices, "statement-2026-11", "files")
    files.write(3, {"text": "王小明 50,914.29\n"})
    files.close()
    assert stat.S_IMODE(staging.root.stat().st_mode) == 0o700
    assert stat.S_IMODE((staging.notices / "statement-2026-11-3.txt").stat().st_mode) == 0o600
    assert staging.root.parent == tmp_path and staging.root.name.startswith(f".out.rendering-{os.getpid()}-")
    staging.discard()
    assert _staged(tmp_path) == [] and list((tmp_path / "out").iterdir()) == []


def test_a_staging_name_is_owned_only_by_a_process_number_in_ascii_or_other_decimal_digits():
    mark = writer.STAGING_MARK
    assert writer._owner(f".out{mark}{os.getpid()}-ab12") == os.getpid()
    assert writer._owner(f".out{mark}²-ab12") is None  # a digit int() refuses: not a process number
    assert writer._owner(f".out{mark}x1-ab12") is None
    assert writer._owner(f"out{mark}12-ab12") is None  # not hidden: not a staging directory


def test_without_an_atomic_exchange_two_renames_swap_and_a_kill_between_them_is_undone(app, tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "_exchange", lambda first, second: False)
    out = tmp_path / "out"
    _statements(app, out, locale="en")
    old = _listing(out)
    _statements(app, out, locale="zh-CN")
    new = _listing(out)
    assert new != old and sorted(new) == sorted(old) and _staged(tmp_path) == []
    # Killed between the two renames: the earlier set is in the staging of a dead process and
    # the output directory is missing. The next rendering puts the set back first (here it fails).
    dead = subprocess.Popen(["true"])
    dead.wait()
    leftover = tmp_path / f".out.rendering-{dead.pid}-abcdefgh"
    leftover.mkdir()
    out.rename(leftover / "replaced")
    with pytest.raises(ValidationError):
        _statements(app, out, locale="en", templates=_failing_templates(tmp_path))
    assert _listing(out) == new
    assert _staged(tmp_path) == []


def test_an_output_directory_named_by_a_link_is_replaced_where_the_link_points(app, tmp_path):
    real = tmp_path / "real"
    _statements(app, real, locale="en")
    link = tmp_path / "out"
    link.symlink_to(real, target_is_directory=True)
    paths = app.render_notices(POOL, "welcome", link, members=[4], locale="en").paths
    assert paths == [link / "welcome-4.txt"]
    assert link.is_symlink() and [p.name for p in real.iterdir()] == ["welcome-4.txt"]
    assert _staged(tmp_path) == []
