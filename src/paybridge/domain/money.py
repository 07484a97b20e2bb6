"""Money in minor units: Checkout.com's currency exponents, exact conversion, no floats.

Checkout.com counts JPY, KRW, ISK… in whole units, BHD, KWD, JOD… in thousandths (last digit
0), everything else in hundredths. Salesforce holds major units as decimals.
"""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 active codes (2024) that Checkout.com may process; used to refuse typos early.
ISO_CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD
    BTN BWP BYN BZD CAD CDF CHF CLF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN
    ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR
    ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL
    MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN
    PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
    STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV
    WST XAF XCD XOF XPF YER ZAR ZMW ZWL
    """.split()
)

# Checkout.com "full value" currencies: the amount is sent as is (ISK and CLF included).
ZERO_DECIMAL = frozenset("BIF CLF DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split())
# Checkout.com "divide by 1000" currencies; the last minor digit must be 0.
THREE_DECIMAL = frozenset("BHD IQD JOD KWD LYD OMR TND".split())

MAX_MINOR_DIGITS = 9
# Bounds checked before any scaling: an exponent like 1E+999990 would otherwise make
# `int()`/`str()` build a million-digit integer on the event loop.
MAX_AMOUNT_DIGITS = 30
MAX_AMOUNT_EXPONENT = 30


class MoneyError(ValueError):
    """An amount that cannot be represented; `code` is the stable error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_known_currency(currency: str) -> bool:
    return currency in ISO_CURRENCIES


def exponent(currency: str) -> int:
    """Decimal places Checkout.com uses for `currency` (0, 2 or 3)."""
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def to_minor(amount: Decimal, currency: str) -> int:
    """Convert a major-unit decimal to Checkout.com minor units, refusing to round.

    Raises MoneyError for a non-finite, non-positive, too precise or too large amount.
    """
    if not is_known_currency(currency):
        raise MoneyError("invalid_currency", f"{currency!r} is not an ISO 4217 currency code")
    bounded(amount)
    try:
        scaled = amount.scaleb(exponent(currency))
        integral = scaled.to_integral_value()
        if scaled != integral:
            raise MoneyError(
                "invalid_amount_precision",
                f"{currency} amounts have at most {exponent(currency)} decimal places",
            )
        if integral.adjusted() >= MAX_MINOR_DIGITS:
            raise MoneyError("amount_too_large", "amount exceeds 9 digits in minor units")
        minor = int(integral)
    except (ArithmeticError, ValueError) as exc:
        if isinstance(exc, MoneyError):
            raise
        raise MoneyError("invalid_amount", "amount is not a number") from exc
    if minor <= 0:
        raise MoneyError("invalid_amount", "amount must be greater than zero")
    if len(str(minor)) > MAX_MINOR_DIGITS:
        raise MoneyError("amount_too_large", "amount exceeds 9 digits in minor units")
    if exponent(currency) == 3 and minor % 10 != 0:
        raise MoneyError(
            "invalid_amount_precision",
            f"{currency} amounts must end in 0 in the third decimal place (Checkout.com rule)",
        )
    return minor


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Exact major-unit decimal with the currency's number of places (1490 EUR → 14.90)."""
    places = exponent(currency)
    return Decimal(amount_minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def format_major(amount_minor: int, currency: str) -> str:
    """Major units as the API shows them: `"149.90"`, `"1500"`, `"1.250"`."""
    return str(to_major(amount_minor, currency))


def bounded(amount: Decimal) -> Decimal:
    """`amount` if it is finite with at most 30 digits and an exponent within ±30, else a
    MoneyError: nothing larger is money, and bounding first keeps scaling cheap."""
    if not amount.is_finite():
        raise MoneyError("invalid_amount", "amount must be a finite number")
    exponent_ = amount.as_tuple().exponent
    assert isinstance(exponent_, int)  # finite, so never 'n', 'N' or 'F'
    if (
        len(amount.as_tuple().digits) > MAX_AMOUNT_DIGITS
        or abs(exponent_) > MAX_AMOUNT_EXPONENT
        or abs(amount.adjusted()) > MAX_AMOUNT_EXPONENT
    ):
        raise MoneyError("invalid_amount", "amount has too many digits or too large an exponent")
    return amount


def parse_decimal(value: object) -> Decimal:
    """Parse a JSON number or decimal string without passing through float, bounded in
    digits and exponent before anything scales it."""
    if isinstance(value, bool):
        raise MoneyError("invalid_amount", "amount must be a number")
    if isinstance(value, Decimal):
        return bounded(value)
    if isinstance(value, int | str):
        text = str(value).strip()
        if len(text) > 2 * MAX_AMOUNT_DIGITS:
            raise MoneyError("invalid_amount", "amount has too many digits")
        try:
            return bounded(Decimal(text))
        except (ArithmeticError, ValueError) as exc:
            if isinstance(exc, MoneyError):
                raise
            raise MoneyError("invalid_amount", "amount is not a decimal number") from exc
    raise MoneyError("invalid_amount", "amount must be a JSON number or a decimal string")
