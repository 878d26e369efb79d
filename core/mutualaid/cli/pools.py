"""The ``pool`` commands: create a pool from its file, list the pools, show one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..money import format_minor, format_percent, to_minor
from ..vocabulary import FeePolicy
from .common import State, dump, fmt_default, json_option, pass_state, table

__all__ = ["pool_group"]


@click.group("pool")
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
        f"{config.sharing.calendar} sharing, {_fee_words(config)}, rounding {config.sharing.rounding})"
    )


def _fee_words(config: Any) -> str:
    """The pool's fee as its policy has it: ``fee 8%``, ``fee 0.50 per member sharing``, ``no fee``."""
    sharing = config.sharing
    if sharing.management_fee == FeePolicy.FLAT:
        amount = format_minor(to_minor(sharing.management_fee_per_member, config.currency), config.currency)
        return f"fee {amount} per member sharing"
    if sharing.management_fee == FeePolicy.NONE:
        return "no fee"
    return f"fee {format_percent(sharing.management_fee_rate)}%"


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
        click.echo(f"  {k}: {fmt_default(v) if not isinstance(v, str) else v}")
    click.echo(f"settings ({record.definition.cohort.key}):")
    for k, v in settings.items():
        click.echo(f"  {k}: {fmt_default(v) if not isinstance(v, str) else v}")
