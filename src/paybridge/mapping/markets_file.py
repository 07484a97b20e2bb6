"""The markets file (YAML) → a validated `MarketBook`; every problem names file, market and field.

Read once at start-up and by `paybridge markets check FILE`. Numbers are read as decimals
(never floats), duplicate YAML keys are refused (PyYAML would keep the last one silently),
and secret keys are never literals: a market names the environment variable holding its
key (`secret_key_env`), resolved by `market_secret_keys`. See `examples/markets.yaml`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from paybridge.domain.countries import is_country_code
from paybridge.domain.markets import (
    CaptureMode,
    Descriptor,
    Market,
    MarketBook,
    ThreeDsPolicy,
    ThreeDsRule,
)
from paybridge.domain.money import MoneyError, is_known_currency, to_minor
from paybridge.domain.payment_methods import KNOWN_METHODS
from paybridge.mapping.checkout_payments import RESERVED_METADATA_KEYS


class MarketsFileError(ValueError):
    """The file cannot be used; `problems` holds one line per problem, file name first."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = [f"{path}: {problem}" for problem in problems]
        super().__init__("\n".join(self.problems))


# --- YAML: decimals, no duplicate keys -------------------------------------------------------


class _DecimalLoader(yaml.SafeLoader):
    """SafeLoader that reads floats as `Decimal`: thresholds are money."""


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    assert isinstance(node, yaml.ScalarNode)
    return Decimal(str(loader.construct_scalar(node)).replace("_", ""))


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


def _duplicate_keys(node: yaml.Node, loc: tuple[int | str, ...] = ()) -> list[tuple[Any, ...]]:
    """(location, first line, repeated line) of each key a mapping holds twice."""
    found: list[tuple[Any, ...]] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if name in seen:
                found.append(((*loc, name), seen[name], line))
            seen.setdefault(name, line)
            found.extend(_duplicate_keys(value_node, (*loc, name)))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found.extend(_duplicate_keys(item, (*loc, index)))
    return found


# --- file shape -----------------------------------------------------------------------------


def _currency(value: str) -> str:
    if not is_known_currency(value):
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return value


def _country(value: str) -> str:
    if not is_country_code(value):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value


def _method(value: str) -> str:
    if value not in KNOWN_METHODS:
        known = ", ".join(sorted(KNOWN_METHODS))
        raise ValueError(f"unknown payment method {value!r} (known: {known})")
    return value


def _channel(value: str) -> str:
    if not re.fullmatch(r"pc_\w{26}", value):
        raise ValueError(f"{value!r} is not a processing channel id (pc_ and 26 characters)")
    return value


def _unique(values: list[str]) -> list[str]:
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise ValueError(f"listed more than once: {', '.join(repeated)}")
    return values


Currency = Annotated[str, AfterValidator(_currency)]
Country = Annotated[str, AfterValidator(_country)]
MethodName = Annotated[str, AfterValidator(_method)]
ChannelId = Annotated[str, AfterValidator(_channel)]
Url = Annotated[str, Field(max_length=1024, pattern=r"^https?://\S+$")]
MetadataValue = Annotated[str, Field(max_length=255)] | int | bool | Decimal

_STRICT = ConfigDict(extra="forbid", frozen=True)


class _MatchIn(BaseModel):
    model_config = _STRICT
    countries: Annotated[list[Country], AfterValidator(_unique)] = Field(default_factory=list)
    currencies: Annotated[list[Currency], AfterValidator(_unique)] = Field(default_factory=list)


class _ThreeDsIn(BaseModel):
    model_config = _STRICT
    policy: ThreeDsPolicy
    above: dict[Currency, Decimal] = Field(default_factory=dict)
    overridable: bool = False

    @model_validator(mode="after")
    def _thresholds_only_for_above(self) -> _ThreeDsIn:
        if self.policy is ThreeDsPolicy.ABOVE and not self.above:
            raise ValueError("policy 'above' needs `above`: an amount per currency")
        if self.policy is not ThreeDsPolicy.ABOVE and self.above:
            raise ValueError(f"`above` applies to policy 'above' only, not {self.policy.value!r}")
        return self


class _DescriptorIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=25)
    city: str = Field(min_length=1, max_length=13)


class _MarketIn(BaseModel):
    model_config = _STRICT
    key: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    processing_channel_id: ChannelId
    secret_key_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    match: _MatchIn | None = None
    capture: Literal["auto", "manual"] = "auto"
    capture_overridable: bool = False
    three_ds: _ThreeDsIn = Field(default_factory=lambda: _ThreeDsIn(policy=ThreeDsPolicy.NEVER))
    payment_methods: Annotated[list[MethodName], AfterValidator(_unique)] = Field(min_length=1)
    success_url: Url | None = None
    failure_url: Url | None = None
    billing_descriptor: _DescriptorIn | None = None
    metadata: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,50}$")], MetadataValue] = Field(
        default_factory=dict
    )
    authorization_validity_h: dict[MethodName, Annotated[float, Field(gt=0, le=24 * 90)]] = Field(
        default_factory=dict
    )

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secret(cls, data: Any) -> Any:
        if isinstance(data, dict) and "secret_key" in data:
            raise ValueError(
                "secret keys must not be written in the file: put the key in an environment "
                "variable and name it in `secret_key_env`"
            )
        return data


class _FileIn(BaseModel):
    model_config = _STRICT
    version: Literal[1] = 1
    default: str | None = None
    markets: list[_MarketIn] = Field(min_length=1)


# --- loading --------------------------------------------------------------------------------


def _where(loc: tuple[int | str, ...], raw: Any) -> str:
    """`("markets", 1, "match", "currencies", 0)` → `markets[1] (de-web): match.currencies[0]`."""
    if len(loc) >= 2 and loc[0] == "markets" and isinstance(loc[1], int):
        key = _raw_key(raw, loc[1])
        head = f"markets[{loc[1]}]" + (f" ({key})" if key else "")
        return f"{head}: {_dotted(loc[2:]) or '(market)'}"
    return _dotted(loc) or "(file)"


def _raw_key(raw: Any, index: int) -> str | None:
    markets = raw.get("markets") if isinstance(raw, dict) else None
    if isinstance(markets, list) and index < len(markets) and isinstance(markets[index], dict):
        key = markets[index].get("key")
        return str(key) if key is not None else None
    return None


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.endswith("[key]"):
            continue
        else:
            out += f".{part}" if out else part
    return out


def _message(error: Mapping[str, Any]) -> str:
    text = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        text = text.removeprefix(prefix)
    if error["type"] == "missing":
        return "required"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return text


def _semantic_problems(parsed: _FileIn) -> list[str]:
    problems: list[str] = []
    first: dict[str, int] = {}
    for index, market in enumerate(parsed.markets):
        head = f"markets[{index}] ({market.key})"
        if market.key in first:
            problems.append(
                f"{head}: key: duplicate market key {market.key!r} "
                f"(first at markets[{first[market.key]}])"
            )
        first.setdefault(market.key, index)
        for currency, amount in market.three_ds.above.items():
            try:
                to_minor(amount, currency)
            except MoneyError as exc:
                problems.append(f"{head}: three_ds.above.{currency}: {exc.message}")
        for name in market.metadata:
            if name in RESERVED_METADATA_KEYS:
                problems.append(f"{head}: metadata.{name}: reserved for paybridge's own use")
    if parsed.default is not None and parsed.default not in first:
        problems.append(f"default: no market has the key {parsed.default!r}")
    return problems


def metadata_text(value: str | int | float | bool | Decimal) -> str:
    """A metadata value as text, the way Checkout.com's metadata carries it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _to_market(market: _MarketIn) -> Market:
    match = market.match or _MatchIn()
    descriptor = market.billing_descriptor
    return Market(
        key=market.key,
        processing_channel_id=market.processing_channel_id,
        payment_methods=frozenset(market.payment_methods),
        countries=frozenset(match.countries),
        currencies=frozenset(match.currencies),
        secret_key_env=market.secret_key_env,
        capture=CaptureMode(market.capture),
        capture_overridable=market.capture_overridable,
        three_ds=ThreeDsRule(
            policy=market.three_ds.policy,
            above_minor={
                currency: to_minor(amount, currency)
                for currency, amount in market.three_ds.above.items()
            },
            overridable=market.three_ds.overridable,
        ),
        success_url=market.success_url,
        failure_url=market.failure_url,
        billing_descriptor=Descriptor(descriptor.name, descriptor.city) if descriptor else None,
        metadata=tuple((name, metadata_text(value)) for name, value in market.metadata.items()),
        authorization_validity_h=tuple(market.authorization_validity_h.items()),
    )


def parse_markets(text: str, *, source: Path | str) -> MarketBook:
    """Validate the YAML text of a markets file; raises `MarketsFileError` listing every
    problem, each as `<file>: markets[<i>] (<key>): <field>: <what is wrong>`."""
    try:
        tree = yaml.compose(text, Loader=_DecimalLoader)
        raw = yaml.load(text, Loader=_DecimalLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise MarketsFileError(source, [f"not valid YAML: {exc}".replace("\n", " ")]) from exc
    # PyYAML keeps the last of two equal keys without a word: refuse them instead.
    duplicates = _duplicate_keys(tree) if tree is not None else []
    if duplicates:
        raise MarketsFileError(
            source,
            [
                f"{_where(loc, raw)}: duplicate key (line {line}; first at line {first})"
                for loc, first, line in duplicates
            ],
        )
    if not isinstance(raw, dict):
        raise MarketsFileError(source, ["the file must be a mapping with a `markets` list"])
    try:
        parsed = _FileIn.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_where(err['loc'], raw)}: {_message(err)}" for err in exc.errors()]
        raise MarketsFileError(source, problems) from exc
    problems = _semantic_problems(parsed)
    if problems:
        raise MarketsFileError(source, problems)
    return MarketBook(tuple(_to_market(m) for m in parsed.markets), default=parsed.default)


def load_markets(path: Path) -> MarketBook:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MarketsFileError(path, [f"cannot read the file: {exc.strerror or exc}"]) from exc
    return parse_markets(text, source=path)


def missing_secret_envs(book: MarketBook, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(market key, variable) for each `secret_key_env` that is unset or empty."""
    return [
        (market.key, market.secret_key_env)
        for market in book.markets
        if market.secret_key_env and not environ.get(market.secret_key_env, "").strip()
    ]


def market_secret_keys(
    book: MarketBook, environ: Mapping[str, str], *, source: Path | str
) -> dict[str, SecretStr]:
    """Market key → its Checkout.com secret key, read from the named environment variables.
    A named variable that is unset is a start-up error: paying with the global key instead
    would charge through the wrong entity."""
    missing = missing_secret_envs(book, environ)
    if missing:
        index = {market.key: i for i, market in enumerate(book.markets)}
        raise MarketsFileError(
            source,
            [
                f"markets[{index[key]}] ({key}): secret_key_env: environment variable "
                f"{name} is not set"
                for key, name in missing
            ],
        )
    return {
        market.key: SecretStr(environ[market.secret_key_env].strip())
        for market in book.markets
        if market.secret_key_env
    }


@dataclass(frozen=True, slots=True)
class MarketConfig:
    """What start-up needs: the book (None: no file, the global settings apply) and each
    market's own secret key."""

    book: MarketBook | None = None
    secret_keys: Mapping[str, SecretStr] = field(default_factory=dict)


def market_secret_key(keys: Mapping[str, SecretStr], market: str | None) -> str | None:
    """The market's own Checkout.com key (a separate legal entity), or None for the global."""
    key = keys.get(market) if market else None
    return key.get_secret_value() if key is not None else None


def load_market_config(path: Path | None, environ: Mapping[str, str]) -> MarketConfig:
    """Start-up: every problem of the file (and every unset key variable) at once."""
    if path is None:
        return MarketConfig()
    book = load_markets(path)
    return MarketConfig(book, market_secret_keys(book, environ, source=path))
