"""Privacy: every kind of notice, rendered for every member it goes to, names nobody but its reader.

Two pools (postpaid and prepaid) are driven through joins, claims approved and rejected, a shared
period, a freeze and a top-up, an exit and a death; then every kind of notice is rendered in both
languages and formats, and each notice is scanned for the name and the ID number of every member
other than its reader (a public notice: of every member). Names are drawn at random, so that a
masked name can never match one by chance.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import mutualaid
import mutualaid_truckers
from mutualaid import NotFoundError, StateError
from mutualaid.notices import all_kinds

#: Names of 2 to 4 Han characters or two Latin words: masked, they keep only first characters.
han = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=2, max_size=4)
latin = st.builds(
    lambda a, b: f"{a.capitalize()} {b.capitalize()}",
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8),
)
names = st.lists(st.one_of(han, latin), min_size=6, max_size=6, unique=True)

_pools = iter(range(1, 10_000))

#: Every text the notices can print whoever reads them: the core's and the truckers cohort's
#: templates and sources (event titles, rules, reasons).
_PRINTED_WORDS = "\n".join(
    path.read_text("utf-8")
    for package in (mutualaid, mutualaid_truckers)
    for path in sorted(Path(package.__file__).parent.rglob("*"))
    if path.suffix in (".py", ".j2")
)


def _drive(app, truckers_pool, make_driver, chosen: list[str], model: str) -> tuple[str, dict[int, tuple[str, str]]]:
    key = f"privacy-{next(_pools)}"
    payments = {"model": model, "low_balance": "5"} if model == "prepaid" else {"model": model}
    app.create_pool(truckers_pool(key=key, operator="Operator", payments=payments))
    people = {}
    for n, name in enumerate(chosen, 1):
        member = app.join(key, **{**make_driver(n), "name": name})
        people[member.id] = (name, app.member(key, member.id, reveal=True).id_number)  # stored encrypted
        if model == "prepaid" and n != 3:
            app.top_up(key, member.id, "500000", on="2026-10-01")
    ids = list(people)
    approved = app.file_claim(
        key, ids[0], event_kind="accidental_death", event_date="2026-10-20", filed_on="2026-10-25"
    )
    app.approve_claim(approved.id)
    rejected = app.file_claim(
        key,
        ids[1],
        event_kind="accidental_disability",
        event_date="2026-10-21",
        filed_on="2026-10-26",
        details={"disability_grade": "9"},
    )
    app.reject_claim(rejected.id, "not an accident")
    app.share(key, "2026-11")  # prepaid: member 3 has no balance and is frozen
    if model == "prepaid":
        app.top_up(key, ids[2], "100", on="2026-11-20")  # ... and unfrozen
    app.exit_member(key, ids[4], on="2026-11-20")
    return key, people


def _scan(text: str, people: dict[int, tuple[str, str]], reader: int | None, where: str) -> None:
    for member_id, (name, id_number) in people.items():
        if member_id == reader:
            continue
        assert name not in text, f"{where}: the name of member #{member_id} ({name}) is shown"
        assert id_number not in text, f"{where}: the ID number of member #{member_id} is shown"
        assert id_number[:14] not in text, f"{where}: most of the ID number of member #{member_id} is shown"


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chosen=names, model=st.sampled_from(["postpaid", "prepaid"]))
def test_no_notice_shows_another_members_name_or_id_number(
    app, truckers_pool, make_driver, tmp_path_factory, chosen, model
):
    # A name inside another name would be found in its owner's own notice; drawn again instead. So
    # is a "name" that is a word the notices print anyway (意外身故 is an event's title).
    assume(not any(a != b and a in b for a in chosen for b in chosen))
    assume(not any(name in _PRINTED_WORDS for name in chosen))
    key, people = _drive(app, truckers_pool, make_driver, chosen, model)
    kinds = all_kinds(app.plugins)
    rendered = 0
    for kind, spec in kinds.items():
        for locale in ("zh-CN", "en"):
            out: Path = tmp_path_factory.mktemp(kind)
            try:
                result = app.render_notices(
                    key, kind, out, period="2026-11", since="2026-01-01", locale=locale, formats=("text", "html")
                )
            except (StateError, NotFoundError):  # a kind this pool cannot have (low balance in a postpaid
                continue  # pool, ...), or nothing of it in this period (run-voided: the run stands)
            for path in result.paths:
                text = path.read_text("utf-8")
                rendered += 1
                if spec.public:
                    _scan(text, people, None, f"{kind} {path.name}")
                    continue
                reader = _reader(app, key, kind, path)
                _scan(text, people, reader, f"{kind} {path.name}")
    assert rendered >= 20  # statements, welcomes, a public notice, decisions, and each event's notice


def _reader(app, key: str, kind: str, path: Path) -> int:
    """The member a notice file is addressed to: its number, or for a decision letter its claimant."""
    stem = path.name.rsplit(".", 1)[0]
    if stem.startswith("decision-claim-"):
        claim = int(stem.removeprefix("decision-claim-"))
        return next(c.member_id for c in app.claims(key) if c.id == claim)
    return int(stem.rsplit("-", 1)[1])


@pytest.mark.parametrize("kind", ["public-notice"])
def test_a_public_notice_masks_every_claimant(app, truckers_pool, make_driver, tmp_path, kind):
    key, people = _drive(
        app,
        truckers_pool,
        make_driver,
        ["欧阳娜娜", "司马相如", "张三丰", "Ada Lovelace", "李四光", "王五"],
        "postpaid",
    )
    result = app.render_notices(key, kind, tmp_path / "out", period="2026-11", formats=("text", "html"))
    text = "".join(p.read_text("utf-8") for p in result.paths)
    assert "欧**" in text  # the claimant, masked
    _scan(text, people, None, kind)
