"""Correcting a claim before it is shared, as commands of the ``claim`` group: ``claim amend`` and
``claim withdraw`` (which, given ``--by`` and no ``--reason``, takes back a proposal not yet
published, as it always did). A run is voided with ``share void`` (:mod:`.sharing`), a top-up
reversed with ``balance reverse`` (:mod:`.balances`)."""

from __future__ import annotations

import getpass
from typing import Any

import click

from ..errors import ValidationError
from .claims import claim_group
from .common import State, dump, json_option, pairs, pass_state

__all__ = ["claim_amend", "claim_withdraw", "number", "operator_name"]

reason_option = click.option("--reason", help="Why (kept with the correction, and told to whom it concerns).")
by_option = click.option("--by", "by", help="Who makes the correction (default: your login name).")


def operator_name(by: str | None) -> str | None:
    """``--by``, or the login name of whoever runs the command (``None`` if it cannot be told)."""
    if by is not None:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no login name in this environment
        return None


def number(text: str, name: str = "CLAIM", what: str = "a claim") -> int:
    """A record's number as given on the command line (1 to 2**63 - 1), else one line."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 0 < value <= 2**63 - 1:
        raise ValidationError([f"{name}: {text!r} is not {what} number"])
    return value


@claim_group.command("amend")
@click.argument("pool")
@click.argument("claim_id", metavar="CLAIM")
@reason_option
@click.option("--event-date", metavar="YYYY-MM-DD", help="The event's date, corrected.")
@click.option("--kind", "event_kind", help="The event's kind, corrected.")
@click.option("--benefit", metavar="AMOUNT", help="The most the claim asks for (within the cohort's cap).")
@click.option(
    "--detail",
    "--details",
    "details",
    multiple=True,
    metavar="NAME=VALUE",
    help="A claim detail, corrected; repeatable.",
)
@click.option("--description", help="What happened, in words, corrected.")
@by_option
@json_option
@pass_state
def claim_amend(
    state: State,
    pool: str,
    claim_id: str,
    reason: str | None,
    event_date: str | None,
    event_kind: str | None,
    benefit: str | None,
    details: tuple[str, ...],
    description: str | None,
    by: str | None,
    as_json: bool,
) -> None:
    """Amend CLAIM of POOL before it is shared. The amended claim is checked as a filing is; the old
    and new values are kept with who and why ('claim history'). A claim already approved, proposed
    or published goes back to be decided again (in a pool deciding in public, through its notice
    window again). A shared claim is corrected by voiding its run first ('share void')."""
    claim, amendment = state.app.amend_claim(
        number(claim_id),
        pool=pool,
        reason=reason or "",
        by=operator_name(by),
        event_date=event_date,
        event_kind=event_kind,
        benefit=benefit,
        details=pairs(details, "--detail") if details else None,
        description=description,
    )
    if as_json:
        dump({"claim": claim.as_dict(), "amendment": amendment.as_dict()})
        return
    click.echo(f"amended claim #{claim.id}: {amendment.describe()}")
    if amendment.sent_back:
        click.echo(
            f"it was {amendment.status_before.value} and is {amendment.status_after.value} again: {_next(claim)}"
        )


def _next(claim: Any) -> str:
    if claim.status == "filed":
        return f"review and decide it again ('mutualaid claim review {claim.id}', 'mutualaid claim approve {claim.id}')"
    return f"propose and publish it again ('mutualaid claim propose {claim.id} --approve|--reject --by NAME')"


@claim_group.command("withdraw")
@click.argument("first", metavar="[POOL] CLAIM")
@click.argument("second", required=False, metavar="")
@reason_option
@click.option("--by", "by", help="Who withdraws it (default for a claim: your login name; required for a proposal).")
@json_option
@pass_state
def claim_withdraw(
    state: State, first: str, second: str | None, reason: str | None, by: str | None, as_json: bool
) -> None:
    """Withdraw a claim before it is shared ('withdraw POOL CLAIM --reason TEXT': withdrawn for
    good; investigation costs already posted stay), or take back a proposal not yet published
    ('withdraw CLAIM --by NAME': the claim is under review again)."""
    pool, given = (first, second) if second is not None else (None, first)
    claim_id = number(given)
    if reason is None:
        if by is None:
            raise ValidationError(
                [
                    "--reason: withdrawing a claim needs a reason ('mutualaid claim withdraw POOL CLAIM --reason "
                    "TEXT'); to take back a proposal not yet published, 'mutualaid claim withdraw CLAIM --by NAME'"
                ]
            )
        if pool is not None and state.app.claim(claim_id).claim.pool_key != pool:
            raise ValidationError([f"pool {pool!r} has no claim #{claim_id}"])
        claim = state.app.withdraw_proposal(claim_id, by=by)
        if as_json:
            dump(claim.as_dict())
            return
        click.echo(f"withdrew the proposal for claim #{claim.id}: it is under review again")
        return
    claim = state.app.withdraw_claim(claim_id, pool=pool, reason=reason, by=operator_name(by))
    if as_json:
        dump(claim.as_dict())
        return
    click.echo(f"withdrew claim #{claim.id} (member #{claim.member_id}, {claim.event_kind} on {claim.event_date})")
