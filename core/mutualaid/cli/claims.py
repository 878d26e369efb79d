"""The ``claim`` commands: file, review, approve, reject, list, history, show, and the steps of a
claim decided in public: investigate, note, cost, propose, publish, object, dispute, reinvestigate,
decide. Correcting a claim (``amend``, and ``withdraw``, which also takes back a proposal) is in
:mod:`.corrections`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from ..errors import ValidationError
from ..money import format_minor, to_minor
from .common import State, dump, json_option, pairs, pass_state, table

__all__ = ["claim_group"]


@click.group("claim")
def claim_group() -> None:
    """File, review, approve and reject claims (or, in a pool deciding in public, investigate,
    propose, publish and decide them); list them and show their history."""


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
@click.option("--by", "filed_by", help="Who files it (required in a public pool with four eyes).")
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
    filed_by: str | None,
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
        filed_by=filed_by,
    )
    if as_json:
        dump(claim.as_dict())
        return
    click.echo(f"filed claim #{claim.id}: member #{claim.member_id}, {claim.event_kind} on {claim.event_date}")
    if state.app.pool(pool).definition.config.claims.governance == "public":
        click.echo(f"next: mutualaid claim investigate {claim.id} --by NAME")
    else:
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
    """Show every step of a claim: filed, reviewed, proposed, published, objected to, approved or
    rejected, shared; when (UTC), by whom (when anyone was named) and why."""
    claim, steps = state.app.claim_history(claim_id)
    if as_json:
        dump({"claim": claim.as_dict(), "history": [step.as_dict() for step in steps]})
        return
    _print_claim(claim)
    when = [step.changed_at.strftime("%Y-%m-%d %H:%M:%S") for step in steps]
    if any(step.actor for step in steps):
        table(
            [(at, step.status, step.actor or "-", step.cause) for at, step in zip(when, steps, strict=True)],
            ("when (UTC)", "status", "by", "why"),
        )
        return
    table(
        [(at, step.status, step.cause) for at, step in zip(when, steps, strict=True)], ("when (UTC)", "status", "why")
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


# -- a claim decided in public ------------------------------------------------------------------------

by_option = click.option("--by", "by", required=True, help="Who takes this step (recorded in the claim's history).")
on_option = click.option("--on", metavar="YYYY-MM-DD", help="The day (default: today in the pool).")


@claim_group.command("show")
@click.argument("claim_id", type=int)
@json_option
@pass_state
def claim_show(state: State, claim_id: int, as_json: bool) -> None:
    """Show a claim with its public life: who filed and reviewed it, its proposal, its notice
    window, its objections, its investigation file and costs."""
    detail = state.app.claim(claim_id)
    if as_json:
        dump(detail.as_dict())
        return
    claim, proposal = detail.claim, detail.proposal
    _print_claim(claim)
    click.echo(f"filed on {claim.filed_on} by {detail.filed_by or '-'}; reviewed by {detail.reviewed_by or '-'}")
    if proposal is not None and proposal["decision"] == "approve":
        amount = format_minor(proposal["benefit_minor"], claim.currency)
        click.echo(f"proposal: pay {amount} {claim.currency} (proposed by {proposal['by']})")
    elif proposal is not None:
        click.echo(f"proposal: reject: {proposal['reason']} (proposed by {proposal['by']})")
    if detail.notice_closes_on is not None:
        click.echo(f"notice window closes on {detail.notice_closes_on}")
    click.echo(
        f"open objections: {detail.open_objections}; investigation costs: "
        f"{detail.investigation_costs:,} {claim.currency}"
    )
    for note in detail.notes:
        click.echo(f"  {note.kind} by {note.added_by}: {note.text}")
    for cost in detail.costs:
        click.echo(
            f"  cost {cost.amount:,} {cost.currency} on {cost.incurred_on} by {cost.recorded_by}: {cost.description}"
        )
    for objection in detail.objections:
        click.echo(
            f"  {objection.kind} by member #{objection.member_id} on {objection.filed_on} ({objection.status}): "
            f"{objection.reason}"
        )


@claim_group.command("investigate")
@click.argument("claim_id", type=int)
@by_option
@json_option
@pass_state
def claim_investigate(state: State, claim_id: int, by: str, as_json: bool) -> None:
    """Open a filed claim's investigation (it is then under review, by BY)."""
    claim = state.app.investigate_claim(claim_id, by=by)
    if as_json:
        dump(claim.as_dict())
        return
    click.echo(f"claim #{claim.id} is under review by {by}")
    click.echo(f"next: mutualaid claim propose {claim.id} --approve|--reject --by NAME")


@claim_group.command("note")
@click.argument("claim_id", type=int)
@click.option("--document", help="A document, by reference (a file name, an archive number).")
@click.option("--note", help="An investigator's note.")
@by_option
@json_option
@pass_state
def claim_note(state: State, claim_id: int, document: str | None, note: str | None, by: str, as_json: bool) -> None:
    """Add a document or a note to a claim's investigation file."""
    added = state.app.add_claim_note(claim_id, by=by, document=document, note=note)
    if as_json:
        dump(added.as_dict())
        return
    click.echo(f"added a {added.kind} to claim #{claim_id}'s investigation file: {added.text}")


@claim_group.command("cost")
@click.argument("claim_id", type=int)
@click.argument("amount")
@click.option("--description", required=True, help="What the cost was for.")
@on_option
@by_option
@json_option
@pass_state
def claim_cost(
    state: State, claim_id: int, amount: str, description: str, on: str | None, by: str, as_json: bool
) -> None:
    """Record what investigating a claim cost, paid by the operator out of its fee."""
    cost = state.app.add_claim_cost(claim_id, amount, description=description, on=on, by=by)
    if as_json:
        dump(cost.as_dict())
        return
    click.echo(
        f"recorded an investigation cost of claim #{claim_id}: {cost.amount:,} {cost.currency} on "
        f"{cost.incurred_on} ({cost.description}), paid from the operator's fee"
    )


@claim_group.command("propose")
@click.argument("claim_id", type=int)
@click.option("--approve/--reject", "approve", default=None, help="Propose to pay it, or to reject it.")
@click.option("--reason", help="Why (required to reject), in words the members can read.")
@by_option
@json_option
@pass_state
def claim_propose(
    state: State, claim_id: int, approve: bool | None, reason: str | None, by: str, as_json: bool
) -> None:
    """Propose a decision for a claim under review: to pay what the cohort decides, or to reject it."""
    if approve is None:
        raise ValidationError(["give --approve or --reject"])
    claim = state.app.propose_claim(claim_id, approve=approve, reason=reason, by=by)
    if as_json:
        dump(claim.as_dict())
        return
    detail = state.app.claim(claim_id)
    proposal = detail.proposal or {}
    if approve:
        amount = format_minor(proposal["benefit_minor"], claim.currency)
        click.echo(f"proposed to pay claim #{claim.id}: {amount} {claim.currency}")
        for line in proposal["reasons"]:
            click.echo(f"  - {line}")
    else:
        click.echo(f"proposed to reject claim #{claim.id}: {proposal['reason']}")
    click.echo(f"next: mutualaid claim publish {claim.id} --by NAME")


@claim_group.command("publish")
@click.argument("claim_id", type=int)
@by_option
@json_option
@pass_state
def claim_publish(state: State, claim_id: int, by: str, as_json: bool) -> None:
    """Put a claim's proposed decision in public notice for the pool's notice window."""
    claim = state.app.publish_claim(claim_id, by=by)
    if as_json:
        dump(claim.as_dict())
        return
    closes = state.app.claim(claim_id).notice_closes_on
    decided = closes + timedelta(days=1) if closes is not None else None
    click.echo(f"published claim #{claim.id}: members may object until {closes}; it can be decided from {decided}")


@claim_group.command("object")
@click.argument("claim_id", type=int)
@click.option("--member", required=True, help="The member who objects (member number or ID number).")
@click.option("--reason", required=True, help="Why the member objects.")
@on_option
@json_option
@pass_state
def claim_object(state: State, claim_id: int, member: str, reason: str, on: str | None, as_json: bool) -> None:
    """Record a member's objection to a claim in public notice."""
    objection = state.app.object_to_claim(claim_id, member=member, reason=reason, on=on)
    if as_json:
        dump(objection.as_dict())
        return
    click.echo(f"recorded member #{objection.member_id}'s objection to claim #{claim_id}: {objection.reason}")


@claim_group.command("dispute")
@click.argument("claim_id", type=int)
@click.option("--reason", required=True, help="Why the claimant disputes the rejection.")
@on_option
@json_option
@pass_state
def claim_dispute(state: State, claim_id: int, reason: str, on: str | None, as_json: bool) -> None:
    """Record the claimant's dispute of a claim's rejection."""
    objection = state.app.dispute_claim(claim_id, reason=reason, on=on)
    if as_json:
        dump(objection.as_dict())
        return
    click.echo(f"recorded the dispute of claim #{claim_id}'s rejection by member #{objection.member_id}: {reason}")


@claim_group.command("reinvestigate")
@click.argument("claim_id", type=int)
@by_option
@json_option
@pass_state
def claim_reinvestigate(state: State, claim_id: int, by: str, as_json: bool) -> None:
    """Send an objected claim back to review (a pool whose objections go to review)."""
    claim = state.app.reinvestigate_claim(claim_id, by=by)
    if as_json:
        dump(claim.as_dict())
        return
    click.echo(f"sent claim #{claim.id} back to review; its objections are resolved")


@claim_group.command("decide")
@click.argument("claim_id", type=int)
@by_option
@on_option
@json_option
@pass_state
def claim_decide(state: State, claim_id: int, by: str, on: str | None, as_json: bool) -> None:
    """Decide a claim as proposed, once its notice window closed with no open objection."""
    claim = state.app.decide_claim(claim_id, by=by, on=on)
    if as_json:
        dump(claim.as_dict())
        return
    if claim.status == "approved":
        click.echo(
            f"approved claim #{claim.id} after public notice: {claim.benefit:,} {claim.currency}, "
            "to be shared in the next sharing run"
        )
    else:
        click.echo(f"rejected claim #{claim.id} after public notice: {claim.reasons[0]}")
