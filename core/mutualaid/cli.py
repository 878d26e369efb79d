"""The ``mutualaid`` command line: thin commands that parse, call a service, print.

A :class:`~mutualaid.errors.MutualAidError` becomes ``Error: <message>`` and exit code 1 here, and
nowhere else; any other exception is a bug and shows its traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from .api import MutualAid
from .cli_common import dump, json_option, layout_option, pass_state, table, templates_option
from .errors import MutualAidError, PluginError, ValidationError
from .fields import parse_pairs
from .ledger import ACCOUNTS, ENTRY_KINDS
from .money import currency_exponent, format_minor, format_percent, from_minor, to_minor
from .plugins import Plugins, load_plugins
from .sharing import plan_from_inputs
from .wording import plural


@dataclass
class State:
    """The application object shared by every command (``ctx.obj``)."""

    plugins: Plugins | None = None
    database_url: str | None = None
    _app: MutualAid | None = field(default=None, repr=False)

    def loaded_plugins(self) -> Plugins:
        if self.plugins is None:
            self.plugins = load_plugins()
        return self.plugins

    @property
    def app(self) -> MutualAid:
        if self._app is None:
            self._app = MutualAid(self.database_url, plugins=self.loaded_plugins())
        return self._app

    def close(self) -> None:
        """Release the database connections (called when the command ends)."""
        if self._app is not None:
            self._app.close()
            self._app = None


class Group(click.Group):
    """The top-level group: turns user errors into one clear message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MutualAidError as exc:
            raise click.ClickException("\n".join(exc.lines)) from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--database-url",
    envvar="MUTUALAID_DATABASE_URL",
    metavar="URL",
    help="SQLAlchemy database URL (default: a SQLite file in $MUTUALAID_HOME, ~/.local/share/mutualaid).",
)
@click.version_option(package_name="mutualaid")
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """Run cohort-specific mutual-aid pools (互助): members, claims, exact cost sharing, notices."""
    state = ctx.ensure_object(State)
    state.database_url = database_url
    ctx.call_on_close(state.close)


# -- plugins and cohorts ------------------------------------------------------------------------


@cli.command("plugins")
@json_option
@pass_state
def plugins_command(state: State, as_json: bool) -> None:
    """List installed plugins: name, version, hooks and cohorts."""
    plugins = state.loaded_plugins()
    infos = plugins.info()
    if as_json:
        dump([info.as_dict() for info in infos])
        return
    rows = [
        (
            i.name,
            f"{i.distribution or '-'} {i.version or ''}".strip(),
            ", ".join(i.hooks) or "-",
            ", ".join(i.cohorts) or "-",
        )
        for i in infos
    ]
    table(rows, ("plugin", "distribution", "hooks", "cohorts"))


@cli.command("install", context_settings={"ignore_unknown_options": True})
@click.argument("pip_args", nargs=-1, required=True, type=click.UNPROCESSED)
def install_command(pip_args: tuple[str, ...]) -> None:
    """Install a plugin with pip into mutualaid's own Python environment.

    PIP_ARGS are passed to 'pip install', e.g. 'mutualaid install ./plugins/truckers' or
    'mutualaid install -e ./my-cohort'.
    """
    command = [sys.executable, "-m", "pip", "install", *pip_args]
    click.echo(f"running: {' '.join(command)}", err=True)
    code = subprocess.call(command)
    if code != 0:
        raise click.ClickException(
            f"pip install {' '.join(pip_args)} failed with exit code {code}; see pip's output above"
        )


@cli.group("cohorts")
def cohorts_group() -> None:
    """The cohorts installed plugins provide."""


@cohorts_group.command("list")
@json_option
@pass_state
def cohorts_list(state: State, as_json: bool) -> None:
    """List the installed cohorts."""
    plugins = state.loaded_plugins()
    rows = [
        {
            "key": c.key,
            "title": c.title,
            "plugin": plugins.cohort_owner(c.key),
            "events": [k.key for k in c.event_kinds],
        }
        for c in sorted(plugins.cohorts.values(), key=lambda c: c.key)
    ]
    if as_json:
        dump(rows)
    else:
        table(
            [(r["key"], r["title"], r["plugin"], ", ".join(r["events"])) for r in rows],
            ("cohort", "title", "plugin", "events"),
        )


def _describe_model(model: Any) -> list[dict[str, Any]]:
    from pydantic_core import PydanticUndefined

    fields = []
    for name, info in model.model_fields.items():
        if info.default is not PydanticUndefined:
            default: Any = info.default
        elif info.default_factory is not None:
            default = info.default_factory()
        else:
            default = None
        fields.append(
            {
                "name": name,
                "type": getattr(info.annotation, "__name__", str(info.annotation)).replace("typing.", ""),
                "required": info.is_required(),
                "default": default if not hasattr(default, "model_dump") else default.model_dump(mode="json"),
                "description": info.description or "",
            }
        )
    return fields


@cohorts_group.command("show")
@click.argument("key")
@json_option
@pass_state
def cohorts_show(state: State, key: str, as_json: bool) -> None:
    """Show a cohort's settings with their descriptions and defaults."""
    cohort = state.loaded_plugins().cohort(key)
    data: dict[str, Any] = {
        "key": cohort.key,
        "title": cohort.title,
        "titles": dict(cohort.local_titles),
        "description": cohort.description,
        "plugin": state.loaded_plugins().cohort_owner(key),
        "events": [{"key": k.key, "title": k.title} for k in cohort.event_kinds],
        "settings": _describe_model(cohort.settings_model),
        "member_attributes": _describe_model(cohort.member_model),
        "claim_details": _describe_model(cohort.claim_model),
    }
    if as_json:
        dump(data)
        return
    click.echo(
        f"{cohort.key}: {cohort.title}"
        + (f" ({', '.join(cohort.local_titles.values())})" if cohort.local_titles else "")
    )
    if cohort.description:
        click.echo(cohort.description)
    click.echo(f"plugin: {data['plugin']}")
    click.echo("events: " + ", ".join(f"{k.key} ({k.title})" for k in cohort.event_kinds))
    for title, section in (
        ("settings  ([settings] table of a pool file)", "settings"),
        ("member attributes  (member join --attr NAME=VALUE, or CSV columns)", "member_attributes"),
        ("claim details  (claim file --detail NAME=VALUE)", "claim_details"),
    ):
        click.echo(f"\n{title}:")
        if not data[section]:
            click.echo("  (none)")
        for f in data[section]:
            default = "required" if f["required"] else f"default: {_fmt_default(f['default'])}"
            click.echo(f"  {f['name']}  [{default}]")
            if f["description"]:
                click.echo(f"      {f['description']}")


def _fmt_default(value: Any) -> str:
    """A default as it is written in a pool's TOML file, so it can be pasted there."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Decimal, int)):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return "[" + ", ".join(_fmt_default(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_fmt_default(v)}" for k, v in value.items()) + "}"
    return json.dumps(value if isinstance(value, str) else str(value), ensure_ascii=False)


# -- database -----------------------------------------------------------------------------------


@cli.group("db")
def db_group() -> None:
    """The database schema (Alembic migrations)."""


@db_group.command("upgrade")
@pass_state
def db_upgrade(state: State) -> None:
    """Create the schema or bring it up to date (safe to run any time)."""
    from .database import head_revision, make_engine, upgrade

    engine = make_engine(state.database_url)
    try:
        applied = upgrade(engine)
    finally:
        engine.dispose()
    click.echo(
        f"schema {'upgraded to' if applied else 'already at'} revision {head_revision()} ({engine.url.render_as_string(hide_password=True)})"
    )


@db_group.command("current")
@pass_state
def db_current(state: State) -> None:
    """Show the database's schema revision."""
    from .database import current_revision, make_engine

    engine = make_engine(state.database_url)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and not Path(database).exists():
        click.echo(f"(no database yet at {database}; any command creates it)")
        return
    try:
        click.echo(current_revision(engine) or "(empty database)")
    finally:
        engine.dispose()


# -- pools --------------------------------------------------------------------------------------


@cli.group("pool")
def pool_group() -> None:
    """Create and inspect pools."""


@pool_group.command("create")
@click.argument("file", type=click.Path(path_type=Path))
@json_option
@pass_state
def pool_create(state: State, file: Path, as_json: bool) -> None:
    """Create a pool from a TOML file (validated; nothing is written on error)."""
    record = state.app.create_pool(file)
    if as_json:
        dump(_pool_dict(record))
        return
    config = record.definition.config
    click.echo(
        f"created pool {config.key!r}: {config.name} (cohort {config.cohort}, {config.currency}, "
        f"{config.sharing.calendar} sharing, fee {format_percent(config.sharing.management_fee_rate)}%, rounding {config.sharing.rounding})"
    )


def _pool_dict(record: Any) -> dict[str, Any]:
    config = record.definition.config.model_dump(mode="json")
    config["settings"] = record.definition.settings.model_dump(mode="json")
    config["created_at"] = record.created_at.isoformat()
    return config


@pool_group.command("list")
@json_option
@pass_state
def pool_list(state: State, as_json: bool) -> None:
    """List the pools in the database."""
    pools = state.app.pools()
    if as_json:
        dump(pools)
    elif not pools:
        click.echo("no pools yet; create one with 'mutualaid pool create FILE'")
    else:
        table(
            [(p["key"], p["name"], p["cohort"], p["currency"], f"{p['members']:,}") for p in pools],
            ("pool", "name", "cohort", "currency", "live members"),
        )


@pool_group.command("show")
@click.argument("key")
@json_option
@pass_state
def pool_show(state: State, key: str, as_json: bool) -> None:
    """Show a pool's configuration and its cohort's settings."""
    record = state.app.pool(key)
    data = _pool_dict(record)
    if as_json:
        dump(data)
        return
    settings = data.pop("settings")
    sharing = data.pop("sharing")
    for k, v in data.items():
        click.echo(f"{k}: {v}")
    click.echo("sharing:")
    for k, v in sharing.items():
        click.echo(f"  {k}: {_fmt_default(v) if not isinstance(v, str) else v}")
    click.echo(f"settings ({record.definition.cohort.key}):")
    for k, v in settings.items():
        click.echo(f"  {k}: {_fmt_default(v) if not isinstance(v, str) else v}")


# -- members ------------------------------------------------------------------------------------


@cli.group("member")
def member_group() -> None:
    """Join, import, list, show and update members; record an exit or a death."""


def _fmt_value(value: Any) -> str:
    """A stored value as a person reads it: ``-`` for none, a list as ``a, b``."""
    if value is None or value == [] or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _pairs(values: Iterable[str], option: str) -> dict[str, str]:
    try:
        return parse_pairs(values, option=option)
    except ValueError as exc:
        raise ValidationError([str(exc)]) from None


@member_group.command("join")
@click.argument("pool")
@click.option("--id-number", required=True, help="Identity document number (one live membership per person and pool).")
@click.option("--name", required=True, help="Full name.")
@click.option("--birth-date", required=True, metavar="YYYY-MM-DD")
@click.option("--joined-on", metavar="YYYY-MM-DD", help="Joining day (default: today in the pool's time zone).")
@click.option(
    "--attr",
    "attrs",
    multiple=True,
    metavar="NAME=VALUE",
    help="A cohort attribute, repeatable ('mutualaid cohorts show COHORT' lists them).",
)
@json_option
@pass_state
def member_join(
    state: State,
    pool: str,
    id_number: str,
    name: str,
    birth_date: str,
    joined_on: str | None,
    attrs: tuple[str, ...],
    as_json: bool,
) -> None:
    """Add a member after checking the cohort's eligibility rules (every failing reason is listed)."""
    record = state.app.join(
        pool,
        id_number=id_number,
        name=name,
        birth_date=birth_date,
        attributes=_pairs(attrs, "--attr"),
        joined_on=joined_on,
    )
    if as_json:
        dump(record.as_dict())
        return
    click.echo(
        f"member #{record.id} {record.name} joined pool {pool!r} on {record.joined_on}; "
        f"waiting period until {record.waiting_until} (that day included)"
    )
    click.echo(f"welcome notice: mutualaid notice render {pool} --kind welcome --member {record.id} --out DIR")


@member_group.command("import")
@click.argument("pool")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows and write the invalid ones to a rejects CSV.")
@click.option(
    "--rejects", type=click.Path(path_type=Path), help="Where to write rejected rows (default: FILE.rejects.csv)."
)
@click.option("--joined-on", metavar="YYYY-MM-DD", help="Joining day for rows without a joined_on column.")
@json_option
@pass_state
def member_import(
    state: State, pool: str, file: Path, skip_invalid: bool, rejects: Path | None, joined_on: str | None, as_json: bool
) -> None:
    """Import members from a CSV file: columns id_number, name, birth_date, [joined_on] and the
    cohort's attributes. All or nothing unless --skip-invalid. On a terminal, progress bars on
    stderr show the rows being checked, then written."""
    bars = _ImportBars(_count_lines(file)) if not as_json and _stderr_is_terminal() else None
    try:
        result = state.app.import_members(
            pool, file, skip_invalid=skip_invalid, rejects_path=rejects, joined_on=joined_on, progress=bars
        )
    except MutualAidError as exc:
        if bars is not None:
            bars.close(completed=False)
        lines = exc.lines
        if len(lines) > 51:
            lines = lines[:51] + [f"... and {len(lines) - 51} more"]
        raise click.ClickException("\n".join(lines)) from None
    if bars is not None:
        bars.close(completed=True)
    if as_json:
        dump(
            {
                "imported": result.imported,
                "rejected": result.rejected,
                "rejects": str(result.rejects_path) if result.rejects_path else None,
            }
        )
        return
    click.echo(f"imported {result.imported:,} members into pool {pool!r}")
    if result.rejected:
        click.echo(
            f"skipped {result.rejected:,} invalid rows; they are in {result.rejects_path} with the reason for each"
        )


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # no stderr, or a closed one
        return False


def _count_lines(path: Path) -> int:
    """The number of lines of a file (0 if it cannot be read: the import reports that itself)."""
    count, last = 0, b"\n"
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                count += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        return 0
    return count + (last != b"\n")


class _ImportBars:
    """The progress of 'member import' on stderr: a bar per stage, "checking" the file's lines, then
    "writing" the valid rows (see ``mutualaid.members.ImportProgress``)."""

    LABELS = {"checking": "checking rows  ", "writing": "writing members"}

    def __init__(self, lines: int) -> None:
        self.lines = lines
        self.stage: str | None = None
        self.bar: Any = None
        self.done = 0

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage != self.stage:
            self.close(completed=True)
            length = total if total is not None else self.lines
            self.bar = click.progressbar(length=max(length, 1), label=self.LABELS.get(stage, stage), file=sys.stderr)
            self.bar.__enter__()
            self.stage, self.done = stage, 0
        step = min(done, self.bar.length) - self.done
        if step > 0:
            self.bar.update(step)
            self.done += step

    def close(self, *, completed: bool) -> None:
        """End the current bar, filled if its stage completed."""
        if self.bar is None:
            return
        if completed and self.done < self.bar.length:
            self.bar.update(self.bar.length - self.done)
        self.bar.__exit__(None, None, None)
        self.bar = None


@member_group.command("list")
@click.argument("pool")
@click.option("--status", help="Only members with this status (active, frozen, lapsed, exited, deceased).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many members.")
@json_option
@pass_state
def member_list(state: State, pool: str, status: str | None, limit: int | None, as_json: bool) -> None:
    """List a pool's members."""
    app = state.app
    today = app.today(pool)
    members = app.members(pool, status=status, limit=limit)
    if as_json:
        dump([m.as_dict(today) for m in members])
        return
    table(
        [(m.id, m.name, m.id_number, m.birth_date, m.joined_on, m.waiting_until, m.state_on(today)) for m in members],
        ("member", "name", "id number", "born", "joined", "waiting until", "state"),
    )


@member_group.command("show")
@click.argument("pool")
@click.argument("member")
@json_option
@pass_state
def member_show(state: State, pool: str, member: str, as_json: bool) -> None:
    """Show a member and their state today.

    MEMBER is a member number or an ID number (the live membership first).
    """
    app = state.app
    record = app.member(pool, member)
    data = record.as_dict(app.today(pool))
    if as_json:
        dump(data)
        return
    attributes = data.pop("attributes")
    for key, value in data.items():
        click.echo(f"{key}: {_fmt_value(value)}")
    click.echo("attributes:" if attributes else "attributes: -")
    for key, value in attributes.items():
        click.echo(f"  {key}: {_fmt_value(value)}")


@member_group.command("update")
@click.argument("pool")
@click.argument("member")
@click.option(
    "--attr",
    "attrs",
    multiple=True,
    required=True,
    metavar="NAME=VALUE",
    help="A cohort attribute to change, repeatable; an empty VALUE removes it.",
)
@json_option
@pass_state
def member_update(state: State, pool: str, member: str, attrs: tuple[str, ...], as_json: bool) -> None:
    """Change a live member's cohort attributes (a renewed licence, say).

    For example: mutualaid member update POOL 12 --attr licence_expires=2036-05-31. The values are
    merged into the stored ones and the whole set is validated again, as at joining ('mutualaid
    cohorts show COHORT' lists the attributes); nothing changes if any is wrong. Eligibility is not
    checked again: a member does not lose the membership by ageing or by what is recorded here.
    Claims already filed keep the attributes recorded when they were filed and are decided on them.
    Prints each change as old → new.
    """
    app = state.app
    update = app.update_member(pool, member, _pairs(attrs, "--attr"))
    if as_json:
        dump(update.as_dict(app.today(pool)))
        return
    record = update.member
    if not update.changes:
        click.echo(f"member #{record.id} {record.name}: nothing changed (the values given are the ones stored)")
        return
    click.echo(f"updated member #{record.id} {record.name} of pool {pool!r}:")
    for name, (old, new) in update.changes.items():
        click.echo(f"  {name}: {_fmt_value(old)} → {_fmt_value(new)}")


@member_group.command("exit")
@click.argument("pool")
@click.argument("member")
@click.option(
    "--on",
    "on",
    metavar="YYYY-MM-DD",
    help="The day the membership ends (default: today in the pool's time zone; required with --deceased).",
)
@click.option("--deceased", is_flag=True, help="Record that the member died on that day, rather than left.")
@json_option
@pass_state
def member_exit(state: State, pool: str, member: str, on: str | None, deceased: bool, as_json: bool) -> None:
    """End a live membership: the member leaves, or died (--deceased).

    MEMBER is a member number or an ID number. A member may exit at any time. One who exits on day D still shares every period whose notice
    day is on or before D (members are counted at 00:00 of the notice day, so a period whose cases
    are already in public notice is still owed) and no period whose notice day is after D. Shares
    already charged are not refunded. A death claim that is approved, or rejected as not payable,
    records the death by itself.
    """
    app = state.app
    if deceased:
        if on is None:
            raise ValidationError(["--on is required with --deceased: give the day of the death, e.g. --on 2026-10-20"])
        record = app.record_death(pool, member, on)
    else:
        record = app.exit_member(pool, member, on)
    if as_json:
        dump(record.as_dict(app.today(pool)))
        return
    how = "left pool" if record.status == "exited" else "is recorded as deceased in pool"
    click.echo(
        f"member #{record.id} {record.name} {how} {pool!r} on {record.ended_on}; "
        f"they share no period whose notice day is after {record.ended_on}"
    )


# -- claims -------------------------------------------------------------------------------------


@cli.group("claim")
def claim_group() -> None:
    """File, review, approve and reject claims."""


def _print_claim(claim: Any) -> None:
    benefit = f"{claim.benefit:,} {claim.currency}" if claim.benefit is not None else "-"
    click.echo(
        f"claim #{claim.id} ({claim.status}): member #{claim.member_id}, {claim.event_kind} on {claim.event_date}, benefit {benefit}"
    )


@claim_group.command("file")
@click.argument("pool")
@click.argument("member")
@click.option("--kind", "event_kind", required=True, help="Event kind ('mutualaid cohorts show COHORT' lists them).")
@click.option("--date", "event_date", required=True, metavar="YYYY-MM-DD", help="Date of the event.")
@click.option(
    "--detail", "details", multiple=True, metavar="NAME=VALUE", help="A claim detail of the cohort, repeatable."
)
@click.option("--description", default="", help="What happened, in words.")
@click.option("--filed-on", metavar="YYYY-MM-DD", help="Filing day (default: today).")
@json_option
@pass_state
def claim_file(
    state: State,
    pool: str,
    member: str,
    event_kind: str,
    event_date: str,
    details: tuple[str, ...],
    description: str,
    filed_on: str | None,
    as_json: bool,
) -> None:
    """File a claim for MEMBER (member number or ID number)."""
    claim = state.app.file_claim(
        pool,
        member,
        event_kind=event_kind,
        event_date=event_date,
        details=_pairs(details, "--detail"),
        description=description,
        filed_on=filed_on,
    )
    if as_json:
        dump(claim.as_dict())
        return
    click.echo(f"filed claim #{claim.id}: member #{claim.member_id}, {claim.event_kind} on {claim.event_date}")
    click.echo(f"next: mutualaid claim review {claim.id}")


def _print_decision(decision: Any, currency: str) -> None:
    verdict = "payable" if decision.payable else "NOT payable"
    click.echo(f"decision: {verdict}: benefit {decision.amount:,.2f} {currency} (cap {decision.cap:,.2f})")
    for reason in decision.reasons:
        click.echo(f"  - {reason}")


def _decision_dict(decision: Any) -> dict[str, Any]:
    return {
        "payable": decision.payable,
        "amount": str(decision.amount),
        "cap": str(decision.cap),
        "reasons": list(decision.reasons),
        "ends_membership": decision.ends_membership,
        "refund_contributions": decision.refund_contributions,
    }


@claim_group.command("review")
@click.argument("claim_id", type=int)
@json_option
@pass_state
def claim_review(state: State, claim_id: int, as_json: bool) -> None:
    """Show what the cohort decides for a claim, without changing anything."""
    claim, decision = state.app.review_claim(claim_id)
    if as_json:
        dump({"claim": claim.as_dict(), "decision": _decision_dict(decision)})
        return
    _print_claim(claim)
    _print_decision(decision, claim.currency)


@claim_group.command("approve")
@click.argument("claim_id", type=int)
@json_option
@pass_state
def claim_approve(state: State, claim_id: int, as_json: bool) -> None:
    """Approve a claim for the benefit the cohort decides (refused if it is not payable)."""
    claim, decision = state.app.approve_claim(claim_id)
    if as_json:
        dump({"claim": claim.as_dict(), "decision": _decision_dict(decision)})
        return
    click.echo(f"approved claim #{claim.id}: {claim.benefit:,} {claim.currency}, to be shared in the next sharing run")
    for reason in decision.reasons:
        click.echo(f"  - {reason}")
    if decision.ends_membership:
        click.echo(
            f"member #{claim.member_id}'s membership ends on {claim.event_date} (the event ends it): "
            "they share no period whose notice day comes after it"
        )


@claim_group.command("reject")
@click.argument("claim_id", type=int)
@click.option("--reason", required=True, help="Why, in words the member can read.")
@json_option
@pass_state
def claim_reject(state: State, claim_id: int, reason: str, as_json: bool) -> None:
    """Reject a claim with a reason.

    A death the pool does not pay for (an excluded circumstance, say) still ends the membership on
    the day of the death. A claim the cohort found payable leaves the member as they are: if the
    member did die, record it with 'mutualaid member exit POOL MEMBER --deceased --on DATE'.
    """
    rejection = state.app.reject_claim(claim_id, reason)
    claim, member, decision = rejection.claim, rejection.member, rejection.decision
    if as_json:
        dump(
            {
                "claim": claim.as_dict(),
                "decision": _decision_dict(decision),
                "member": member.as_dict(),
                "member_ended": rejection.member_ended,
                "refund": str(rejection.refund),
            }
        )
        return
    click.echo(f"rejected claim #{claim.id}: {claim.reasons[0]}")
    if rejection.refund:
        click.echo(
            f"refunded member #{member.id}'s contributions to the pool: "
            f"{format_minor(to_minor(rejection.refund, claim.currency), claim.currency)} {claim.currency} "
            f"(owed to the member; see 'mutualaid ledger entries {claim.pool_key} --kind refund')"
        )
    if rejection.member_ended and decision.ends_as == "exited":
        click.echo(
            f"member #{member.id} {member.name} has left the pool on {member.ended_on}: under the pool's rules "
            "this event ends the membership"
        )
    elif rejection.member_ended:
        click.echo(
            f"member #{member.id} {member.name} is recorded as deceased on {member.ended_on}: the death ends "
            "the membership although the pool does not pay for it"
        )
    elif decision.payable and decision.ends_membership and member.ended_on is None:
        click.echo(
            f"member #{member.id} {member.name} stays a member: the pool's rules found this death payable, so "
            "rejecting it does not record the death; if the member did die, run "
            f"'mutualaid member exit {claim.pool_key} {member.id} --deceased --on {claim.event_date}'"
        )


@claim_group.command("list")
@click.argument("pool")
@click.option("--status", help="Only claims with this status (filed, approved, rejected, shared).")
@json_option
@pass_state
def claim_list(state: State, pool: str, status: str | None, as_json: bool) -> None:
    """List a pool's claims."""
    claims = state.app.claims(pool, status=status)
    if as_json:
        dump([c.as_dict() for c in claims])
        return
    table(
        [
            (
                c.id,
                c.member_id,
                c.event_kind,
                c.event_date,
                c.status,
                f"{c.benefit:,}" if c.benefit is not None else "-",
            )
            for c in claims
        ],
        ("claim", "member", "kind", "date", "status", "benefit"),
    )


# -- sharing ------------------------------------------------------------------------------------


@cli.group("share")
def share_group() -> None:
    """Run and inspect sharing periods."""


def _print_run(result: Any) -> None:
    for label, value in result.lines():
        click.echo(f"  {label:<20} {value}")


@share_group.command("run")
@click.argument("pool")
@click.option("--period", required=True, help="Period key: 2026-11 (monthly) or 2026-11a / 2026-11b (semi-monthly).")
@json_option
@pass_state
def share_run(state: State, pool: str, period: str, as_json: bool) -> None:
    """Share a period's approved claims among the members covered at its cut-off (once per period)."""
    result = state.app.share(pool, period)
    if as_json:
        dump(result.as_dict())
        return
    click.echo(f"shared period {result.period} of pool {pool!r} (run #{result.run_id}):")
    _print_run(result)


@share_group.command("show")
@click.argument("pool")
@click.option("--period", required=True, help="Period key.")
@json_option
@pass_state
def share_show(state: State, pool: str, period: str, as_json: bool) -> None:
    """Show the breakdown of a period's sharing run."""
    result = state.app.sharing_run(pool, period)
    if as_json:
        dump(result.as_dict())
        return
    click.echo(f"period {result.period} of pool {pool!r} (run #{result.run_id}):")
    _print_run(result)


@share_group.command("plan")
@click.option(
    "--pool", "pool_file", type=click.Path(path_type=Path), help="Take the sharing settings from this pool file."
)
@click.option("--aid", required=True, metavar="AMOUNT", help="The period's aid amount (sum of approved benefits).")
@click.option("--members", required=True, type=click.IntRange(min=0), help="Members sharing the period.")
@click.option(
    "--claims", type=click.IntRange(min=0), default=1, show_default=True, help="Claims funded (for per-case caps)."
)
@click.option("--surplus-in", default="0", metavar="AMOUNT", help="Surplus carried in from the previous period.")
@click.option("--fee-rate", metavar="RATE", help="Management fee as a fraction of the aid amount (overrides the pool).")
@click.option("--rounding", type=click.Choice(["round-up", "exact"]), help="Rounding policy (overrides the pool).")
@click.option("--currency", default=None, help="Currency (default: the pool's, or CNY).")
@json_option
@pass_state
def share_plan(
    state: State,
    pool_file: Path | None,
    aid: str,
    members: int,
    claims: int,
    surplus_in: str,
    fee_rate: str | None,
    rounding: str | None,
    currency: str | None,
    as_json: bool,
) -> None:
    """Work out a period's figures from its inputs, without a database (a published period, or a what-if)."""
    if currency is not None:
        try:
            currency_exponent(currency)
        except ValueError as exc:  # one line, rather than one for each amount given in it
            raise ValidationError([f"--currency: {exc}"]) from None
    plan = plan_from_inputs(
        state.loaded_plugins(),
        pool_file=pool_file,
        aid=aid,
        members=members,
        claims=claims,
        surplus_in=surplus_in,
        fee_rate=fee_rate,
        rounding=rounding,
        currency=currency,
    )
    if as_json:
        dump(plan.as_dict())
        return
    for label, value in plan.lines():
        click.echo(f"  {label:<20} {value}")


# -- the ledger ---------------------------------------------------------------------------------


@cli.group("ledger")
def ledger_group() -> None:
    """The pool's books: verify the hash chain, balances, entries, adjustments."""


@ledger_group.command("verify")
@click.argument("pool")
@json_option
@pass_state
@click.pass_context
def ledger_verify(ctx: click.Context, state: State, pool: str, as_json: bool) -> None:
    """Recheck the hash chain from the first entry and recount every run's charges (exit 1 on any problem)."""
    report = state.app.verify_ledger(pool)
    if as_json:
        dump(
            {
                "ok": report.ok,
                "entries": report.entries,
                "head": report.head,
                "problems": [str(p) for p in report.problems],
            }
        )
    elif report.ok:
        click.echo(
            f"ledger of pool {pool!r}: {report.entries:,} entr{'y' if report.entries == 1 else 'ies'}, chain intact, "
            "every run's charges match"
        )
        click.echo(f"  head {report.head}")
    else:
        click.echo(
            f"ledger of pool {pool!r}: {plural(len(report.problems), 'problem')} in "
            f"{plural(report.entries, 'entry', 'entries')}:"
        )
        for problem in report.problems:
            click.echo(f"  {problem}")
    if not report.ok:
        ctx.exit(1)


@ledger_group.command("backfill")
@click.argument("pool")
@pass_state
def ledger_backfill(state: State, pool: str) -> None:
    """Post the entries of runs shared before the ledger existed (a database from mutualaid 0.1)."""
    periods = state.app.backfill_ledger(pool)
    if periods:
        click.echo(f"posted the ledger entries of {plural(len(periods), 'earlier run')}: {', '.join(periods)}")
    else:
        click.echo(f"every run of pool {pool!r} already has its ledger entry")


@ledger_group.command("balance")
@click.argument("pool")
@json_option
@pass_state
@click.pass_context
def ledger_balance(ctx: click.Context, state: State, pool: str, as_json: bool) -> None:
    """Each account's balance, and the reconciliation of the books with the pool's records (exit 1 if off)."""
    app = state.app
    currency = app.pool(pool).currency
    report = app.reconcile_books(pool)
    fmt = lambda minor: format_minor(minor, currency)  # noqa: E731
    if as_json:
        # Amounts as plain decimal strings ("-600000.00"), as every other --json output gives them.
        amount = lambda minor: str(from_minor(minor, currency))  # noqa: E731
        dump(
            {
                "ok": report.ok,
                "currency": currency,
                "balances": {k: amount(v) for k, v in report.balances.items()},
                "total": amount(report.total),
                "checks": [
                    {
                        "account": c.account,
                        "ledger": amount(c.ledger_minor),
                        "records": amount(c.records_minor),
                        "ok": c.ok,
                        "what": c.what,
                    }
                    for c in report.checks
                ],
            }
        )
    else:
        click.echo(f"books of pool {pool!r} ({currency}; debit +, credit -):")
        table([(k, fmt(v), ACCOUNTS[k]) for k, v in report.balances.items()], ["account", "balance", "what"])
        click.echo(
            f"sum of all accounts: {fmt(report.total)}" + (" (balanced)" if report.total == 0 else " (NOT BALANCED)")
        )
        click.echo("reconciliation with the pool's records:")
        for c in report.checks:
            mark = "ok" if c.ok else "MISMATCH"
            click.echo(
                f"  {c.account:<16} ledger {fmt(c.ledger_minor):>16}  records {fmt(c.records_minor):>16}  {mark}  ({c.what})"
            )
        click.echo("the books balance to the fen" if report.ok else "the books do NOT reconcile")
    if not report.ok:
        ctx.exit(1)


@ledger_group.command("entries")
@click.argument("pool")
@click.option("--kind", help=f"Only entries of this kind ({', '.join(ENTRY_KINDS)}).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the last N entries.")
@json_option
@pass_state
def ledger_entries(state: State, pool: str, kind: str | None, limit: int | None, as_json: bool) -> None:
    """List the ledger's entries with their lines."""
    app = state.app
    currency = app.pool(pool).currency
    entries = app.ledger_entries(pool, kind=kind, limit=limit)
    if as_json:
        dump([e.as_dict() for e in entries])
        return
    for e in entries:
        click.echo(f"{e.seq:>6}  {e.posted_on}  {e.kind:<10}  {e.memo}  [{e.hash[:12]}]")
        for ln in e.lines:
            side = "Dr" if ln.amount > 0 else "Cr"
            who = f" member #{ln.member_id}" if ln.member_id else ""
            who += f" claim #{ln.claim_id}" if ln.claim_id else ""
            click.echo(f"          {side} {ln.account:<16} {format_minor(abs(ln.amount), currency):>16}{who}")


@ledger_group.command("adjust")
@click.argument("pool")
@click.option("--debit", "debits", multiple=True, required=True, metavar="ACCOUNT=AMOUNT")
@click.option("--credit", "credits", multiple=True, required=True, metavar="ACCOUNT=AMOUNT")
@click.option("--memo", required=True, help="What happened (kept in the entry).")
@click.option("--on", "on", metavar="YYYY-MM-DD", help="Day of the entry (default: today in the pool's time zone).")
@pass_state
def ledger_adjust(
    state: State, pool: str, debits: tuple[str, ...], credits: tuple[str, ...], memo: str, on: str | None
) -> None:
    """Record money paid out or in outside the pool's records (a benefit paid, the sponsor's payment)."""
    entry = state.app.adjust(
        pool, debit=_pairs(debits, "--debit"), credit=_pairs(credits, "--credit"), memo=memo, on=on
    )
    click.echo(f"posted adjustment as entry {entry.seq} [{entry.hash[:12]}]")


@ledger_group.command("reverse")
@click.argument("pool")
@click.argument("entry", type=int)
@click.option("--reason", required=True, help="Why the adjustment is reversed (kept in the entry).")
@pass_state
def ledger_reverse(state: State, pool: str, entry: int, reason: str) -> None:
    """Correct an adjustment by posting its exact opposite (entries are never edited or deleted)."""
    posted = state.app.reverse_entry(pool, entry, reason)
    click.echo(f"reversed entry {entry} with entry {posted.seq} [{posted.hash[:12]}]")


# -- notices ------------------------------------------------------------------------------------


@cli.group("notice")
def notice_group() -> None:
    """Render member notices."""


@notice_group.command("render")
@click.argument("pool")
@click.option("--kind", type=click.Choice(["statement", "welcome", "low-balance"]), required=True)
@click.option("--period", help="Period key (statements).")
@click.option(
    "--member", "members", multiple=True, help="Only this member (welcome and low-balance notices), repeatable."
)
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory."
)
@click.option("--locale", type=click.Choice(["zh-CN", "en"]), help="Language (default: the pool's, zh-CN).")
@layout_option
@templates_option("<kind>.txt.j2")
@pass_state
def notice_render(
    state: State,
    pool: str,
    kind: str,
    period: str | None,
    members: tuple[str, ...],
    out_dir: Path,
    locale: str | None,
    layout: str,
    templates: Path | None,
) -> None:
    """Render notices: statements of a period, welcome notices, or low-balance reminders (prepaid pools)."""
    app = state.app
    if kind == "statement":
        if not period:
            raise ValidationError(["--period is required for statements, e.g. --period 2026-11"])
        result = app.render_statements(pool, period, out_dir, locale=locale, layout=layout, templates=templates)
    elif kind == "low-balance":
        result = app.render_low_balance(
            pool, out_dir, members=list(members) or None, locale=locale, layout=layout, templates=templates
        )
    else:
        result = app.render_welcome(
            pool, out_dir, members=list(members) or None, locale=locale, layout=layout, templates=templates
        )
    where = result.paths[0] if layout == "stream" and result.paths else out_dir
    click.echo(f"rendered {plural(result.count, kind + ' notice')} into {where}")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``mutualaid`` console script."""
    try:
        plugins = load_plugins()
    except PluginError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    try:
        plugins.add_commands(cli)
    except PluginError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    cli.main(args=list(argv) if argv is not None else None, prog_name="mutualaid", obj=State(plugins=plugins))


from .cli_payments import register as _register_payments  # noqa: E402 - cli_payments adds its groups to cli

_register_payments(cli)


if __name__ == "__main__":  # pragma: no cover
    main()
