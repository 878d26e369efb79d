"""The sign each account's balance must keep, and the check that an entry keeps it.

Balances are debit-positive. The accounts an operator may adjust (``ADJUSTABLE_ACCOUNTS``) hold
money that exists or is owed, so each has a side it may never cross:

=================  ====  ================================================================
``cash``           ≥ 0   money received: nothing can be paid out of money the pool does not hold
``sponsor_due``    ≥ 0   what the sponsor owes: it cannot pay in more than it owes
``aid_payable``    ≤ 0   benefits owed: no more can be paid out than was funded
``refunds_payable``≤ 0   refunds owed: no more can be given back than was refunded
``fee_income``     ≤ 0   the operator's fee: it cannot take more than it earned
=================  ====  ================================================================

``ledger adjust`` (and ``ledger reverse``) refuse an entry that would take one of them past
zero; ``ledger balance`` does not call books balanced while one is past zero (an investigation
cost, paid from the fee in cash, can take cash or the fee there). The other accounts move only
with the pool's records and may hold either sign by design: ``deficit`` and ``surplus`` carry a
period's shortfall or excess, ``members_due`` and ``member_balances`` follow charges, payments and
top-ups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..money import format_minor
from ..vocabulary import Account

__all__ = ["SIGNS", "overdrawn", "sign_problems", "why"]

#: +1: the balance never goes below 0; -1: never above 0 (never a debit balance).
SIGNS: dict[Account, int] = {
    Account.CASH: 1,
    Account.SPONSOR_DUE: 1,
    Account.AID_PAYABLE: -1,
    Account.REFUNDS_PAYABLE: -1,
    Account.FEE_INCOME: -1,
}

_WHY = {
    Account.CASH: "cash cannot go below 0: nothing is paid out of money the pool does not hold",
    Account.SPONSOR_DUE: "sponsor_due cannot go below 0: the sponsor cannot pay in more than it owes",
    Account.AID_PAYABLE: "aid_payable cannot go above 0: no more benefit is paid out than was funded",
    Account.REFUNDS_PAYABLE: "refunds_payable cannot go above 0: no more is given back than was refunded",
    Account.FEE_INCOME: "fee_income cannot go above 0: the operator cannot take more fee than it earned",
}


def _past_zero(account: Account, balance: int) -> bool:
    sign = SIGNS.get(account)
    return sign is not None and balance * sign < 0


def overdrawn(balances: Mapping[str, int]) -> dict[str, int]:
    """The accounts whose balance is past zero on the wrong side, with their balance."""
    return {a: b for a, b in balances.items() if a in SIGNS and _past_zero(Account(a), b)}


def why(account: str) -> str:
    """The rule an account's balance keeps, in words."""
    return _WHY[Account(account)]


def sign_problems(balances: Mapping[str, int], moves: Iterable[tuple[Account, int]], currency: str) -> list[str]:
    """One line per account an entry's lines (``moves``) would take past zero, from ``balances``:
    the account, its balance, the result and the rule. An account already past zero may still be
    moved back towards it."""
    after: dict[Account, int] = {}
    for account, amount in moves:
        after[account] = after.get(account, balances.get(account.value, 0)) + amount
    problems = []
    for account, result in after.items():
        before = balances.get(account.value, 0)
        if _past_zero(account, result) and (result - before) * SIGNS[account] < 0:
            problems.append(
                f"{account.value}: this entry would take its balance from {format_minor(before, currency)} to "
                f"{format_minor(result, currency)} {currency}; {_WHY[account]}. Nothing was posted"
            )
    return problems
