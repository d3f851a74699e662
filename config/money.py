"""The one rule for amounts that people and agents send: what the column keeping it can hold.

A `DecimalField(max_digits=14, decimal_places=6)` keeps at most 99,999,999.999999 and rounds
anything finer than a millionth. PostgreSQL refuses a larger value ("numeric field overflow") and
a `CHECK (amount > 0)` refuses one that rounded to 0 — each a 500 after validation had passed.
So every amount is checked here against the column that will keep it, its precision and scale
read from the model field (`AmountRule.of(AgentRun._meta.get_field("estimated_cost_usd"),
positive=True)`), after the rounding that column applies (half away from zero, as PostgreSQL
rounds): a clear 4xx that names the field and writes nothing.

- API schemas type each money field as `Amount(column, ...)` (a 422 `validation_error` naming
  the field; the value stays as sent, so idempotent replays compare what the agent sent);
- services call `amount_clean` with the same rule and raise their own error with its message
  (amounts inside JSON objects, pages, and anything that adds to a stored total).

Imports no app of the project: every app may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator


class AmountInvalid(ValueError):
    """An amount its column can't keep; the message says what it can ("must be …")."""


@dataclass(frozen=True)
class AmountRule:
    max_digits: int
    decimal_places: int
    positive: bool = False  # the database requires more than 0 (a CHECK constraint)
    at_most: Decimal | None = None  # a domain bound tighter than the column's

    @classmethod
    def of(cls, column, *, positive: bool = False, at_most: Decimal | None = None) -> AmountRule:
        """The rule of a model's DecimalField (anything with max_digits and decimal_places)."""
        return cls(column.max_digits, column.decimal_places, positive, at_most)

    @property
    def step(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimal_places)

    @property
    def least(self) -> Decimal:
        return self.step if self.positive else Decimal(0)

    @property
    def most(self) -> Decimal:
        column = Decimal(10) ** (self.max_digits - self.decimal_places) - self.step
        return column if self.at_most is None else min(column, self.at_most)

    def kept(self, amount: Decimal) -> Decimal:
        """`amount` as the column stores it (call only with an amount near its range)."""
        return amount.quantize(self.step, rounding=ROUND_HALF_UP)

    def range_text(self, currency: str = "") -> str:
        of = f" of {currency}" if currency else ""
        return f"must be a finite amount{of} from {self.least:,} to {self.most:,}"


def amount_clean(value: Any, rule: AmountRule, *, currency: str = "") -> Decimal:
    """`value` (a string or a JSON number) as its column will keep it, or AmountInvalid."""
    try:
        if isinstance(value, bool) or value is None:
            raise InvalidOperation
        amount = Decimal(str(value).strip()) if isinstance(value, str) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise AmountInvalid("must be an amount" + (f" in {currency}" if currency else "")) from None
    # Compared before rounding: quantizing 1e30 to six places would overflow the context.
    if not amount.is_finite() or amount < 0 or amount > rule.most + rule.step:
        raise AmountInvalid(rule.range_text(currency))
    kept = rule.kept(amount)
    if not rule.least <= kept <= rule.most:
        why = ""
        if kept != amount:
            why = f" ({value} rounds to {kept} at {rule.decimal_places} decimal places)"
        raise AmountInvalid(rule.range_text(currency) + why)
    return kept


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be an amount, not true or false")
    return value


def Amount(column, *, positive: bool = False, currency: str = ""):  # noqa: N802 (a type)
    """An API schema's money field kept by `column`: a JSON number or a string, checked by the
    column's rule (a 422 naming the field) and handed on as sent; the service turns it into the
    Decimal it stores with `amount_clean` and the same rule."""
    rule = AmountRule.of(column, positive=positive)

    def check(value: Any) -> Any:
        amount_clean(_not_a_boolean(value), rule, currency=currency)
        return value

    return Annotated[Decimal | int | float | str, BeforeValidator(check)]
