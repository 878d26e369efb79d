"""The ``mutualaid`` command line: thin commands that parse, call the API, print.

One module per command group (``plugins``, ``database``, ``pools``, ``members``, ``claims``,
``sharing``, ``ledger``, ``notices``, ``payments``, ``balances``, ``site``), each a click group added here;
``health`` adds ``pool quote`` and ``pool forecast`` to the ``pool`` group.
They reach the pools through :class:`~mutualaid.api.MutualAid` only.

A :class:`~mutualaid.errors.MutualAidError` becomes ``Error: <message>`` and exit code 1 here, in
:class:`Group`, and nowhere else; any other exception is a bug and shows its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

from ..errors import MutualAidError
from ..plugins import load_plugins
from .balances import balance_group
from .claims import claim_group
from .common import State, dump, json_option, pass_state, table
from .corrections import claim_amend, claim_withdraw  # noqa: F401 - registers them in the claim group
from .database import db_group
from .health import pool_forecast, pool_quote
from .juries import jury_group
from .ledger import ledger_group
from .members import member_group
from .notices import notice_group
from .payments import payment_group
from .plugins import cohorts_group, install_command, plugins_command
from .pools import pool_group
from .sharing import share_group
from .site import site_group

__all__ = ["Group", "State", "cli", "dump", "json_option", "main", "pass_state", "table"]


class Group(click.Group):
    """The top-level group: the one place a user's mistake becomes a message (exit code 1)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MutualAidError as exc:
            raise click.ClickException(message(exc)) from None


def message(exc: MutualAidError) -> str:
    """What the user reads of a mistake: its lines (every problem, or the first ones and a count);
    a summary with a single problem is one line, ``summary: problem``."""
    lines = exc.lines
    if len(lines) == 2 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[1]}"
    return "\n".join(lines)


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


for _command in (
    plugins_command,
    install_command,
    cohorts_group,
    db_group,
    pool_group,
    member_group,
    claim_group,
    jury_group,
    share_group,
    ledger_group,
    notice_group,
    payment_group,
    balance_group,
    site_group,
):
    cli.add_command(_command)
pool_group.add_command(pool_quote)
pool_group.add_command(pool_forecast)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``mutualaid`` console script."""
    try:
        plugins = load_plugins()
        plugins.add_commands(cli)
    except MutualAidError as exc:
        click.echo(f"Error: {message(exc)}", err=True)
        sys.exit(1)
    cli.main(args=list(argv) if argv is not None else None, prog_name="mutualaid", obj=State(plugins=plugins))


if __name__ == "__main__":  # pragma: no cover
    main()
