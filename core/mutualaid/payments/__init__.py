"""Paying the shares: postpaid payment results, the settlement of retry windows, prepaid top-ups
and balances.

How members pay is a pool setting (``[payments] model``): ``postpaid`` (the default; each share
is an amount due, its collection reported from a file, and a share whose collection failed and was
not paid in the retry window lapses its member) or ``prepaid`` (members keep a balance the runs
deduct from; a balance that cannot cover a share freezes the member until a top-up).

``postpaid`` (payment results, a period's shares), ``settlement`` (closing retry windows),
``prepaid`` (top-ups), ``balances`` (coverage, deductions, low balances, a member's balance),
``reversal`` (a top-up reversed), ``common`` and ``records``.
"""

from __future__ import annotations

from .balances import (
    after_deduction,
    balance,
    count_low_balances,
    covers,
    deduct,
    give_back,
    low_balance_condition,
    low_balance_members,
    open_balances,
)
from .postpaid import import_payments, list_payments
from .prepaid import import_top_ups, top_up
from .records import (
    BalanceRecord,
    Deduction,
    LowBalance,
    PaymentImport,
    PaymentStatus,
    Settlement,
    TopUpImport,
    TopUpLine,
    TopUpRecord,
)
from .reversal import TopUpReversalRecord, reverse_top_up
from .settlement import settle_payments

__all__ = [
    "BalanceRecord",
    "Deduction",
    "LowBalance",
    "PaymentImport",
    "PaymentStatus",
    "Settlement",
    "TopUpImport",
    "TopUpLine",
    "TopUpRecord",
    "TopUpReversalRecord",
    "after_deduction",
    "balance",
    "count_low_balances",
    "covers",
    "deduct",
    "give_back",
    "import_payments",
    "import_top_ups",
    "list_payments",
    "low_balance_members",
    "low_balance_condition",
    "open_balances",
    "reverse_top_up",
    "settle_payments",
    "top_up",
]
