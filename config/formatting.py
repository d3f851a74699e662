"""How Human Touch writes money, changes, percentages, dates and times: one rule for each, used
by every page, the client summaries, the ticket diff preview and the client portal, so the same
figure reads the same everywhere (pure: standard library only, no database, no project app).

- Money: the symbol for EUR, USD, GBP and JPY, before the amount (€40,000); for any other
  currency its code and a space (CHF 1,200). Thousands grouped with commas. Cents show only when
  there are cents, and then always two digits (€44,800.50, $3.75), rounded half up to the cent.
  A negative amount takes a true minus sign (−€1,000). This is the form of docs/rules.md's client
  sentence, "Search budget up 12% (€40,000 → €44,800) from 1 Dec", kept in tables too.
- A change of money carries its sign: +€4,800, −€6,000; no change reads €0 (zero has no sign).
- Percentages: one decimal at most, dropped when it is zero (12%, 6.9%, 100%), rounded half up.
- A percentage change carries its sign: +12%, −7.5%; no change reads 0%; a change from nothing
  (no base to compare with) reads "new".
- Dates: 1 Dec 2026, or 1 Dec inside a sentence that already says the year.
- Times: in the tenant's time zone with the zone's abbreviation, 21 Nov 2026 14:05 CET; with
  seconds where the order within a minute matters (the audit log): 21 Nov 2026 14:05:09 CET.
- Plain numbers (a cell with no currency): grouped, a zero fraction dropped (40,000; 1,234.5).
- Nothing to show reads "—"; text that is not a number is shown as it is.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}
MINUS = "\u2212"
NOTHING = "—"
NEW = "new"
CENT = Decimal("0.01")
TENTH = Decimal("0.1")


def to_decimal(value: object) -> Decimal | None:
    """A finite Decimal from an int, a Decimal or a numeric string (floats via their text);
    None for anything else, booleans included."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _as_text(value: object) -> str:
    return NOTHING if value is None or value == "" else str(value)


def _digits(number: Decimal, places: int) -> str:
    """|number| grouped by thousands, its fraction dropped when it is zero at `places`."""
    number = abs(number)
    if number == number.to_integral_value():
        return f"{number:,.0f}"
    return f"{number:,.{places}f}"


def money(value: object, currency: str = "") -> str:
    """46000, "EUR" → "€46,000"; "1234.5", "usd" → "$1,234.50"; 1200, "CHF" → "CHF 1,200"."""
    amount = to_decimal(value)
    if amount is None:
        return _as_text(value)
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    digits = _digits(amount, 2)
    code = (currency or "").strip().upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    text = f"{symbol}{digits}" if symbol else f"{code} {digits}" if code else digits
    return f"{MINUS}{text}" if amount < 0 else text


def money_change(value: object, currency: str = "") -> str:
    """A change of money: "+€4,800" / "−€1,000" / "€0"."""
    amount = to_decimal(value)
    if amount is None:
        return _as_text(value)
    text = money(amount, currency)
    return f"+{text}" if amount.quantize(CENT, rounding=ROUND_HALF_UP) > 0 else text


def percent(value: object, places: int = 1) -> str:
    """12 → "12%"; "6.94" → "6.9%"; "-20.0" → "−20%". `places=2` where a threshold is judged
    to the hundredth (15.01% is beyond 15%, and must not read "15%")."""
    number = to_decimal(value)
    if number is None:
        return _as_text(value)
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{_digits(number, places)}%"
    return f"{MINUS}{text}" if number < 0 else text


def percent_change(value: object) -> str:
    """A change in percent: "+12%" / "−7.5%" / "0%"; None (nothing before) → "new"."""
    if value is None:
        return NEW
    number = to_decimal(value)
    if number is None:
        return _as_text(value)
    text = percent(number)
    return f"+{text}" if number.quantize(TENTH, rounding=ROUND_HALF_UP) > 0 else text


def number(value: object) -> str:
    """A plain number: "40000.00" → "40,000"; "1234.5" → "1,234.5"; -3 → "−3"."""
    figure = to_decimal(value)
    if figure is None:
        return _as_text(value)
    exponent = figure.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    text = _digits(figure, places)
    return f"{MINUS}{text}" if figure < 0 else text


def date_text(value: date | str | None, *, year: bool = True) -> str:
    """date(2026, 12, 1) or "2026-12-01" → "1 Dec 2026" (year=False: "1 Dec")."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    text = f"{value.day} {value:%b}"
    return f"{text} {value.year}" if year else text


def local_time(value: datetime | None, tz_name: str = "UTC", *, seconds: bool = False) -> str:
    """A moment in the tenant's time zone: "21 Nov 2026 14:05 CET" (or "14:05:09 CET")."""
    if value is None:
        return NOTHING
    if value.tzinfo is None:
        # Every datetime the project stores is aware (USE_TZ); a naive one can only be UTC.
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(ZoneInfo(tz_name or "UTC"))
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{date_text(local.date())} {clock} {local.tzname()}"


# The figure kinds a table may name per column (the ticket diff preview's budget table does),
# so whoever renders it formats each cell by the one rule of its kind.
FIGURE_FORMATS = {
    "money": money,
    "money_change": money_change,
    "percent": percent,
    "percent_change": percent_change,
}


def figure(kind: str, value: object, currency: str = "") -> str:
    """`value` written by the rule of `kind` (a key of FIGURE_FORMATS)."""
    if kind in ("money", "money_change"):
        return FIGURE_FORMATS[kind](value, currency)
    return FIGURE_FORMATS[kind](value)
