"""The ``db`` commands: the database and its schema (Alembic migrations).

No other command creates or upgrades a database (except ``pool create``, which makes the database
of a first pool): they refuse one that is missing or at an older schema revision, naming these.
"""

from __future__ import annotations

import click

from .common import State, pass_state

__all__ = ["db_group"]


@click.group("db")
def db_group() -> None:
    """The database and its schema: create, upgrade, show the revision."""


@db_group.command("init")
@pass_state
def db_init(state: State) -> None:
    """Create the database at this mutualaid's schema revision (a new SQLite file, or the tables
    of an empty PostgreSQL database). A database already there is left as it is."""
    created, revision, database = state.app.create_database()
    if created:
        click.echo(f"created the database {database} at schema revision {revision}")
    else:
        click.echo(f"the database {database} is already at schema revision {revision}; nothing to do")


@db_group.command("upgrade")
@click.option("--sql", "as_sql", is_flag=True, help="Print the SQL the upgrade would run instead (changes nothing).")
@pass_state
def db_upgrade(state: State, as_sql: bool) -> None:
    """Bring the database to this mutualaid's schema revision.

    Lists the migrations it applies, backs a SQLite file up beside itself first (and says where),
    then applies them in one transaction: a migration that fails leaves the database as it was.
    """
    app = state.app
    plan = app.upgrade_plan()
    if not plan.pending:
        click.echo(f"the database {plan.database} is at schema revision {plan.revision}, the head; nothing to do")
        return
    if as_sql:
        click.echo(app.upgrade_sql(plan), nl=False)
        return
    steps = len(plan.pending)
    click.echo(
        f"the database {plan.database} is at schema revision {plan.revision}; "
        f"{steps} migration{'s' if steps != 1 else ''} to {plan.head}:"
    )
    for step in plan.pending:
        click.echo(f"  {step.id}  {step.title}")
    copy = app.backup_database(plan)
    if copy is not None:
        click.echo(f"backed up to {copy}")
    else:
        click.echo("no file to back up (use pg_dump for a copy); the migrations run in one transaction")
    app.apply_upgrade()
    click.echo(f"upgraded {plan.database} from schema revision {plan.revision} to {plan.head}")


@db_group.command("current")
@pass_state
def db_current(state: State) -> None:
    """Show the database's schema revision (and whether it needs `mutualaid db upgrade`)."""
    status = state.app.schema_status()
    if status.missing:
        click.echo(f"(no mutualaid database at {status.database}; `mutualaid db init` creates one)")
    elif status.revision is None:
        click.echo(f"(the database {status.database} has tables but is not a mutualaid database)")
    elif not status.known:
        click.echo(f"{status.revision} (newer than this mutualaid's {status.head}: upgrade mutualaid)")
    elif status.at_head:
        click.echo(f"{status.revision} (head)")
    else:
        click.echo(f"{status.revision} (this mutualaid's head is {status.head}: run `mutualaid db upgrade`)")
