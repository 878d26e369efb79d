"""The ``plugins``, ``install`` and ``cohorts`` commands: what is installed, and installing more."""

from __future__ import annotations

import subprocess
import sys

import click

from ..errors import PluginError
from .common import State, dump, fmt_default, json_option, pass_state, table

__all__ = ["cohorts_group", "install_command", "plugins_command"]


@click.command("plugins")
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


@click.command("install", context_settings={"ignore_unknown_options": True})
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
        raise PluginError(f"pip install {' '.join(pip_args)} failed with exit code {code}; see pip's output above")


@click.group("cohorts")
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


@cohorts_group.command("show")
@click.argument("key")
@json_option
@pass_state
def cohorts_show(state: State, key: str, as_json: bool) -> None:
    """Show a cohort's settings with their descriptions and defaults."""
    data = state.app.describe_cohort(key)
    if as_json:
        dump(data)
        return
    click.echo(
        f"{data['key']}: {data['title']}" + (f" ({', '.join(data['titles'].values())})" if data["titles"] else "")
    )
    if data["description"]:
        click.echo(data["description"])
    click.echo(f"plugin: {data['plugin']}")
    click.echo("events: " + ", ".join(f"{k['key']} ({k['title']})" for k in data["events"]))
    for title, section in (
        ("settings  ([settings] table of a pool file)", "settings"),
        ("member attributes  (member join --attr NAME=VALUE, or CSV columns)", "member_attributes"),
        ("claim details  (claim file --detail NAME=VALUE)", "claim_details"),
    ):
        click.echo(f"\n{title}:")
        if not data[section]:
            click.echo("  (none)")
        for f in data[section]:
            default = "required" if f["required"] else f"default: {fmt_default(f['default'])}"
            click.echo(f"  {f['name']}  [{default}]")
            if f["description"]:
                click.echo(f"      {f['description']}")
