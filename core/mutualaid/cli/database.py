"""The ``db`` commands: the database schema (Alembic migrations)."""

from __future__ import annotations

import click

from .common import State, pass_state

__all__ = ["db_group"]


@click.group("db")
def db_group() -> None:
    """The database schema (Alembic migrations)."""


@db_group.command("upgrade")
@pass_state
def db_upgrade(state: State) -> None:
    """Create the schema or bring it up to date (safe to run any time)."""
    applied, revision, database = state.app.upgrade_database()
    click.echo(f"schema {'upgraded to' if applied else 'already at'} revision {revision} ({database})")


@db_group.command("current")
@pass_state
def db_current(state: State) -> None:
    """Show the database's schema revision."""
    revision, missing = state.app.database_revision()
    if missing is not None:
        click.echo(f"(no database yet at {missing}; any command creates it)")
        return
    click.echo(revision or "(empty database)")
