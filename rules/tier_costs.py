"""What an hour of support and a vendor handoff cost: the rates cost to serve is priced with.

Pure; ``router.customers.cost`` prices the handling time it measures with it, asking only ``hourly(tier)``,
``vendor_handoff`` and ``currency`` (what the tier policy's ``costs:`` section offers too). Amounts are
``Decimal`` so that a month's cost adds up to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER, SUPPORT_TIERS

#: No rate or total goes past this (a typo of a few digits is refused, not priced).
MAX_RATE = Decimal(10) ** 9


def _amount(value: Decimal | float | int | str, what: str) -> Decimal:
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_RATE:
        raise ValueError(f"{what} must be a number from 0 to {MAX_RATE:,}, got {value!r}")
    return amount


@dataclass(frozen=True)
class CostRates:
    """The price of an hour of handling per support tier, and of one handoff to an outside vendor.

    A tier left out of ``per_hour`` costs nothing per hour (tier 0, self-service, usually).
    """

    #: Normalized to ``Decimal`` (floats by their shortest text: ``42.1`` is ``Decimal('42.1')``).
    per_hour: Mapping[int, Decimal | float] = field(default_factory=dict)
    per_vendor_handoff: Decimal | float = Decimal(0)
    currency: str = "EUR"

    def __post_init__(self) -> None:
        rates: dict[int, Decimal] = {}
        for tier, rate in self.per_hour.items():
            if tier not in SUPPORT_TIERS:
                raise ValueError(f"support tiers are {MIN_SUPPORT_TIER} to {MAX_SUPPORT_TIER}, got {tier!r}")
            rates[tier] = _amount(rate, f"the hourly rate of tier {tier}")
        object.__setattr__(self, "per_hour", MappingProxyType(dict(sorted(rates.items()))))
        object.__setattr__(self, "per_vendor_handoff", _amount(self.per_vendor_handoff, "the vendor handoff rate"))
        if not (len(self.currency) == 3 and self.currency.isascii() and self.currency.isupper()):
            raise ValueError(f"currency is a three-letter ISO 4217 code like EUR, got {self.currency!r}")

    def hourly(self, tier: int) -> Decimal:
        return Decimal(self.per_hour.get(tier, 0))

    @property
    def vendor_handoff(self) -> Decimal:
        """The price of one handoff (the name the tier policy's ``costs:`` section gives it)."""
        return Decimal(self.per_vendor_handoff)
