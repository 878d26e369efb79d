"""The pool's books: a double-entry, append-only ledger chained by hashes.

Every entry is balanced (its lines sum to zero; a debit is positive, a credit negative, in minor
units) and is tied to what caused it: a sharing run, a claim, a batch of payments or top-ups, or
the entry it reverses. Nothing is ever updated or deleted -- the database refuses it -- and a
correction is a reversing entry.

Entries of one pool form a chain: each stores the SHA-256 of the entry before it and its own hash
over its canonical text (fields, facts and lines) and that previous hash; the pool row keeps the
head (last sequence number and hash). :func:`verify_ledger` recomputes the chain, so an edited,
inserted or deleted entry -- the last one included -- shows; it rechecks the records each entry
rests on against the SHA-256 digests and figures the entry recorded (a run's charges and funded
claims, a payment batch's rows and totals, a top-up entry's rows); and it holds the chain against
heads published outside the database (every statement and public notice carries the head, ``N:HASH``),
so that a chain recomputed from scratch after an edit is caught too.

``posting`` (the only writer of entries and lines), ``chain`` (the hash), ``digests`` (of the
records), ``entries`` (reading them), ``verify`` (the chain), ``checkpoints`` (where it was last
verified, for an incremental check), ``held`` (the balances held, proved at each verification), ``facts`` (the records against the
entries), ``anchors`` (published heads) and ``books`` (balances against the records).

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

from .anchors import Anchor, LedgerHead, ledger_head, parse_anchor, read_anchors
from .books import BooksCheck, BooksReport, account_balances, reconcile_books
from .chain import GENESIS, entry_hash
from .checkpoints import Checkpoint, last_checkpoint, record_checkpoint
from .digests import CHECKSUM_MOD, DIGEST_KIND, ChargeFigures, charge_figures
from .entries import EntryRecord, list_entries
from .held import check_held, held_now
from .posting import Line, lines_from_amounts, post_adjustment, post_entry, reverse_entry
from .verify import LedgerProblem, VerifyReport, verify_ledger

__all__ = [
    "CHECKSUM_MOD",
    "DIGEST_KIND",
    "GENESIS",
    "Anchor",
    "BooksCheck",
    "BooksReport",
    "ChargeFigures",
    "Checkpoint",
    "EntryRecord",
    "LedgerHead",
    "LedgerProblem",
    "Line",
    "VerifyReport",
    "account_balances",
    "charge_figures",
    "entry_hash",
    "last_checkpoint",
    "ledger_head",
    "lines_from_amounts",
    "list_entries",
    "parse_anchor",
    "post_adjustment",
    "post_entry",
    "read_anchors",
    "record_checkpoint",
    "check_held",
    "held_now",
    "reconcile_books",
    "reverse_entry",
    "verify_ledger",
]
