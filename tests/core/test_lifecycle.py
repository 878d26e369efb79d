"""One owner per state: every change of a membership and of a claim goes through its owner, which
records it in the history and fires the matching hook, whoever asked for it (a join or an import,
an exit, a death by the operator or by a claim, a settlement's lapses, a run's freezes, a top-up)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import mutualaid_truckers
from mutualaid import MutualAid, hookimpl, load_plugins, make_resident_id
from mutualaid.vocabulary import MemberChange

POOL = "js-truckers"


class Observer:
    """Records every member hook: (hook, member, what)."""

    def __init__(self, refuse: str | None = None) -> None:
        self.calls: list[tuple[str, int, Any]] = []
        self.refuse = refuse

    def _seen(self, hook: str, member_id: int, what: Any) -> None:
        if hook == self.refuse:
            raise RuntimeError(f"the observer refuses {hook} of member #{member_id}")
        self.calls.append((hook, member_id, what))

    @hookimpl
    def member_joined(self, pool: Any, member_id: int, applicant: Any) -> None:
        self._seen("member_joined", member_id, applicant.name)

    @hookimpl
    def member_ended(self, pool: Any, member_id: int, status: str, on: date) -> None:
        self._seen("member_ended", member_id, (status, on))

    @hookimpl
    def member_frozen(self, pool: Any, member_id: int, on: date, cause: str) -> None:
        self._seen("member_frozen", member_id, (on, cause))

    @hookimpl
    def member_unfrozen(self, pool: Any, member_id: int, on: date) -> None:
        self._seen("member_unfrozen", member_id, on)

    def of(self, hook: str) -> list[tuple[int, Any]]:
        return [(member_id, what) for name, member_id, what in self.calls if name == hook]


@pytest.fixture
def observer() -> Observer:
    return Observer()


@pytest.fixture
def observed(db_url: str, observer: Observer) -> Any:
    """An app whose plugins are the truckers cohort and the observer."""
    plugins = load_plugins(
        entry_points=False, extra=[("truckers", mutualaid_truckers), ("observer", observer)], strict=True
    )
    app = MutualAid(db_url, plugins=plugins)
    yield app
    app.close()


def _history(app: MutualAid, member: int) -> list[tuple[str, str, str]]:
    _, entries = app.member_history(POOL, member)
    return [(e.change.value, e.status.value, e.since.isoformat()) for e in entries]


def _death(app: MutualAid, member: int, day: str = "2026-10-20") -> int:
    claim = app.file_claim(POOL, member, event_kind="accidental_death", event_date=day, filed_on="2026-10-25")
    app.approve_claim(claim.id)
    return claim.id


# -- members ---------------------------------------------------------------------------------------


def test_a_join_records_the_joining_and_the_end_of_the_waiting_period(observed, observer, truckers_pool, make_driver):
    observed.create_pool(truckers_pool())
    member = observed.join(POOL, **make_driver(1))
    # truckers: illness is covered after 90 days, from 00:00 the day after joining
    assert member.waiting_until == date(2026, 12, 30)
    assert _history(observed, member.id) == [("joined", "active", "2026-10-01"), ("covered", "active", "2026-12-31")]
    assert observer.of("member_joined") == [(member.id, "司机1")]


def test_an_import_records_every_member_and_tells_the_observers_of_each(
    observed, observer, truckers_pool, make_driver, tmp_path: Path
):
    observed.create_pool(truckers_pool())
    observed.join(POOL, **{**make_driver(0), "joined_on": "2026-09-01"})  # one member before the file
    rows = ["id_number,name,birth_date,licence_class,licence_number,licence_expires,driving_proof"]
    for n in range(1, 4):
        rows.append(f"{make_resident_id(date(1980, 1, 1), n)},司机{n},1980-01-01,A2,L{n},2031-12-31,ETC-{n}")
    path = tmp_path / "drivers.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert observed.import_members(POOL, path, joined_on="2026-10-01").imported == 3
    assert observer.of("member_joined") == [(1, "司机0"), (2, "司机1"), (3, "司机2"), (4, "司机3")]
    for member in (2, 3, 4):
        assert _history(observed, member) == [
            ("joined", "active", "2026-10-01"),
            ("covered", "active", "2026-12-31"),
        ]
    assert _history(observed, 1) == [("joined", "active", "2026-09-01"), ("covered", "active", "2026-12-01")]


def test_an_exit_and_a_death_recorded_by_the_operator(observed, observer, truckers_pool, make_driver):
    observed.create_pool(truckers_pool())
    for n in range(1, 3):
        observed.join(POOL, **make_driver(n))
    observed.exit_member(POOL, 1, "2026-11-10")
    observed.record_death(POOL, 2, "2026-11-12")
    assert _history(observed, 1)[-1] == ("exited", "exited", "2026-11-11")
    assert _history(observed, 2)[-1] == ("died", "deceased", "2026-11-13")
    assert observer.of("member_ended") == [(1, ("exited", date(2026, 11, 10))), (2, ("deceased", date(2026, 11, 12)))]
    _, entries = observed.member_history(POOL, 2)
    assert entries[-1].cause == "died (recorded by the operator)"


def test_a_death_claim_ends_the_membership_through_the_lifecycle(observed, observer, truckers_pool, make_driver):
    observed.create_pool(truckers_pool())
    observed.join(POOL, **make_driver(1))
    claim_id = _death(observed, 1)
    assert _history(observed, 1)[-1] == ("died", "deceased", "2026-10-21")
    _, entries = observed.member_history(POOL, 1)
    assert entries[-1].cause == f"died (claim #{claim_id})"
    assert observer.of("member_ended") == [(1, ("deceased", date(2026, 10, 20)))]


def test_a_settlement_lapses_through_the_lifecycle(observed, observer, truckers_pool, make_driver, tmp_path):
    observed.create_pool(truckers_pool())
    for n in range(1, 5):
        observed.join(POOL, **make_driver(n))
    _death(observed, 1)
    observed.share(POOL, "2026-11")
    path = tmp_path / "payments.csv"
    path.write_text("member_id,period,result,date\n2,2026-11,paid,2026-11-14\n3,2026-11,failed,2026-11-14\n")
    observed.import_payments(POOL, path)
    (settled,) = observed.settle_payments(POOL, "2026-11-20")
    assert settled.lapsed == 1
    assert _history(observed, 3)[-1] == ("lapsed", "lapsed", "2026-11-20")
    assert observer.of("member_ended")[-1] == (3, ("lapsed", date(2026, 11, 19)))
    assert _history(observed, 4)[-1] == ("covered", "active", "2026-12-31")  # no result reported: still a member


def test_the_settlement_before_a_run_is_shown_in_its_result(observed, observer, truckers_pool, make_driver, tmp_path):
    observed.create_pool(truckers_pool())
    for n in range(1, 5):
        observed.join(POOL, **make_driver(n))
    _death(observed, 1)
    assert observed.share(POOL, "2026-11").settlements == ()
    path = tmp_path / "payments.csv"
    path.write_text("member_id,period,result,date\n2,2026-11,paid,2026-11-14\n3,2026-11,failed,2026-11-14\n")
    observed.import_payments(POOL, path)
    december = observed.share(POOL, "2026-12")  # its notice day, 7 December, is after the window closed
    (settled,) = december.settlements
    assert (settled.period, settled.lapsed, settled.unpaid_count) == ("2026-11", 1, 1)
    assert december.members == 2  # #1 died, #3 lapsed before the run counted
    assert december.as_dict()["settlements"][0]["lapsed"] == 1
    assert "settlements" not in observed.sharing_run(POOL, "2026-12").as_dict()


def _prepaid(app: MutualAid, truckers_pool, make_driver) -> None:
    app.create_pool(truckers_pool(payments={"model": "prepaid"}, settings={"accidental_death_benefit": 300}))
    for n in range(1, 5):
        app.join(POOL, **make_driver(n))
    app.top_up(POOL, 2, "400", "2026-10-05", "R-2")
    app.top_up(POOL, 3, "4.99", "2026-10-05", "R-3")


def test_a_run_freezes_and_a_top_up_unfreezes_through_the_lifecycle(observed, observer, truckers_pool, make_driver):
    _prepaid(observed, truckers_pool, make_driver)
    _death(observed, 1)
    run = observed.share(POOL, "2026-11")  # only #2 can pay the 324.00; #3 and #4 are frozen
    assert (run.members, run.frozen_count) == (1, 2)
    cause = f"balance too low for the share of period 2026-11 (run #{run.run_id})"
    assert observer.of("member_frozen") == [(3, (date(2026, 11, 7), cause)), (4, (date(2026, 11, 7), cause))]
    assert _history(observed, 3)[1:] == [("frozen", "frozen", "2026-11-07"), ("covered", "active", "2026-12-31")]
    observed.top_up(POOL, 3, "5", "2026-11-09", "R-3b")
    assert observer.of("member_unfrozen") == [(3, date(2026, 11, 9))]
    assert _history(observed, 3)[2] == ("unfrozen", "active", "2026-11-09")
    assert observed.balance(POOL, 3).frozen_spans == ((date(2026, 11, 7), date(2026, 11, 8)),)


def test_an_observer_that_refuses_rolls_the_whole_run_back(db_url, truckers_pool, make_driver):
    refusing = Observer(refuse="member_frozen")
    plugins = load_plugins(
        entry_points=False, extra=[("truckers", mutualaid_truckers), ("observer", refusing)], strict=True
    )
    app = MutualAid(db_url, plugins=plugins)
    try:
        _prepaid(app, truckers_pool, make_driver)
        _death(app, 1)
        # #3 and #4 are frozen together, their history written in member order: #3 is refused first
        with pytest.raises(RuntimeError, match="the observer refuses member_frozen of member #3$"):
            app.share(POOL, "2026-11")
        assert [m.status for m in app.members(POOL)] == ["deceased", "active", "active", "active"]
        assert _history(app, 3)[-1][0] == "covered"
        with pytest.raises(Exception, match="has not been shared"):
            app.sharing_run(POOL, "2026-11")
    finally:
        app.close()


def test_member_history_on_the_command_line(app, invoke, truckers_pool, make_driver):
    app.create_pool(truckers_pool())
    app.join(POOL, **make_driver(1))
    app.exit_member(POOL, 1, "2026-11-10")
    result = invoke("member", "history", POOL, "1")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "member #1 司机1 of pool 'js-truckers': exited\n"
        "from        change  status  why\n"
        "----------  ------  ------  -------------\n"
        "2026-10-01  joined  active  joined\n"
        "2026-11-11  exited  exited  left the pool\n"
    )
    data = json.loads(invoke("member", "history", POOL, "1", "--json").output)
    assert [h["change"] for h in data["history"]] == ["joined", "exited"]
    assert {c.value for c in MemberChange} >= {h["change"] for h in data["history"]}


# -- claims ----------------------------------------------------------------------------------------


def test_a_claims_history_records_each_step(app, invoke, truckers_pool, make_driver):
    app.create_pool(truckers_pool())
    for n in range(1, 4):
        app.join(POOL, **make_driver(n))
    paid = _death(app, 1)
    refused = app.file_claim(POOL, 2, event_kind="accidental_death", event_date="2026-10-22", filed_on="2026-10-25")
    app.reject_claim(refused.id, "no death certificate")
    run = app.share(POOL, "2026-11")
    _, steps = app.claim_history(paid)
    assert [(s.status.value, s.cause) for s in steps] == [
        ("filed", "filed"),
        ("approved", "approved: " + "; ".join(app.claims(POOL)[0].reasons)),
        ("shared", f"shared in period 2026-11 (run #{run.run_id})"),
    ]
    assert steps[0].changed_at <= steps[1].changed_at <= steps[2].changed_at
    _, steps = app.claim_history(refused.id)
    assert [(s.status.value, s.cause) for s in steps] == [
        ("filed", "filed"),
        ("rejected", "rejected: no death certificate"),
    ]
    result = invoke("claim", "history", str(refused.id))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"claim #{refused.id} (rejected): member #2, accidental_death on 2026-10-22")
    assert lines[1].split() == ["when", "(UTC)", "status", "why"]
    assert lines[3].split()[2:] == ["filed", "filed"]
    assert lines[4].split()[2:] == ["rejected", "rejected:", "no", "death", "certificate"]


def test_a_claim_moves_only_along_its_transitions(app, truckers_pool, make_driver):
    from mutualaid import StateError

    app.create_pool(truckers_pool())
    app.join(POOL, **make_driver(1))
    app.join(POOL, **make_driver(2))
    claim = _death(app, 1)
    with pytest.raises(StateError, match=rf"^claim #{claim} is already approved; only a filed claim can be rejected$"):
        app.reject_claim(claim, "changed our mind")
    app.share(POOL, "2026-11")
    with pytest.raises(StateError, match=rf"^claim #{claim} is already shared; only a filed claim can be approved$"):
        app.approve_claim(claim)
    _, steps = app.claim_history(claim)
    assert [s.status.value for s in steps] == ["filed", "approved", "shared"]  # the refusals left no trace


@pytest.mark.parametrize("status", ["bogus", "waiting"])
def test_listing_by_a_status_that_does_not_exist_is_refused(app, invoke, truckers_pool, status):
    app.create_pool(truckers_pool())
    result = invoke("member", "list", POOL, "--status", status)
    assert result.exit_code == 1
    hint = " ('waiting' is a state of an active member: list --status active)" if status == "waiting" else ""
    assert result.output == (
        f"Error: --status: {status!r} is not a member status; use one of active, frozen, lapsed, exited, deceased"
        f"{hint}\n"
    )
    result = invoke("claim", "list", POOL, "--status", status)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: --status: {status!r} is not a claim status; use one of filed, under-review, proposed, in-notice, objected, at-jury, approved, rejected, shared, withdrawn\n"
    )


def test_history_of_what_does_not_exist_is_one_line(app, invoke, truckers_pool, make_driver):
    app.create_pool(truckers_pool())
    app.join(POOL, **make_driver(1))
    result = invoke("member", "history", POOL, "99")
    assert (result.exit_code, result.output) == (
        1,
        "Error: pool 'js-truckers' has no member '99' (give a member number or an ID number)\n",
    )
    result = invoke("member", "history", "nope", "1")
    assert result.exit_code == 1 and result.output.startswith("Error: no pool 'nope' (existing pools: js-truckers)")
    result = invoke("claim", "history", "7")
    assert (result.exit_code, result.output) == (
        1,
        "Error: no claim #7; 'mutualaid claim list POOL' shows the claims\n",
    )
    result = invoke("claim", "history", "seven")
    assert result.exit_code == 2 and "'seven' is not a valid integer" in result.output
    assert _history(app, 1) == [("joined", "active", "2026-10-01"), ("covered", "active", "2026-12-31")]


@pytest.mark.parametrize("command", [("member", "history"), ("claim", "history")])
def test_the_history_commands_explain_themselves(invoke, command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "history" in result.output.lower() and "--json" in result.output
