"""Whole periods of disease societies on a real database (SQLite, and PostgreSQL when configured):
pool file -> members join and are imported -> claims filed, approved and rejected (with refunds)
-> sharing runs -> statements and welcome notices. Amounts are checked to the fen."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from mutualaid import IneligibleError, StateError
from mutualaid.privacy import mask_id_number
from mutualaid.testing import resident_id

D = Decimal


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def person(born: str, n: int, name: str) -> dict[str, str]:
    return {"id_number": resident_id(date.fromisoformat(born), n), "name": name, "birth_date": born}


def patient_attrs(code: str = "C50.9", diagnosed: str = "2023-05-01", yes: str = "") -> dict[str, str]:
    return {"diagnosis_code": code, "diagnosed_on": diagnosed, "declared_yes": yes, "declaration_confirmed": "true"}


def test_a_cancer_patients_society_through_two_periods(app, invoke, pool_file, tmp_path):
    pool = "cancer-friends"
    created = invoke("pool", "create", str(pool_file("cancer-patients")))
    assert created.exit_code == 0, created.output

    # -- members: two join on the command line's API, four apply in a CSV (two are refused) ---------
    zhang = app.join(pool, **person("1990-03-15", 1, "张一"), joined_on="2024-01-10", attributes=patient_attrs())
    wang = app.join(pool, **person("1983-02-01", 2, "王二"), joined_on="2024-01-10", attributes=patient_attrs("C34.1"))
    assert (zhang.waiting_until, wang.waiting_until) == (
        date(2024, 7, 8),
        date(2025, 1, 9),
    )  # 180 / 365 days (2024 is a leap year)
    rows = [
        {**person("1995-05-05", 3, "李三"), "joined_on": "2024-02-01", **patient_attrs("C18.7")},
        {**person("1988-08-08", 4, "赵四"), "joined_on": "2024-02-01", **patient_attrs("C73", yes="chronic_condition")},
        {**person("1990-09-09", 5, "钱五"), "joined_on": "2024-02-01", **patient_attrs("D05.1")},
        {**person("1991-10-10", 6, "孙六"), "joined_on": "2024-02-01", **patient_attrs(yes="recurred_or_spread")},
    ]
    members_csv = write_csv(tmp_path / "members.csv", rows)
    imported = invoke("member", "import", pool, str(members_csv), "--skip-invalid", "--json")
    assert imported.exit_code == 0, imported.output
    assert (json.loads(imported.output)["imported"], json.loads(imported.output)["rejected"]) == (2, 2)
    rejects = (tmp_path / "members.rejects.csv").read_text(encoding="utf-8")
    assert "diagnosis D05.1 is not cancer (ICD-10 C00-C97)" in rejects
    assert "(recurred_or_spread) is yes, which excludes joining this society" in rejects
    li, zhao = (app.member(pool, resident_id(date(1995, 5, 5), 3)), app.member(pool, resident_id(date(1988, 8, 8), 4)))
    assert zhao.attributes["declared_yes"] == ["chronic_condition"]  # the answers are kept with the membership

    # A former member who left and joined again, and a newcomer still in observation.
    wu_id = person("1991-01-01", 7, "吴八")
    first = app.join(pool, **wu_id, joined_on="2024-01-10", attributes=patient_attrs())
    app.exit_member(pool, first.id, on="2025-01-01")
    wu = app.join(pool, **wu_id, joined_on="2025-06-01", attributes=patient_attrs())
    zhou = app.join(pool, **person("1992-01-01", 8, "周七"), joined_on="2026-03-01", attributes=patient_attrs())
    with pytest.raises(IneligibleError) as twice:
        app.join(pool, **wu_id, joined_on="2026-03-01", attributes=patient_attrs())
    assert twice.value.lines[1] == (
        f"this person (ID {mask_id_number(wu_id['id_number'])}) already holds live membership #{wu.id} in pool "
        "'cancer-friends'"
    )

    # -- claims of period 2026-03 ------------------------------------------------------------------
    c1 = app.file_claim(
        pool,
        zhang.id,
        event_kind="recurrence",
        event_date="2026-02-20",
        filed_on="2026-03-01",
        details={"diagnosis_code": "C50.9", "self_paid_costs": "45000"},
    )
    _, decision = app.approve_claim(c1.id)
    assert decision.amount == D("23333.33")  # year 2 of membership: 2/3 of 35,000, rounded down
    c2 = app.file_claim(
        pool,
        wang.id,
        event_kind="metastasis",
        event_date="2026-02-15",
        filed_on="2026-02-25",
        details={"diagnosis_code": "C78.0", "self_paid_costs": "130000"},
    )
    _, decision = app.approve_claim(c2.id)
    assert (decision.amount, decision.cap) == (D("66666.66"), D("66666.66"))  # 2/3 of the 100,000 cap
    c3 = app.file_claim(
        pool,
        li.id,
        event_kind="new_primary",
        event_date="2026-02-10",
        filed_on="2026-02-12",
        details={"diagnosis_code": "I21.0", "self_paid_costs": "80000"},
    )
    _, review = app.review_claim(c3.id)
    assert not review.payable and not review.refund_contributions
    with pytest.raises(StateError, match="diagnosis I21.0 is not a disease of this society"):
        app.approve_claim(c3.id)
    assert app.reject_claim(c3.id, "a heart attack is not an event of the society's disease").refund == D(0)

    shared = invoke("share", "run", pool, "--period", "2026-03", "--json")
    assert shared.exit_code == 0, shared.output
    run = app.sharing_run(pool, "2026-03")
    # aid 89,999.99 + fee 8% (7,200.00) shared by the 6 members covered at 00:00 on 2026-03-07.
    assert (run.members, run.claims) == (6, 2)
    assert (run.amount(run.aid_minor), run.amount(run.fee_minor), run.amount(run.need_minor)) == (
        D("89999.99"),
        D("7200.00"),
        D("97199.99"),
    )
    assert run.amount(run.share_minor) == D("16200.00")
    assert run.amount(run.surplus_out_minor) == D("0.01")
    assert app.reconcile(pool, "2026-03").ok

    # -- refunds: a claim in the observation period, and a former member's claim -------------------
    # Only contributions paid are refunded: 周七 and 吴八 paid their 2026-03 shares.
    paid = tmp_path / "paid-2026-03.csv"
    paid.write_text(
        f"member_id,period,result,date\n{zhou.id},2026-03,paid,2026-03-15\n{wu.id},2026-03,paid,2026-03-15\n",
        encoding="utf-8",
    )
    app.import_payments(pool, paid)
    c4 = app.file_claim(
        pool,
        zhou.id,
        event_kind="recurrence",
        event_date="2026-04-01",
        filed_on="2026-04-02",
        details={"diagnosis_code": "C50.9", "self_paid_costs": "30000"},
    )
    _, review = app.review_claim(c4.id)
    assert review.refund_contributions
    assert (
        review.reasons[0] == "diagnosed on 2026-04-01, inside the waiting (observation) period that ends on 2026-08-28"
    )
    rejection = app.reject_claim(c4.id, "diagnosed in the observation period; your contributions are refunded")
    assert rejection.refund == D("16200.00")  # what 周七 paid in 2026-03
    # and the illness in the observation period ends the membership (an exit, not a death)
    assert rejection.member_ended and rejection.decision.ends_as == "exited"
    assert (rejection.member.status, rejection.member.ended_on) == ("exited", date(2026, 4, 1))
    c5 = app.file_claim(
        pool,
        wu.id,
        event_kind="recurrence",
        event_date="2026-04-03",
        filed_on="2026-04-05",
        details={"diagnosis_code": "C50.9", "self_paid_costs": "30000"},
    )
    _, review = app.review_claim(c5.id)
    assert review.refund_contributions
    assert review.reasons[0] == (
        f"the member was a member of this society before (member #{first.id}, joined 2024-01-10, exited on "
        "2025-01-01) and joined again on 2025-06-01"
    )
    assert app.reject_claim(c5.id, "a former member of this society").refund == D("16200.00")

    # -- period 2026-08: 张一 in year 3 is paid in full ---------------------------------------------------
    c6 = app.file_claim(
        pool,
        zhang.id,
        event_kind="metastasis",
        event_date="2026-07-20",
        filed_on="2026-07-25",
        details={"diagnosis_code": "C79.5", "self_paid_costs": "20000"},
    )
    assert app.approve_claim(c6.id)[1].amount == D("10000.00")
    app.share(pool, "2026-08")
    run = app.sharing_run(pool, "2026-08")
    # 10,000 + 800 fee - 0.01 surplus, among 5 members (周七 left), rounded up: 2,159.998 -> 2,160.00.
    assert (run.members, run.amount(run.need_minor), run.amount(run.share_minor)) == (5, D("10799.99"), D("2160.00"))
    assert app.reconcile(pool, "2026-08").ok
    statuses = {c.id: c.status for c in app.claims(pool)}
    assert statuses == {
        c1.id: "shared",
        c2.id: "shared",
        c3.id: "rejected",
        c4.id: "rejected",
        c5.id: "rejected",
        c6.id: "shared",
    }

    # -- notices -------------------------------------------------------------------------------------
    out = tmp_path / "notices"
    rendered = invoke("notice", "render", pool, "--kind", "statement", "--period", "2026-03", "--out", str(out))
    assert rendered.exit_code == 0, rendered.output
    assert rendered.output.strip() == f"rendered 6 statement notices into {out}"
    statement = (out / f"statement-2026-03-{zhao.id}.txt").read_text(encoding="utf-8")
    assert "本期您的分摊金额：16,200.00 CNY" in statement
    assert f"案例 #{c1.id}  张*  复发（2026-02-20）  互助金 23,333.33 CNY" in statement
    assert f"案例 #{c2.id}  王*  转移（2026-02-15）  互助金 66,666.66 CNY" in statement
    assert "张一" not in statement and "王二" not in statement
    assert not (out / f"statement-2026-03-{first.id}.txt").exists()  # the ended membership did not share
    english = invoke(
        "notice", "render", pool, "--kind", "statement", "--period", "2026-08", "--out", str(out), "--locale", "en"
    )
    assert english.exit_code == 0, english.output
    text = (out / f"statement-2026-08-{zhang.id}.txt").read_text(encoding="utf-8")
    assert "Your share this period: 2,160.00 CNY" in text
    assert f"case #{c6.id}  张*  Metastasis (2026-07-20)  aid 10,000.00 CNY" in text
    assert "Shared by you in 2026 so far: 18,360.00 CNY" in text


def test_welcome_notices_state_the_societys_rules(app, invoke, pool_file, tmp_path):
    pool = "cancer-friends"
    assert invoke("pool", "create", str(pool_file("cancer-patients"))).exit_code == 0
    member = app.join(pool, **person("1983-03-15", 1, "陈九"), joined_on="2026-01-10", attributes=patient_attrs())
    out = tmp_path / "welcome"
    for locale in ("zh-CN", "en"):
        result = invoke(
            "notice",
            "render",
            pool,
            "--kind",
            "welcome",
            "--member",
            str(member.id),
            "--out",
            str(out / locale),
            "--locale",
            locale,
        )
        assert result.exit_code == 0, result.output
    zh = (out / "zh-CN" / f"welcome-{member.id}.txt").read_text(encoding="utf-8")
    en = (out / "en" / f"welcome-{member.id}.txt").read_text(encoding="utf-8")
    assert member.waiting_until == date(2027, 1, 10)  # 42 on joining: a year of observation
    assert "  1. 加入条件：已确诊癌症（ICD-10 C00-C97）、加入当日出生满 30 天、未满 45 周岁并通过健康告知的患者。" in zh
    assert "观察期：加入时未满 40 周岁的会员 180 天，40 周岁及以上的会员 365 天" in zh
    assert "第 1 年给付 1/3，第 2 年给付 2/3，第 3 年起全额给付" in zh
    assert "Who may join: people with a confirmed diagnosis of cancer (ICD-10 C00-C97)" in en
    assert "A member whose claim is refused in one of these cases gets back everything they contributed" in en
    assert "One membership per person" in en


def test_a_critical_illness_society_period(app, invoke, pool_file, tmp_path):
    pool = "healthy-critical-illness"
    assert invoke("pool", "create", str(pool_file("critical-illness"))).exit_code == 0
    healthy = {"declaration_confirmed": "true"}
    young = app.join(
        pool,
        **person("1990-06-01", 1, "刘一"),
        joined_on="2026-01-10",
        attributes={**healthy, "declared_yes": "smoker"},
    )
    older = app.join(pool, **person("1980-06-01", 2, "刘二"), joined_on="2026-01-10", attributes=healthy)
    early = app.join(pool, **person("1995-06-01", 3, "刘三"), joined_on="2026-01-10", attributes=healthy)
    with pytest.raises(IneligibleError) as refused:
        app.join(
            pool,
            **person("1996-06-01", 4, "刘四"),
            joined_on="2026-01-10",
            attributes={"declared_yes": "abnormal_results"},
        )
    assert len(refused.value.lines) >= 2
    assert young.waiting_until == date(2026, 4, 10)

    def claim(member, when, filed, **details):
        return app.file_claim(
            pool, member.id, event_kind="critical_illness", event_date=when, filed_on=filed, details=details
        )

    paid_young = claim(young, "2026-04-11", "2026-04-20", illness="malignant_tumour", diagnosis_code="C34.1")
    paid_older = claim(older, "2026-05-03", "2026-05-05", illness="acute_myocardial_infarction")
    assert app.approve_claim(paid_young.id)[1].amount == D("300000.00")
    assert app.approve_claim(paid_older.id)[1].amount == D("100000.00")  # 45 at the diagnosis
    # Sharing runs twice a month: period 2026-05a (notice on the 7th) funds both claims.
    app.share(pool, "2026-05a")
    run = app.sharing_run(pool, "2026-05a")
    assert (run.members, run.amount(run.aid_minor), run.amount(run.fee_minor)) == (3, D("400000.00"), D("32000.00"))
    assert run.amount(run.share_minor) == D("144000.00")
    # An illness on the last day of the waiting period is refused, and what the member paid is refunded
    # (their share of 2026-05a, reported paid).
    paid = tmp_path / "paid-2026-05a.csv"
    paid.write_text(f"member_id,period,result,date\n{early.id},2026-05a,paid,2026-05-15\n", encoding="utf-8")
    app.import_payments(pool, paid)
    late = claim(early, "2026-04-10", "2026-05-10", illness="stroke_sequelae")
    with pytest.raises(StateError, match="inside the waiting \\(observation\\) period that ends on 2026-04-10"):
        app.approve_claim(late.id)
    assert app.reject_claim(late.id, "diagnosed in the waiting period").refund == D("144000.00")
    # A second critical illness of the same member is not paid.
    again = claim(young, "2026-06-01", "2026-06-02", illness="deep_coma")
    _, decision = app.review_claim(again.id)
    assert not decision.payable and not decision.refund_contributions
    assert decision.reasons[0].startswith("the member was already paid for a critical illness")


def test_a_non_disclosure_found_at_review_uses_the_stored_answers(app, pool_file, invoke):
    pool = "healthy-critical-illness"
    assert invoke("pool", "create", str(pool_file("critical-illness"))).exit_code == 0
    declared = app.join(
        pool,
        **person("1990-06-01", 1, "马一"),
        joined_on="2026-01-10",
        attributes={"declared_yes": "chronic_condition", "declaration_confirmed": "yes"},
    )
    silent = app.join(
        pool, **person("1990-06-02", 2, "马二"), joined_on="2026-01-10", attributes={"declaration_confirmed": "yes"}
    )
    assert app.member(pool, declared.id).attributes == {
        "declared_yes": ["chronic_condition"],
        "declaration_confirmed": True,
    }
    found = {"illness": "stroke_sequelae", "pre_existing_conditions": "chronic_condition"}
    ok = app.file_claim(
        pool, declared.id, event_kind="critical_illness", event_date="2026-06-01", filed_on="2026-06-05", details=found
    )
    hidden = app.file_claim(
        pool, silent.id, event_kind="critical_illness", event_date="2026-06-01", filed_on="2026-06-05", details=found
    )
    assert app.approve_claim(ok.id)[1].amount == D("300000.00")
    _, decision = app.review_claim(hidden.id)
    assert decision.refund_contributions
    assert decision.reasons[0].startswith("non-disclosure: the investigation found the answer to")
    # Answers changed after filing do not change the decision: the claim keeps those of its filing day.
    app.update_member(pool, silent.id, {"declared_yes": "chronic_condition"})
    assert app.review_claim(hidden.id)[1].reasons == decision.reasons
    assert app.reject_claim(hidden.id, "non-disclosure").refund == D(0)  # nothing shared yet


def test_the_liver_society_from_its_toml_alone_on_the_command_line(invoke, examples, tmp_path):
    """As a newcomer would: the example file as shipped, and nothing but commands."""
    pool = "liver-friends"
    created = invoke("pool", "create", str(examples / "liver-patients.toml"))
    assert created.exit_code == 0, created.output
    assert created.output.startswith("created pool 'liver-friends': 肝友互助社 (cohort disease-society")

    def join(born: str, n: int, name: str, *attrs: str):
        args = ["member", "join", pool, "--id-number", resident_id(date.fromisoformat(born), n), "--name", name]
        args += ["--birth-date", born, "--joined-on", "2024-01-10", "--json"]
        for attr in attrs:
            args += ["--attr", attr]
        return invoke(*args)

    first = join(
        "1985-04-12",
        1,
        "王建国",
        "diagnosis_code=b181",
        "diagnosed_on=2019-03-01",
        "declared_yes=antiviral_treatment",
        "declaration_confirmed=true",
    )
    assert first.exit_code == 0, first.output
    member = json.loads(first.output)
    assert member["attributes"]["diagnosis_code"] == "B18.1" and member["waiting_until"] == "2024-07-08"
    second = join(
        "1980-02-02", 2, "刘德明", "diagnosis_code=K74.6", "diagnosed_on=2021-06-01", "declaration_confirmed=true"
    )
    assert json.loads(second.output)["waiting_until"] == "2025-01-09"  # 43 on joining: 365 days
    refused = join(
        "1990-01-01",
        3,
        "张酒",
        "diagnosis_code=K70.3",
        "diagnosed_on=2022-01-01",
        "declared_yes=heavy_drinking",
        "declaration_confirmed=true",
    )
    assert refused.exit_code == 1
    assert "(heavy_drinking) is yes, which excludes joining this society" in refused.output
    wrong = join(
        "1990-01-01", 4, "李肺", "diagnosis_code=C34.1", "diagnosed_on=2022-01-01", "declaration_confirmed=true"
    )
    assert "diagnosis C34.1 is not chronic liver disease (ICD-10 B18, K70-K77)" in wrong.output
    rows = [{**person("1992-07-07", 5, "赵肝"), "joined_on": "2024-03-01", **patient_attrs("B18.1", "2020-01-01")}]
    imported = invoke("member", "import", pool, str(write_csv(tmp_path / "more.csv", rows)))
    assert imported.exit_code == 0 and "imported 1 members" in imported.output

    filed = invoke(
        "claim",
        "file",
        pool,
        "1",
        "--kind",
        "progression",
        "--date",
        "2026-03-01",
        "--filed-on",
        "2026-03-20",
        "--detail",
        "diagnosis_code=C22.0",
        "--detail",
        "self_paid_costs=65000",
    )
    assert filed.exit_code == 0, filed.output
    review = invoke("claim", "review", "1")
    assert "decision: payable: benefit 33,333.33 CNY (cap 33,333.33)" in review.output
    assert "year 2 of membership (counted from 2024-07-09): 2/3 of the full benefit of 50,000.00 CNY" in review.output
    assert invoke("claim", "approve", "1").exit_code == 0
    # Reported more than 6 months after the diagnosis: refused, and this pool does not refund it.
    invoke(
        "claim",
        "file",
        pool,
        "2",
        "--kind",
        "complication",
        "--date",
        "2025-06-01",
        "--filed-on",
        "2026-03-01",
        "--detail",
        "diagnosis_code=I85.0",
        "--detail",
        "self_paid_costs=20000",
    )
    late = invoke("claim", "review", "2", "--json")
    decision = json.loads(late.output)["decision"]
    assert decision["payable"] is False
    assert decision["reasons"] == [
        "reported on 2026-03-01, more than 6 months after the diagnosis on 2025-06-01 (the last day to report it was "
        "2025-12-01)",
        "no refund: this pool refunds in none of these cases",
    ]
    rejected = invoke("claim", "reject", "2", "--reason", "reported too late", "--json")
    assert rejected.exit_code == 0, rejected.output
    assert json.loads(rejected.output)["claim"]["status"] == "rejected"
    # A claim for a disease the society does not cover.
    invoke(
        "claim",
        "file",
        pool,
        "3",
        "--kind",
        "progression",
        "--date",
        "2026-02-01",
        "--filed-on",
        "2026-02-03",
        "--detail",
        "diagnosis_code=I10",
        "--detail",
        "self_paid_costs=9000",
    )
    refused_claim = invoke("claim", "approve", "3")
    assert refused_claim.exit_code == 1
    assert "diagnosis I10 is not a disease of this society (ICD-10 B18, K70-K77, C22, I85)" in refused_claim.output

    shared = invoke("share", "run", pool, "--period", "2026-04", "--json")
    assert shared.exit_code == 0, shared.output
    run = json.loads(shared.output)
    # 33,333.33 + 6% (2,000.00), shared exactly by 3 members: 11,777.77 each and one fen more for two.
    assert (run["members"], run["aid"], run["fee"], run["need"], run["charged"]) == (
        3,
        "33333.33",
        "2000.00",
        "35333.33",
        "35333.33",
    )
    out = tmp_path / "out"
    statements = invoke("notice", "render", pool, "--kind", "statement", "--period", "2026-04", "--out", str(out))
    assert statements.exit_code == 0 and "rendered 3 statement notices" in statements.output
    texts = [p.read_text(encoding="utf-8") for p in sorted(out.glob("statement-2026-04-*.txt"))]
    charges = sorted(t.split("本期您的分摊金额：", 1)[1].split(" CNY", 1)[0] for t in texts)
    assert charges == ["11,777.77", "11,777.78", "11,777.78"]
    assert all("案例 #1  王**  病情进展（2026-03-01）  互助金 33,333.33 CNY" in t for t in texts)
    welcome = invoke("notice", "render", pool, "--kind", "welcome", "--member", "1", "--out", str(out))
    assert welcome.exit_code == 0
    text = (out / "welcome-1.txt").read_text(encoding="utf-8")
    assert (
        "加入条件：已确诊慢性肝病（ICD-10 B18, K70-K77）、加入当日年满 18 周岁、未满 56 周岁并通过健康告知的患者。"
        in text
    )
    assert (
        "保障范围：本社疾病的病情进展、复发、严重并发症；申请互助的诊断须属于 ICD-10 B18, K70-K77, C22, I85。" in text
    )
    assert "每次申请最多 50,000.00 元，每位成员累计最多 150,000.00 元" in text


def test_a_diagnosis_while_frozen_in_a_prepaid_society(app, pool_file):
    """A prepaid member whose balance cannot cover a share is frozen from the notice day; an illness
    diagnosed while frozen is refused (with a refund), and cover returns with a top-up."""
    pool = "healthy-critical-illness"
    path = pool_file(
        "critical-illness", {"[settings]\n": '[payments]\nmodel = "prepaid"\nlow_balance = 5\n\n[settings]\n'}
    )
    app.create_pool(path)
    healthy = {"declaration_confirmed": "true"}
    rich = [
        app.join(pool, **person(born, n, name), joined_on="2025-01-10", attributes=healthy)
        for born, n, name in (("1990-06-01", 1, "钱一"), ("1991-06-01", 2, "钱二"))
    ]
    broke = app.join(pool, **person("1992-06-01", 3, "钱三"), joined_on="2025-01-10", attributes=healthy)
    for member in rich:
        app.top_up(pool, member.id, "500000", on="2026-02-01")
    first = app.file_claim(
        pool,
        rich[0].id,
        event_kind="critical_illness",
        event_date="2026-02-01",
        filed_on="2026-02-03",
        details={"illness": "malignant_tumour"},
    )
    app.approve_claim(first.id)
    app.share(pool, "2026-03a")  # notice on 2026-03-07: 钱三 cannot cover the share and is frozen
    run = app.sharing_run(pool, "2026-03a")
    assert (run.members, run.amount(run.share_minor)) == (2, D("162000.00"))
    assert app.member(pool, broke.id).status == "frozen"

    def claim(when: str, filed: str):
        return app.file_claim(
            pool,
            broke.id,
            event_kind="critical_illness",
            event_date=when,
            filed_on=filed,
            details={"illness": "stroke_sequelae"},
        )

    frozen = claim("2026-03-20", "2026-03-25")
    _, decision = app.review_claim(frozen.id)
    assert not decision.payable and decision.refund_contributions
    assert decision.reasons[0] == "diagnosed on 2026-03-20, while the member's rights were suspended (frozen)"
    assert app.reject_claim(frozen.id, "diagnosed while frozen").refund == D(0)  # 钱三 was never charged

    app.top_up(pool, broke.id, "1000", on="2026-04-01")
    assert app.member(pool, broke.id).status == "active"
    thawed = claim("2026-04-01", "2026-04-02")
    assert app.approve_claim(thawed.id)[1].amount == D("300000.00")
