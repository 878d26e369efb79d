"""The ``jury`` commands: draw a member jury for an objected claim, its votes, close it, show it,
and record the members who passed the jurors' exam."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import NotFoundError, ValidationError
from ..fields import MAX_RECORD_NUMBER, is_record_number
from ..vocabulary import Vote, values
from .common import State, dump, json_option, pass_state

__all__ = ["jury_group"]

_ON = click.option("--on", metavar="YYYY-MM-DD", help="The day (default: today in the pool's time zone).")


def _claim_number(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """A claim number the database could hold; any other names no claim (and would overflow a query)."""
    if not is_record_number(value):
        raise NotFoundError(f"no claim #{value}; 'mutualaid claim list POOL' shows the claims")
    return value


def _seed(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and not 0 <= value <= MAX_RECORD_NUMBER:
        raise ValidationError([f"--seed: {value} is not a seed; give a whole number from 0 to {MAX_RECORD_NUMBER}"])
    return value


_CLAIM = click.argument("claim_id", type=int, callback=_claim_number)


@click.group("jury")
def jury_group() -> None:
    """Member juries (评议团): the objected claims a pool's members decide."""


def _print_jury(jury: Any) -> None:
    click.echo(
        f"jury #{jury.id} of claim #{jury.claim_id} ({jury.status}): {jury.size:,} jurors, seed {jury.seed}, "
        f"voting {jury.opened_on} to {jury.closes_on}"
    )
    click.echo(
        f"votes: {jury.votes_pay:,} pay, {jury.votes_reject:,} reject, {jury.cast:,} of {jury.size:,} cast "
        f"(quorum {jury.quorum:,}; {jury.threshold} to pay)"
    )


@jury_group.command("draw")
@_CLAIM
@click.option("--by", required=True, help="Who draws the jury (recorded in the claim's history).")
@click.option(
    "--seed",
    type=int,
    callback=_seed,
    help="The draw's seed (default: from the claim and the day); stored with the jury.",
)
@_ON
@json_option
@pass_state
def jury_draw(state: State, claim_id: int, by: str, seed: int | None, on: str | None, as_json: bool) -> None:
    """Draw the jury of an objected claim at random from the eligible members and send the claim to it."""
    draw = state.app.draw_jury(claim_id, by=by, seed=seed, on=on)
    if as_json:
        dump({**draw.jury.as_dict(), "eligible": draw.eligible})
        return
    jury = draw.jury
    click.echo(
        f"drew jury #{jury.id} for claim #{claim_id}: {jury.size:,} of {draw.eligible:,} eligible members "
        f"(seed {jury.seed}); voting until {jury.closes_on}, quorum {jury.quorum:,}, {jury.threshold} to pay"
    )
    click.echo(f"next: mutualaid jury import-votes {claim_id} FILE.csv, then mutualaid jury close {claim_id} --by NAME")


@jury_group.command("vote")
@_CLAIM
@click.option("--member", required=True, help="The juror's member number.")
@click.option("--vote", required=True, type=click.Choice(values(Vote)), help="The juror's vote.")
@_ON
@pass_state
def jury_vote(state: State, claim_id: int, member: str, vote: str, on: str | None) -> None:
    """Record one juror's vote (once, while the jury is open)."""
    jury = state.app.cast_vote(claim_id, member, vote, on=on)
    click.echo(f"recorded member {member}'s vote ({vote}) in jury #{jury.id}: {jury.cast:,} of {jury.size:,} cast")


@jury_group.command("import-votes")
@_CLAIM
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--on", metavar="YYYY-MM-DD", help="The day of the rows without voted_on (default: today).")
@json_option
@pass_state
def jury_import_votes(state: State, claim_id: int, file: Path, on: str | None, as_json: bool) -> None:
    """Record the votes of a CSV file (columns member_id, vote and optionally voted_on), all or nothing."""
    result = state.app.import_votes(claim_id, file, on=on)
    if as_json:
        dump({"imported": result.imported, "pay": result.pay, "reject": result.reject, "jury": result.jury.as_dict()})
        return
    jury = result.jury
    click.echo(
        f"imported {result.imported:,} votes into jury #{jury.id} ({result.pay:,} pay, {result.reject:,} reject); "
        f"{jury.cast:,} of {jury.size:,} cast"
    )


@jury_group.command("close")
@_CLAIM
@click.option("--by", required=True, help="Who closes the jury.")
@_ON
@json_option
@pass_state
def jury_close(state: State, claim_id: int, by: str, on: str | None, as_json: bool) -> None:
    """Close a jury after its window: the tally decides the claim (or, without a quorum, it is reviewed again)."""
    closing = state.app.close_jury(claim_id, by=by, on=on)
    jury, claim = closing.jury, closing.claim
    if as_json:
        dump(
            {
                "jury": jury.as_dict(),
                "claim": claim.as_dict(),
                "outcome": closing.outcome,
                "overruled": closing.overruled,
            }
        )
        return
    tally = f"{jury.votes_pay:,} pay, {jury.votes_reject:,} reject of {jury.size:,} jurors"
    if closing.outcome == "no-quorum":
        click.echo(
            f"jury #{jury.id} had no quorum ({tally}; {jury.quorum:,} votes needed): claim #{claim.id} is under "
            f"review again"
        )
    elif closing.overruled:
        click.echo(
            f"jury #{jury.id} voted to pay ({tally}), but the pool's rules do not pay claim #{claim.id}: "
            "it is rejected with the cohort's reasons"
        )
        for reason in closing.overruled:
            click.echo(f"  - {reason}")
    elif closing.outcome == "approved":
        click.echo(
            f"jury #{jury.id} decided to pay ({tally}): claim #{claim.id} approved, {claim.benefit:,} {claim.currency}"
        )
    else:
        click.echo(f"jury #{jury.id} decided not to pay ({tally}): claim #{claim.id} rejected")
    if closing.resolved:
        click.echo(f"{closing.resolved:,} objection(s) resolved")


@jury_group.command("show")
@_CLAIM
@json_option
@pass_state
def jury_show(state: State, claim_id: int, as_json: bool) -> None:
    """Show a claim's jury: its draw, window, tally (so far) and status."""
    jury = state.app.jury(claim_id)
    if as_json:
        dump(jury.as_dict())
        return
    _print_jury(jury)


@jury_group.command("qualify")
@click.argument("pool")
@click.argument("members", nargs=-1, required=True)
@click.option("--on", required=True, metavar="YYYY-MM-DD", help="The day they passed the jurors' exam.")
@pass_state
def jury_qualify(state: State, pool: str, members: tuple[str, ...], on: str) -> None:
    """Record that MEMBERS (member numbers or ID numbers) passed the jurors' exam."""
    result = state.app.qualify_jurors(pool, list(members), on=on)
    click.echo(
        f"qualified {len(result.qualified):,} member(s) of pool {result.pool_key!r} as jurors on {result.passed_on}"
    )
    if result.already:
        shown = ", ".join(f"#{m} ({day})" for m, day in result.already[:20])
        more = f" and {len(result.already) - 20:,} more" if len(result.already) > 20 else ""
        click.echo(f"already qualified: {shown}{more}")
