"""Benefit models: what a claim is worth, written as a table of a pool file and evaluated exactly.

A cohort lets its pools choose how benefits are computed by putting a :data:`BenefitModel` field
in its settings; the pool file then says, for example::

    [settings.benefit]                  # Meituan Hubao
    kind = "fixed-plus-reimbursement"
    maximum = 350000
    fixed_rate = "0.20"                 # 70,000 paid as a lump sum with the first claim

The models, chosen by ``kind``:

==============================  ==========================================================================
``fixed``                       a fixed lump sum (:class:`FixedBenefit`)
``age-band``                    a lump sum by age at the event (:class:`AgeBandBenefit`, Xianghubao)
``reimbursement``               costs above a deductible, less a co-pay, up to a cap (:class:`ReimbursementBenefit`)
``fixed-plus-reimbursement``    a fixed part of a shared maximum with the first claim, then costs up to what
                                is left of it (:class:`FixedPlusReimbursementBenefit`, Meituan Hubao)
``tenure-ramp``                 another model's benefit, growing with years of membership: 1/3, 2/3, then
                                all of it (:class:`TenureRampBenefit`, the proposed Kangai rule)
==============================  ==========================================================================

Each model's :meth:`evaluate` takes the :class:`BenefitInputs` of a claim (the member's age at the
event, the self-paid costs, what the member was already paid ...) and returns a
:class:`BenefitResult`: the amount, the cap that applied and the reasons, in words an operator
reads; :meth:`BenefitResult.decision` turns it into a :class:`~mutualaid.BenefitDecision`.

Rounding: every amount a model derives from a rate or a fraction (a co-pay, Meituan's 20%, a
ramp's 1/3) is rounded **down** to the minor unit of the pool's currency (:func:`round_down`), so
that the pool never pays more than its rule says; the fen that is not paid stays with the pool.
Amounts written in the settings are used as written (rounded down too, should one have more
decimals than the currency, e.g. ``"10.50"`` in a JPY pool).
"""

from __future__ import annotations

from ..money import round_down
from .base import BENEFIT_KINDS, Amount, BenefitInputs, BenefitResult, PositiveAmount, Rate, format_amount
from .choice import BenefitModel, TenureRampBenefit, parse_benefit
from .lump_sums import AgeBand, AgeBandBenefit, FixedBenefit
from .reimbursement import FixedPlusReimbursementBenefit, ReimbursementBenefit

__all__ = [
    "BENEFIT_KINDS",
    "AgeBand",
    "Amount",
    "AgeBandBenefit",
    "BenefitInputs",
    "BenefitModel",
    "BenefitResult",
    "FixedBenefit",
    "FixedPlusReimbursementBenefit",
    "PositiveAmount",
    "Rate",
    "ReimbursementBenefit",
    "TenureRampBenefit",
    "format_amount",
    "parse_benefit",
    "round_down",
]
