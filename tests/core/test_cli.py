"""The ``mutualaid`` command line: help everywhere, the sharing commands, the database commands,
progress bars on a terminal, and user errors as one line with exit code 1, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import click
import pytest

import mutualaid
from mutualaid import MutualAid
from mutualaid.cli import State, cli, main
from mutualaid.cli import members as cli_module
from mutualaid.db.schema import HEAD

POOL = "js-truckers"


def _invoke(runner, plugins, *args, db_url: str | None = None):
    prefix = ["--database-url", db_url] if db_url else []
    return runner.invoke(cli, [*prefix, *args], obj=State(plugins=plugins), prog_name="mutualaid")


def _user_error(result) -> str:
    """The one line a user error prints; fails if the command crashed or printed more."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not an uncaught exception
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


# -- help and version ----------------------------------------------------------------------------


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


def _full_tree(plugins) -> list[tuple[str, ...]]:
    plugins.hook.register_commands(cli=cli)  # as main() does: plugins' commands are part of the tree
    return _command_paths(cli)


def test_command_tree_has_the_documented_commands(plugins):
    paths = {" ".join(p) for p in _full_tree(plugins)}
    expected = {
        "",
        "plugins",
        "install",
        "cohorts list",
        "cohorts show",
        "db init",
        "db upgrade",
        "db current",
        "pool create",
        "pool list",
        "pool show",
        "member join",
        "member import",
        "member list",
        "member show",
        "member update",
        "member exit",
        "claim file",
        "claim review",
        "claim approve",
        "claim reject",
        "claim list",
        "share run",
        "share show",
        "notice render",
    }
    assert expected <= paths


def test_help_works_for_every_command_and_group(runner, plugins):
    paths = _full_tree(plugins)
    assert len(paths) > 20
    for path in paths:
        for flag in ("--help", "-h"):
            result = runner.invoke(cli, [*path, flag], obj=State(plugins=plugins), prog_name="mutualaid")
            assert result.exit_code == 0, (path, result.output)
            assert result.output.startswith(f"Usage: {' '.join(('mutualaid', *path))} "), (path, result.output)
            command = cli
            for name in path:
                command = command.commands[name]  # type: ignore[attr-defined]
            assert (command.help or "").strip(), f"'mutualaid {' '.join(path)}' has no help text"


def test_help_through_the_entry_point(capsys):
    with pytest.raises(SystemExit) as info:
        main(["share", "run", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: mutualaid share run [OPTIONS] POOL\n")
    assert "--period TEXT" in out and "--json" in out


def test_version(runner, plugins):
    result = _invoke(runner, plugins, "--version")
    assert result.exit_code == 0
    assert result.output == f"mutualaid, version {mutualaid.__version__}\n"


# -- sharing -------------------------------------------------------------------------------------


@pytest.fixture
def pool(app, truckers_pool, make_driver):
    """Eight drivers; member 1 dies in October, so period 2026-11 shares 324,000.00 among seven."""

    def make(rounding: str = "round-up"):
        app.create_pool(truckers_pool(sharing={"rounding": rounding}))
        for n in range(1, 9):
            app.join(POOL, **make_driver(n))
        claim = app.file_claim(POOL, 1, event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25")
        app.approve_claim(claim.id)
        return app

    return make


BREAKDOWN = """\
  period               2026-11 (members counted at 00:00 on 2026-11-07, deducted on 2026-11-14)
  claims funded        1
  aid amount           300,000.00
  management fee       24,000.00 (8% of the aid amount)
  surplus carried in   0.00
  to share             324,000.00
  members sharing      7
{share}
  charged in total     {charged}
  surplus carried out  {surplus}
  reconciles           yes: charged = aid + fee - surplus in + surplus out
"""


def test_share_run_and_show_print_the_breakdown(pool, runner, plugins, db_url):
    pool()
    result = _invoke(runner, plugins, "share", "run", POOL, "--period", "2026-11", db_url=db_url)
    assert result.exit_code == 0, result.output
    # ceil(32,400,000 / 7) = 4,628,572 fen; 7 of them collect 4 fen more than needed
    breakdown = BREAKDOWN.format(
        share="  share                46,285.72 per member (round-up)", charged="324,000.04", surplus="0.04"
    )
    assert result.output == "shared period 2026-11 of pool 'js-truckers' (run #1):\n" + breakdown
    shown = _invoke(runner, plugins, "share", "show", POOL, "--period", "2026-11", db_url=db_url)
    assert shown.exit_code == 0, shown.output
    assert shown.output == "period 2026-11 of pool 'js-truckers' (run #1):\n" + breakdown


def test_share_run_exact_apportionment_breakdown(pool, runner, plugins, db_url):
    pool("exact")
    result = _invoke(runner, plugins, "share", "run", POOL, "--period", "2026-11", db_url=db_url)
    assert result.exit_code == 0, result.output
    breakdown = BREAKDOWN.format(
        share="  share                46,285.71; 3 members pay 46,285.72 (exact apportionment, rotating)",
        charged="324,000.00",
        surplus="0.00",
    )
    assert result.output.endswith(breakdown)


@pytest.mark.parametrize("command", ["run", "show"])
def test_share_json_has_amounts_as_strings(pool, runner, plugins, db_url, command):
    pool()
    if command == "show":
        assert _invoke(runner, plugins, "share", "run", POOL, "--period", "2026-11", db_url=db_url).exit_code == 0
    result = _invoke(runner, plugins, "share", command, POOL, "--period", "2026-11", "--json", db_url=db_url)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    amounts = {k: data[k] for k in ("aid", "fee", "surplus_in", "need", "share", "charged", "surplus_out")}
    assert amounts == {
        "aid": "300000.00",
        "fee": "24000.00",
        "surplus_in": "0.00",
        "need": "324000.00",
        "share": "46285.72",
        "charged": "324000.04",
        "surplus_out": "0.04",
    }
    assert data["fee_rate"] == "0.08"
    assert (data["pool_key"], data["period"], data["members"], data["claims"], data["extra_count"]) == (
        POOL,
        "2026-11",
        7,
        1,
        0,
    )
    assert (data["notice_date"], data["deduction_date"], data["currency"], data["rounding"]) == (
        "2026-11-07",
        "2026-11-14",
        "CNY",
        "round-up",
    )
    assert data["reconciles"] is True
    assert not any(k.endswith("_minor") for k in data)


def test_share_run_twice_is_a_one_line_error_and_charges_once(pool, runner, plugins, db_url):
    app = pool()
    assert _invoke(runner, plugins, "share", "run", POOL, "--period", "2026-11", db_url=db_url).exit_code == 0
    again = _invoke(runner, plugins, "share", "run", POOL, "--period", "2026-11", db_url=db_url)
    assert _user_error(again) == (
        "Error: period 2026-11 of pool 'js-truckers' was already shared (run #1, 7 members charged); nothing was "
        "charged again. See 'mutualaid share show js-truckers --period 2026-11'"
    )
    assert app.sharing_run(POOL, "2026-11").charged_minor == 32_400_004


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["pool", "show", "nope"], "Error: no pool 'nope' (existing pools: js-truckers)", id="unknown-pool"
        ),
        pytest.param(
            ["share", "run", POOL, "--period", "2026-13"],
            "Error: period '2026-13' has no such month; write it like 2026-11",
            id="bad-period",
        ),
        pytest.param(
            ["share", "run", POOL, "--period", "2026-11a"],
            "Error: pool 'js-truckers' shares monthly: write the period without a half, e.g. 2026-11",
            id="half-period-in-monthly-pool",
        ),
        pytest.param(
            ["share", "show", POOL, "--period", "2026-11"],
            "Error: period 2026-11 of pool 'js-truckers' has not been shared; "
            "run 'mutualaid share run js-truckers --period 2026-11'",
            id="show-unshared-period",
        ),
        pytest.param(
            ["claim", "approve", "999"],
            "Error: no claim #999; 'mutualaid claim list POOL' shows the claims",
            id="unknown-claim",
        ),
        pytest.param(
            ["claim", "approve", "1"],
            "Error: claim #1 is already approved; only a filed claim can be approved",
            id="approve-twice",
        ),
    ],
)
def test_user_errors_are_one_line_without_traceback(pool, runner, plugins, db_url, args, message):
    pool()
    assert _user_error(_invoke(runner, plugins, *args, db_url=db_url)) == message


def test_user_error_through_the_real_entry_point_has_no_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mutualaid.cli",
            "--database-url",
            f"sqlite:///{tmp_path / 'x.db'}",
            "pool",
            "show",
            "nope",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: no mutualaid database at {tmp_path / 'x.db'}; create one with `mutualaid pool create` or "
        "`mutualaid db init`, or check --database-url / MUTUALAID_DATABASE_URL\n"
    )
    assert not (tmp_path / "x.db").exists()


# -- the database --------------------------------------------------------------------------------


def test_db_init_creates_the_schema_then_is_already_at_head(runner, plugins, tmp_path):
    # The rest of the schema commands (refusals, upgrades, backups, previews): test_schema_commands.py.
    path = tmp_path / "new" / "pools.db"
    url = f"sqlite:///{path}"
    first = _invoke(runner, plugins, "db", "current", db_url=url)
    assert first.exit_code == 0, first.output
    assert first.output == f"(no mutualaid database at {path}; `mutualaid db init` creates one)\n"
    assert not path.parent.exists()  # looking does not create it
    created = _invoke(runner, plugins, "db", "init", db_url=url)
    assert created.exit_code == 0, created.output
    assert created.output == f"created the database {path} at schema revision {HEAD}\n"
    assert path.is_file()
    again = _invoke(runner, plugins, "db", "init", db_url=url)
    assert again.exit_code == 0, again.output
    assert again.output == f"the database {path} is already at schema revision {HEAD}; nothing to do\n"
    current = _invoke(runner, plugins, "db", "current", db_url=url)
    assert current.output == f"{HEAD} (head)\n"


def test_db_commands_on_a_migrated_database(runner, plugins, db_url):
    from sqlalchemy.engine import make_url

    shown = make_url(db_url).database if db_url.startswith("sqlite") else make_url(db_url).render_as_string()
    upgraded = _invoke(runner, plugins, "db", "upgrade", db_url=db_url)
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.output == f"the database {shown} is at schema revision {HEAD}, the head; nothing to do\n"
    current = _invoke(runner, plugins, "db", "current", db_url=db_url)
    assert current.exit_code == 0, current.output
    assert current.output == f"{HEAD} (head)\n"


@pytest.mark.parametrize("command", [["db", "current"], ["db", "upgrade"], ["pool", "list"]], ids=" ".join)
@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(
            "nonsense",
            "Error: database URL 'nonsense' is not valid; use e.g. sqlite:///path/to/file.db or "
            "postgresql://user@host:5432/dbname",
            id="unparseable",
        ),
        pytest.param(
            "foo://user:secret@host/db",
            "Error: database URL 'foo://user:***@host/db' names a database "
            "SQLAlchemy does not support ('foo'); use e.g. sqlite:///path/to/file.db or "
            "postgresql://user@host:5432/dbname",
            id="unknown-dialect",
        ),
        pytest.param(
            "postgresql://user:secret@127.0.0.1:1/db",
            "Error: cannot open the database postgresql+psycopg://user:***@127.0.0.1:1/db: connection failed: ",
            id="unreachable-server",
        ),
    ],
)
def test_bad_database_url_is_a_one_line_error(runner, plugins, command, url, message):
    line = _user_error(_invoke(runner, plugins, *command, db_url=url))
    assert line.startswith(message)
    assert "secret" not in line


def test_database_directory_that_cannot_be_created(runner, plugins, tmp_path):
    (tmp_path / "a-file").write_text("")
    url = f"sqlite:///{tmp_path / 'a-file' / 'pools.db'}"
    line = _user_error(_invoke(runner, plugins, "db", "init", db_url=url))
    assert line.startswith(f"Error: cannot create the directory {tmp_path / 'a-file'} for the database file: ")


def test_database_url_from_the_environment(runner, plugins, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'from-env.db'}"
    monkeypatch.setenv("MUTUALAID_DATABASE_URL", url)
    result = _invoke(runner, plugins, "db", "init")
    assert result.exit_code == 0, result.output
    assert result.output == f"created the database {tmp_path / 'from-env.db'} at schema revision {HEAD}\n"
    assert (tmp_path / "from-env.db").is_file()


def test_default_database_is_in_mutualaid_home(runner, plugins, tmp_path, monkeypatch):
    home = tmp_path / "home" / "mutualaid"
    monkeypatch.setenv("MUTUALAID_HOME", str(home))
    monkeypatch.delenv("MUTUALAID_DATABASE_URL", raising=False)
    refused = _user_error(_invoke(runner, plugins, "pool", "list"))
    assert refused.startswith(f"Error: no mutualaid database at {home / 'mutualaid.db'}; create one with ")
    assert not home.exists()
    assert _invoke(runner, plugins, "db", "init").exit_code == 0
    assert (home / "mutualaid.db").is_file()
    result = _invoke(runner, plugins, "pool", "list")
    assert result.exit_code == 0, result.output
    assert result.output == "no pools yet; create one with 'mutualaid pool create FILE'\n"


@pytest.mark.parametrize(
    ("sharing", "words"),
    [
        ('management_fee = "none"\n', "no fee"),
        ('management_fee = "flat"\nmanagement_fee_per_member = "0.5"\n', "fee 0.50 per member sharing"),
        ('management_fee_rate = "0.125"\n', "fee 12.5%"),
    ],
    ids=["none", "flat", "rate"],
)
def test_pool_create_states_the_pools_own_fee(runner, plugins, tmp_path, sharing, words):
    pool_file = tmp_path / "pool.toml"
    pool_file.write_text(f'key = "p"\nname = "P"\ncohort = "truckers"\n[sharing]\n{sharing}', encoding="utf-8")
    created = _invoke(runner, plugins, "pool", "create", str(pool_file), db_url=f"sqlite:///{tmp_path / 'p.db'}")
    assert created.exit_code == 0, created.output
    assert (
        created.output == f"created pool 'p': P (cohort truckers, CNY, monthly sharing, {words}, rounding round-up)\n"
    )


# -- end to end ----------------------------------------------------------------------------------


def test_a_period_end_to_end_on_the_command_line(runner, plugins, tmp_path, make_driver):
    url = f"sqlite:///{tmp_path / 'pools.db'}"
    pool_file = tmp_path / "pool.toml"
    pool_file.write_text(
        'key = "js-truckers"\nname = "江苏卡友互助"\ncohort = "truckers"\n'
        '[sharing]\nmanagement_fee_rate = "0.08"\nrounding = "round-up"\n',
        encoding="utf-8",
    )
    created = _invoke(runner, plugins, "pool", "create", str(pool_file), db_url=url)
    assert created.exit_code == 0, created.output
    assert created.output == (
        "created pool 'js-truckers': 江苏卡友互助 (cohort truckers, CNY, monthly sharing, fee 8%, rounding round-up)\n"
    )
    for n in (1, 2, 3):
        d = make_driver(n)
        attrs = [arg for k, v in d["attributes"].items() for arg in ("--attr", f"{k}={v}")]
        joined = _invoke(
            runner,
            plugins,
            "member",
            "join",
            POOL,
            "--id-number",
            d["id_number"],
            "--name",
            d["name"],
            "--birth-date",
            str(d["birth_date"]),
            "--joined-on",
            "2026-10-01",
            *attrs,
            db_url=url,
        )
        assert joined.exit_code == 0, joined.output
        assert joined.output.startswith(
            f"member #{n} {d['name']} joined pool 'js-truckers' on 2026-10-01; "
            "waiting period until 2026-12-30 (that day included)\n"
        )
    filed = _invoke(
        runner,
        plugins,
        "claim",
        "file",
        POOL,
        "3",
        "--kind",
        "accidental_disability",
        "--date",
        "2026-10-20",
        "--detail",
        "disability_grade=10",
        "--filed-on",
        "2026-10-25",
        db_url=url,
    )
    assert filed.exit_code == 0, filed.output
    approved = _invoke(runner, plugins, "claim", "approve", "1", db_url=url)
    assert approved.exit_code == 0, approved.output
    assert approved.output.startswith("approved claim #1: 30,000.00 CNY, to be shared in the next sharing run\n")
    shared = _invoke(runner, plugins, "share", "run", POOL, "--period", "2026-11", "--json", db_url=url)
    assert shared.exit_code == 0, shared.output
    data = json.loads(shared.output)
    # 30,000.00 + 8% = 32,400.00 over 3 members = 10,800.00 each
    assert (data["members"], data["share"], data["charged"], data["surplus_out"]) == (3, "10800.00", "32400.00", "0.00")


# -- progress bars -------------------------------------------------------------------------------


@pytest.fixture
def import_file(tmp_path, plugins, truckers_pool, make_driver):
    """A SQLite database with the truckers pool, and a CSV of three eligible drivers: (url, path)."""
    url = f"sqlite:///{tmp_path / 'pools.db'}"
    app = MutualAid(url, plugins=plugins)
    app.create_pool(truckers_pool())
    app.close()
    lines = ["id_number,name,birth_date,licence_class,licence_number,licence_expires,driving_proof"]
    for n in (1, 2, 3):
        d = make_driver(n)
        lines.append(",".join([d["id_number"], d["name"], str(d["birth_date"]), *d["attributes"].values()]))
    path = tmp_path / "drivers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return url, path


@pytest.mark.parametrize(
    ("terminal", "json_flag", "stderr"),
    [
        pytest.param(True, [], "importing rows\n", id="terminal"),
        pytest.param(False, [], "", id="not-a-terminal"),
        pytest.param(True, ["--json"], "", id="json-on-a-terminal"),
    ],
)
def test_import_shows_progress_bars_on_a_terminal_only(
    runner, plugins, import_file, monkeypatch, terminal, json_flag, stderr
):
    """The runner's stderr is not a terminal, so click draws only each bar's label there."""
    url, path = import_file
    monkeypatch.setattr(cli_module, "_stderr_is_terminal", lambda: terminal)
    result = _invoke(
        runner, plugins, "member", "import", POOL, str(path), "--joined-on", "2026-10-01", *json_flag, db_url=url
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == stderr
    if json_flag:
        assert json.loads(result.stdout) == {"imported": 3, "rejected": 0, "rejects": None}
    else:
        assert result.stdout == "imported 3 members into pool 'js-truckers'\n"


def test_no_progress_bar_is_left_open_by_a_refused_import(runner, plugins, import_file, monkeypatch):
    url, path = import_file
    monkeypatch.setattr(cli_module, "_stderr_is_terminal", lambda: True)
    path.write_text(path.read_text(encoding="utf-8") + "bad-row\n", encoding="utf-8")
    result = _invoke(runner, plugins, "member", "import", POOL, str(path), "--joined-on", "2026-10-01", db_url=url)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"importing rows\nError: {path}: 1 of 4 rows are invalid; nothing was imported")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_import_progress_bars_on_a_real_terminal(import_file):
    url, path = import_file
    controller, terminal = os.openpty()
    shown: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal was closed
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mutualaid.cli",
                "--database-url",
                url,
                "member",
                "import",
                POOL,
                str(path),
                "--joined-on",
                "2026-10-01",
            ],
            stdout=subprocess.PIPE,
            stderr=terminal,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
    finally:
        os.close(terminal)
        reader.join(10)
        os.close(controller)
    assert result.returncode == 0
    assert result.stdout.decode() == "imported 3 members into pool 'js-truckers'\n"
    drawn = b"".join(shown).decode()
    assert "importing rows" in drawn
    assert drawn.count("100%") >= 1, drawn
