"""The pool's books: a double-entry, append-only ledger chained by hashes.

Every entry is balanced (its lines sum to zero; a debit is positive, a credit negative, in minor
units) and is tied to what caused it: a sharing run, a claim, a batch of payments or top-ups, or
the entry it reverses. Nothing is ever updated or deleted -- the database refuses it -- and a
correction is a reversing entry.

Entries of one pool form a chain: each stores the SHA-256 of the entry before it and its own hash
over its canonical text (fields, facts and lines) and that previous hash; the pool row keeps the
head (last sequence number and hash). :func:`verify_ledger` recomputes the chain, so an edited,
inserted or deleted entry -- the last one included -- shows.

``posting`` (the only writer of entries and lines), ``chain`` (the hash), ``entries`` (reading
them), ``verify`` (the chain and the runs' charges) and ``books`` (balances against the records).

Accounts (:class:`~mutualaid.vocabulary.Account`, debit-positive):

========================  =====================================================================
``members_due``           postpaid shares charged and not yet paid (asset)
``member_balances``       prepaid balances held for members (liability: normally a credit)
``cash``                  money received (asset)
``aid_payable``           benefits funded and owed to claimants (liability)
``fee_income``            the operator's management fee (income)
``surplus``               collected beyond the need, carried to the next period (liability)
``deficit``               shortfall carried to the next period (asset: owed by later periods)
``sponsor_due``           what the operator/sponsor has undertaken to pay (asset)
``refunds_payable``       contributions to be given back to members (liability)
========================  =====================================================================
"""

from __future__ import annotations

from .books import BooksCheck, BooksReport, account_balances, reconcile_books
from .chain import GENESIS, entry_hash
from .entries import EntryRecord, list_entries
from .posting import Line, lines_from_amounts, post_adjustment, post_entry, reverse_entry
from .verify import CHECKSUM_MOD, LedgerProblem, VerifyReport, charge_figures, verify_ledger

__all__ = [
    "CHECKSUM_MOD",
    "GENESIS",
    "BooksCheck",
    "BooksReport",
    "EntryRecord",
    "LedgerProblem",
    "Line",
    "VerifyReport",
    "account_balances",
    "charge_figures",
    "entry_hash",
    "lines_from_amounts",
    "list_entries",
    "post_adjustment",
    "post_entry",
    "reconcile_books",
    "reverse_entry",
    "verify_ledger",
]
