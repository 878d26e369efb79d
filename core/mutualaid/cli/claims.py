"""The ``claim`` commands: file, review, approve, reject, list, history."""

from __future__ import annotations

from typing import Any

import click

from ..money import format_minor, to_minor
from .common import State, dump, json_option, pairs, pass_state, table

__all__ = ["claim_group"]


@click.group("claim")
def claim_group() -> None:
    """File, review, approve and reject claims; list them and show their history."""


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
        details=pairs(details, "--detail"),
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


@claim_group.command("history")
@click.argument("claim_id", type=int)
@json_option
@pass_state
def claim_history(state: State, claim_id: int, as_json: bool) -> None:
    """Show every step of a claim: filed, approved or rejected, shared; when (UTC) and why."""
    claim, steps = state.app.claim_history(claim_id)
    if as_json:
        dump({"claim": claim.as_dict(), "history": [step.as_dict() for step in steps]})
        return
    _print_claim(claim)
    table(
        [(step.changed_at.strftime("%Y-%m-%d %H:%M:%S"), step.status, step.cause) for step in steps],
        ("when (UTC)", "status", "why"),
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
