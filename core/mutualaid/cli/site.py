"""The ``site`` commands: a pool's public transparency site."""

from __future__ import annotations

from pathlib import Path

import click

from .common import State, dump, json_option, pass_state

__all__ = ["site_group"]


@click.group("site")
def site_group() -> None:
    """A pool's public site: its books, cases, cost and health, offline."""


@site_group.command("build")
@click.argument("pool")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Directory to write the site into.")
@click.option("--paths", default=2_000, show_default=True, help="Paths of the forecast shown.")
@click.option("--seed", default=0, show_default=True, help="Seed of the forecast.")
@json_option
@pass_state
def site_build(state: State, pool: str, out: Path, paths: int, seed: int, as_json: bool) -> None:
    """Write POOL's static site into OUT: open OUT/index.html in a browser, no server needed."""
    report = state.app.build_site(pool, out, paths=paths, seed=seed)
    if as_json:
        dump(report.as_dict())
        return
    click.echo(
        f"wrote {len(report.files)} files to {report.out} ({report.periods} periods, "
        f"ledger head {report.ledger_seq}:{report.ledger_head or '-'}); open {report.out / 'index.html'}"
    )
