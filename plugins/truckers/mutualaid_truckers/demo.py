"""``mutualaid demo``: a truckers pool end to end on a fresh SQLite file.

About 1,000 synthetic drivers apply (some are ineligible and reported with their reasons), a
driver dies in a road accident and another is disabled (grade 3), one sharing period is run, every
member's statement is rendered, and the totals are proved to reconcile from the database itself.
Everything uses the public API, as an operator's own script would.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import click

from mutualaid import MutualAid, Plugins, ValidationError, format_minor, hookimpl, make_resident_id

#: Where mutualaid finds the key members' ID numbers are encrypted under (documented in docs/privacy.md).
KEY_FILE_ENV = "MUTUALAID_KEY_FILE"

__all__ = ["demo_command", "register_commands", "run_demo"]

POOL_TOML = """\
# A truckers' mutual-aid pool, written by 'mutualaid demo'.
key = "demo-truckers"
name = "江苏卡友互助（演示）"
cohort = "truckers"
currency = "CNY"
timezone = "Asia/Shanghai"
locale = "zh-CN"
operator = "江苏卡友之家（演示）"

[sharing]
calendar = "monthly"          # notice on the 7th, deduction on the 14th
management_fee_rate = "0.08"  # 8% of the aid amount
rounding = "round-up"         # shares rounded up to the fen, the excess carried as surplus

[settings]                    # the truckers cohort's own rules (see 'mutualaid cohorts show truckers')
min_age = 18
max_age = 60
accepted_licence_classes = ["A1", "A2", "B1", "B2"]
accidental_death_benefit = 300000
disability_base_benefit = 300000
illness_waiting_days = 90
"""

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欢阳建国志勇海峰亮成东"
PERIOD = "2026-11"
#: The file that marks a directory as the demo's own, so that a later run may replace it.
MARKER = ".mutualaid-demo"


def _drivers(count: int, seed: int) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        # Most applicants are eligible; about one in eight is not, for a reason the cohort reports.
        age = rng.randint(22, 58)
        licence_class = rng.choice(["A2", "A2", "B2", "B2", "B2", "A1", "B1"])
        expires = date(2027 + rng.randint(0, 6), rng.randint(1, 12), 1)
        proof = f"ETC-{rng.randint(10**7, 10**8 - 1)}"
        flaw = rng.random()
        if flaw < 0.04:
            age = rng.choice([16, 17, 61, 63, 66])
        elif flaw < 0.07:
            licence_class = rng.choice(["C1", "C2"])
        elif flaw < 0.10:
            expires = date(2026, rng.randint(1, 8), 1)
        elif flaw < 0.125:
            proof = ""
        joined = date(2026, 8, 1) + timedelta(days=rng.randint(0, 90))
        born = date(joined.year - age, rng.randint(1, 12), rng.randint(1, 28))
        if born > joined.replace(year=joined.year - age):
            born = born.replace(year=born.year - 1) if age < 61 else born
        rows.append(
            {
                "id_number": make_resident_id(born, n % 1000, region=f"32{(n // 1000) % 100:02d}01"),
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else ""),
                "birth_date": born.isoformat(),
                "joined_on": joined.isoformat(),
                "licence_class": licence_class,
                "licence_number": f"32{rng.randint(10**9, 10**10 - 1)}",
                "licence_expires": expires.isoformat(),
                "driving_proof": proof,
            }
        )
    return rows


def run_demo(
    directory: Path,
    *,
    count: int = 1000,
    seed: int = 2026,
    plugins: Plugins | None = None,
    echo: Callable[[str], None] = print,
) -> bool:
    """Run the demo in ``directory``; return whether the totals reconcile.

    The directory must be new, empty, or an earlier demo's (it holds the ``MARKER`` file), which
    is replaced; any other directory is refused rather than deleted.
    """
    if directory.exists():
        if not directory.is_dir():
            raise ValidationError([f"{directory} is a file; give the demo a directory of its own with --dir"])
        if any(directory.iterdir()) and not (directory / MARKER).is_file():
            raise ValidationError(
                [
                    f"{directory} is not empty and was not made by 'mutualaid demo', so it is left alone; "
                    "give the demo a new directory with --dir"
                ]
            )
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("made by 'mutualaid demo'; the next demo run replaces this directory\n")
    database = directory / "demo.db"
    # The demo's synthetic ID numbers are encrypted under a key of its own, kept beside its database,
    # so that trying the demo leaves no key in the operator's home directory.
    key_file = os.environ.get(KEY_FILE_ENV)
    os.environ[KEY_FILE_ENV] = str(directory / "mutualaid.key")
    app = MutualAid(f"sqlite:///{database}", plugins=plugins)
    try:
        return _run(app, directory, count, seed, echo)
    finally:
        app.close()
        if key_file is None:
            os.environ.pop(KEY_FILE_ENV, None)
        else:
            os.environ[KEY_FILE_ENV] = key_file


def _run(app: MutualAid, directory: Path, count: int, seed: int, echo: Callable[[str], None]) -> bool:
    echo(f"== mutualaid demo: a truckers' pool on {directory / 'demo.db'}")
    pool_file = directory / "pool.toml"
    pool_file.write_text(POOL_TOML, encoding="utf-8")
    pool = app.create_pool(pool_file)
    key = pool.key
    echo(f"1. created pool {key!r} from {pool_file}: cohort truckers, monthly sharing, fee 8%, round-up")

    rows = _drivers(count, seed)
    csv_file = directory / "drivers.csv"
    with csv_file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = app.import_members(key, csv_file, skip_invalid=True, rejects_path=directory / "drivers.rejects.csv")
    echo(
        f"2. {len(rows):,} drivers applied: {result.imported:,} joined, {result.rejected:,} were not eligible "
        f"(each with its reasons in {result.rejects_path}):"
    )
    reasons: Counter[str] = Counter()
    for problem in result.problems:
        reasons.update(_reason_kinds(problem))
    for reason, n in reasons.most_common():
        echo(f"     {n:4d} x {reason}")
    first_problem = result.problems[0] if result.problems else ""
    if first_problem:
        echo(f"   e.g. {first_problem}")

    members = app.members(key, limit=3)
    death = app.file_claim(
        key,
        members[0].id,
        event_kind="accidental_death",
        event_date="2026-10-28",
        filed_on="2026-11-02",
        description="G2 京沪高速追尾事故，驾驶员当场身亡",
    )
    _, decision = app.approve_claim(death.id)
    echo(
        f"3. claim #{death.id}: member #{members[0].id} {members[0].name}, accidental death -> approved "
        f"{decision.amount:,} CNY"
    )
    echo(f"     reason: {decision.reasons[0]}")
    disability = app.file_claim(
        key,
        members[1].id,
        event_kind="accidental_disability",
        event_date="2026-10-30",
        filed_on="2026-11-03",
        details={"disability_grade": "3"},
        description="装卸货物时被挤压，伤残鉴定三级",
    )
    _, decision = app.approve_claim(disability.id)
    echo(
        f"   claim #{disability.id}: member #{members[1].id} {members[1].name}, grade-3 disability -> approved "
        f"{decision.amount:,} CNY"
    )
    echo(f"     reason: {decision.reasons[0]}")
    drunk = app.file_claim(
        key,
        members[2].id,
        event_kind="accidental_disability",
        event_date="2026-10-31",
        filed_on="2026-11-04",
        details={"disability_grade": "8", "circumstances": "drunk_driving"},
    )
    _, decision = app.review_claim(drunk.id)
    app.reject_claim(drunk.id, "; ".join(decision.reasons))
    echo(
        f"   claim #{drunk.id}: member #{members[2].id}, disability while drunk driving -> rejected: {decision.reasons[0]}"
    )

    run = app.share(key, PERIOD)
    echo(f"4. shared period {run.period} among the {run.members:,} members covered at 00:00 on {run.notice_date}:")
    for label, value in run.lines():
        echo(f"     {label:<20} {value}")
    try:
        app.share(key, PERIOD)
    except Exception as exc:  # the refusal is the point: show it
        echo(f"   running {PERIOD} again is refused: {exc}")

    # Each rendering owns its directory (it replaces the whole set at once): one directory per kind.
    notices = directory / "notices" / "statements"
    welcomes = directory / "notices" / "welcome"
    rendered = app.render_statements(key, PERIOD, notices)
    welcome = app.render_welcome(key, welcomes, members=[members[2].id])
    echo(
        f"5. rendered {rendered.count:,} statements (zh-CN) into {notices}/ and {welcome.count} welcome notice "
        f"into {welcomes}/"
    )
    sample = sorted(notices.glob(f"statement-{PERIOD}-*.txt"))[0]
    echo(f"   {sample.name}:")
    for line in sample.read_text(encoding="utf-8").splitlines():
        echo(f"   | {line}")

    check = app.reconcile(key, PERIOD)
    fmt = lambda m: format_minor(int(m), "CNY")  # noqa: E731
    ok = check.ok and check.charge_rows == rendered.count
    echo("6. reconciliation, from the database:")
    echo(f"     {check.charge_rows:,} charge rows sum to {fmt(check.charge_total_minor)} CNY")
    echo(
        f"     = aid {fmt(run.aid_minor)} + fee {fmt(run.fee_minor)} - surplus in {fmt(run.surplus_in_minor)} "
        f"+ surplus out {fmt(run.surplus_out_minor)}"
    )
    echo(
        f"     = {run.members:,} members x {fmt(run.share_minor)} CNY; one statement per charged member: {rendered.count:,}"
    )
    echo(f"   totals reconcile: {'YES' if ok else 'NO'}")
    chain = app.verify_ledger(key)
    books = app.reconcile_books(key)
    echo(
        f"7. ledger: {chain.entries} entr{'y' if chain.entries == 1 else 'ies'}, hash chain "
        f"{'intact' if chain.ok else 'BROKEN'}; books {'balance to the fen' if books.ok else 'DO NOT balance'} "
        f"(check again with 'mutualaid ledger verify {key}' and 'mutualaid ledger balance {key}')"
    )
    return ok and chain.ok and books.ok


_REASON_KINDS = (
    ("age ", "age outside 18-60 on the joining day"),
    ("licence class", "licence class not accepted"),
    ("driving licence is valid only until", "driving licence expired"),
    ("proof of active driving", "no proof of active driving"),
)


def _reason_kinds(problem: str) -> list[str]:
    kinds = [label for needle, label in _REASON_KINDS if needle in problem]
    return kinds or [problem.split(": ", 1)[-1]]


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Where to put the demo's database, pool file, CSV and notices: a new or empty directory, or an "
    "earlier demo's (which is replaced).",
)
@click.option(
    "--members",
    "count",
    type=click.IntRange(min=50, max=100_000),
    default=1000,
    show_default=True,
    help="How many synthetic drivers apply.",
)
@click.option("--seed", type=int, default=2026, show_default=True, help="Random seed of the synthetic drivers.")
@click.pass_obj
def demo_command(state: object, directory: Path, count: int, seed: int) -> None:
    """Run a truckers' pool end to end on a fresh SQLite file and prove that the totals reconcile."""
    plugins = getattr(state, "loaded_plugins", None)
    ok = run_demo(directory, count=count, seed=seed, plugins=plugins() if plugins else None, echo=click.echo)
    if not ok:
        raise click.ClickException("the demo's totals do not reconcile")


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``mutualaid demo``."""
    cli.add_command(demo_command)
