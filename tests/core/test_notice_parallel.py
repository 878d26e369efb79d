"""Rendering notices across worker processes (``jobs``): the same bytes as one process, the same
files, all or nothing, and ``notice render --jobs`` on the command line."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mutualaid import ValidationError
from mutualaid.cli import State, cli

POOL = "js-truckers"
MEMBERS = 240


@pytest.fixture(scope="module")
def shared_pool(tmp_path_factory, plugins, _sqlite_template, _identity_key):
    """A pool of a few hundred drivers with 2026-11 shared, exact apportionment (some pay the
    extra fen); module-wide, SQLite (the workers read the committed file). Built before any test's
    own fixtures run, so it names the run's key itself (it once wrote one into the home directory)."""
    import shutil

    from mutualaid import MutualAid
    from tests.conftest import TRUCKERS_POOL, driver

    path = tmp_path_factory.mktemp("parallel") / "mutualaid.db"
    shutil.copyfile(_sqlite_template, path)
    url = f"sqlite:///{path}"
    with pytest.MonkeyPatch.context() as patched:
        patched.setenv("MUTUALAID_KEY_FILE", str(_identity_key))
        app = MutualAid(url, plugins=plugins)
        pool = {**TRUCKERS_POOL, "sharing": {**TRUCKERS_POOL["sharing"], "rounding": "exact"}}
        app.create_pool(pool)
        for n in range(1, MEMBERS + 1):
            app.join(POOL, **driver(n, born=date(1975, 1, 1) + timedelta(days=n // 1000 + n % 7)))
        claim = app.file_claim(POOL, 1, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
        app.approve_claim(claim.id)
        result = app.share(POOL, "2026-11")
        assert result.extra_count  # some members pay one more fen than others
        app.close()
    return url


@pytest.fixture
def app(shared_pool, plugins):
    from mutualaid import MutualAid

    application = MutualAid(shared_pool, plugins=plugins)
    yield application
    application.close()


@pytest.mark.parametrize("locale", [None, "en"])
def test_two_jobs_write_the_same_stream_files_as_one(app, tmp_path, locale):
    one = app.render_notices(POOL, "statement", tmp_path / "one", period="2026-11", layout="stream",
                             formats=("text", "html"), locale=locale)  # fmt: skip
    two = app.render_notices(POOL, "statement", tmp_path / "two", period="2026-11", layout="stream",
                             formats=("text", "html"), locale=locale, jobs=2)  # fmt: skip
    assert one.count == two.count == MEMBERS - 1
    assert [p.name for p in one.paths] == [p.name for p in two.paths]
    assert len(two.paths) == 2
    for a, b in zip(one.paths, two.paths, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(p.name for p in two.paths)


def test_two_jobs_write_the_same_files_as_one(app, tmp_path):
    one = app.render_notices(POOL, "statement", tmp_path / "one", period="2026-11")
    two = app.render_notices(POOL, "statement", tmp_path / "two", period="2026-11", jobs=2)
    assert [p.name for p in one.paths] == [p.name for p in two.paths]
    assert len(two.paths) == MEMBERS - 1
    for a, b in zip(one.paths, two.paths, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert len(list((tmp_path / "two").iterdir())) == MEMBERS - 1  # no staging left behind


@pytest.mark.parametrize("layout", ["files", "stream"])
def test_a_template_failing_in_a_worker_leaves_nothing_and_is_one_line(app, tmp_path, layout):
    templates = tmp_path / "templates" / "zh-CN"
    templates.mkdir(parents=True)
    (templates / "statement.txt.j2").write_text(
        "{% if member.id == 200 %}{{ 1 // 0 }}{% endif %}{{ member.masked_name }} {{ charge }}\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    with pytest.raises(ValidationError) as caught:
        app.render_notices(POOL, "statement", out, period="2026-11", layout=layout,
                           templates=templates.parent, jobs=2)  # fmt: skip
    assert caught.value.lines == [
        "template zh-CN/statement.txt.j2 failed for member #200: ZeroDivisionError: integer division or modulo "
        "by zero; fix the template"
    ]
    assert list(out.iterdir()) == []


def test_negative_jobs_are_refused(app, tmp_path):
    with pytest.raises(ValidationError, match="jobs must be 0"):
        app.render_notices(POOL, "statement", tmp_path / "out", period="2026-11", jobs=-1)


def test_cli_jobs(shared_pool, plugins, runner, tmp_path):
    out = tmp_path / "out"
    args = ["--database-url", shared_pool, "notice", "render", POOL, "--kind", "statement", "--period", "2026-11",
            "--layout", "stream", "--out", str(out), "--locale", "en"]  # fmt: skip
    result = runner.invoke(cli, [*args, "--jobs", "2"], obj=State(plugins=plugins), prog_name="mutualaid")
    assert result.exit_code == 0, result.output
    path = out / "statements-2026-11.en.txt"
    assert result.output == f"rendered {MEMBERS - 1} statement notices into {path}\n"
    text = path.read_text(encoding="utf-8")
    assert text.count("=== member ") == MEMBERS - 1
    bad = runner.invoke(cli, [*args, "--jobs", "-1"], obj=State(plugins=plugins), prog_name="mutualaid")
    assert bad.exit_code == 2
