"""The markets file: a valid file becomes a MarketBook; each invalid one is refused with
messages naming the file, the market and the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from paybridge.cli import main
from paybridge.domain.markets import CaptureMode, Descriptor, ThreeDsPolicy
from paybridge.mapping.markets_file import (
    MarketsFileError,
    load_market_config,
    load_markets,
    market_secret_keys,
    parse_markets,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "markets.yaml"
CHANNEL = "pc_nlwebchannel00000000000000"

VALID = f"""
default: nl-web
markets:
  - key: nl-web
    processing_channel_id: {CHANNEL}
    secret_key_env: PAYBRIDGE_MARKET_SECRET_NL
    match: {{countries: [NL], currencies: [EUR]}}
    capture: manual
    capture_overridable: true
    three_ds: {{policy: above, above: {{EUR: 30.00, JPY: 5000}}}}
    payment_methods: [token, ideal]
    success_url: https://shop.example/s
    failure_url: https://shop.example/f
    billing_descriptor: {{name: EXAMPLE SHOP, city: Amsterdam}}
    metadata: {{business_unit: benelux, cost_centre: 4711, b2b: false, share: 0.10}}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(MarketsFileError) as caught:
        parse_markets(textwrap.dedent(text), source="markets.yaml")
    return caught.value.problems


def one_market(body: str) -> str:
    """A file with one market: `body` holds its fields after `key`."""
    return "markets:\n  - key: m1\n" + textwrap.indent(textwrap.dedent(body), "    ")


def test_valid_file_becomes_a_market_book() -> None:
    book = parse_markets(VALID, source="markets.yaml")

    assert book.default == "nl-web"
    [market] = book.markets
    assert market.key == "nl-web"
    assert market.processing_channel_id == CHANNEL
    assert market.secret_key_env == "PAYBRIDGE_MARKET_SECRET_NL"
    assert market.countries == frozenset({"NL"})
    assert market.currencies == frozenset({"EUR"})
    assert market.capture is CaptureMode.MANUAL
    assert market.capture_overridable
    assert market.three_ds.policy is ThreeDsPolicy.ABOVE
    assert market.three_ds.above_minor == {"EUR": 3000, "JPY": 5000}
    assert market.payment_methods == frozenset({"token", "ideal"})
    assert market.billing_descriptor == Descriptor("EXAMPLE SHOP", "Amsterdam")
    assert market.metadata == (
        ("business_unit", "benelux"),
        ("cost_centre", "4711"),
        ("b2b", "false"),
        ("share", "0.10"),  # decimals, not floats: the text survives
    )


def test_defaults_of_a_minimal_market() -> None:
    book = parse_markets(
        one_market(f"processing_channel_id: {CHANNEL}\npayment_methods: [token]\n"),
        source="markets.yaml",
    )

    [market] = book.markets
    assert book.default is None
    assert not market.has_rule
    assert market.capture is CaptureMode.AUTO
    assert market.three_ds.policy is ThreeDsPolicy.NEVER
    assert market.secret_key_env is None


def test_the_example_file_is_valid() -> None:
    book = load_markets(EXAMPLE)

    assert book.default == "intl-web"
    assert [m.key for m in book.markets][:2] == ["nl-web", "be-web"]


def test_unknown_method() -> None:
    assert problems(
        one_market(f"processing_channel_id: {CHANNEL}\npayment_methods: [token, sofort]\n")
    ) == [
        "markets.yaml: markets[0] (m1): payment_methods[1]: unknown payment method 'sofort' "
        "(known: bancontact, eps, ideal, instrument, klarna, multibanco, p24, paypal, sepa, "
        "token)"
    ]


def test_bad_currency_in_rule_and_threshold() -> None:
    assert problems(
        one_market(
            f"""
            processing_channel_id: {CHANNEL}
            match: {{currencies: [EUR, EURO]}}
            three_ds: {{policy: above, above: {{XXY: 10}}}}
            payment_methods: [token]
            """
        )
    ) == [
        "markets.yaml: markets[0] (m1): match.currencies[1]: 'EURO' is not an ISO 4217 "
        "currency code",
        "markets.yaml: markets[0] (m1): three_ds.above.XXY: 'XXY' is not an ISO 4217 currency code",
    ]


def test_bad_country() -> None:
    assert problems(
        one_market(
            f"processing_channel_id: {CHANNEL}\nmatch: {{countries: [NLD]}}\n"
            "payment_methods: [token]\n"
        )
    ) == [
        "markets.yaml: markets[0] (m1): match.countries[0]: 'NLD' is not an ISO 3166-1 "
        "alpha-2 country code"
    ]


def test_missing_channel() -> None:
    assert problems(one_market("payment_methods: [token]\n")) == [
        "markets.yaml: markets[0] (m1): processing_channel_id: required"
    ]


def test_malformed_channel() -> None:
    assert problems(one_market("processing_channel_id: pc_short\npayment_methods: [token]\n")) == [
        "markets.yaml: markets[0] (m1): processing_channel_id: 'pc_short' is not a "
        "processing channel id (pc_ and 26 characters)"
    ]


def test_duplicate_market_keys() -> None:
    text = f"""
        markets:
          - {{key: shop, processing_channel_id: {CHANNEL}, payment_methods: [token]}}
          - {{key: other, processing_channel_id: {CHANNEL}, payment_methods: [token]}}
          - {{key: shop, processing_channel_id: {CHANNEL}, payment_methods: [paypal]}}
        """

    assert problems(text) == [
        "markets.yaml: markets[2] (shop): key: duplicate market key 'shop' (first at markets[0])"
    ]


def test_duplicate_yaml_keys() -> None:
    text = f"""
        markets:
          - key: shop
            processing_channel_id: {CHANNEL}
            capture: manual
            payment_methods: [token]
            capture: auto
        """

    assert problems(text) == [
        "markets.yaml: markets[0] (shop): capture: duplicate key (line 7; first at line 5)"
    ]


def test_duplicate_top_level_keys() -> None:
    text = f"""
        default: a
        markets:
          - {{key: a, processing_channel_id: {CHANNEL}, payment_methods: [token]}}
        default: b
        """

    assert problems(text) == ["markets.yaml: default: duplicate key (line 5; first at line 2)"]


def test_broken_yaml() -> None:
    [problem] = problems("markets: [\n")

    assert problem.startswith("markets.yaml: not valid YAML: ")


def test_duplicate_methods_and_unknown_fields() -> None:
    assert problems(
        one_market(
            f"processing_channel_id: {CHANNEL}\npayment_methods: [token, token]\ncolour: red\n"
        )
    ) == [
        "markets.yaml: markets[0] (m1): payment_methods: listed more than once: token",
        "markets.yaml: markets[0] (m1): colour: unknown field",
    ]


def test_literal_secret_key_is_refused() -> None:
    assert problems(
        one_market(
            f"processing_channel_id: {CHANNEL}\nsecret_key: sk_live_x\npayment_methods: [token]\n"
        )
    ) == [
        "markets.yaml: markets[0] (m1): (market): secret keys must not be written in the file: "
        "put the key in an environment variable and name it in `secret_key_env`"
    ]


def test_threshold_rules() -> None:
    assert problems(
        """
        markets:
          - {key: a, processing_channel_id: pc_aaaaaaaaaaaaaaaaaaaaaaaaaa, payment_methods: [token],
             three_ds: {policy: above}}
          - {key: b, processing_channel_id: pc_aaaaaaaaaaaaaaaaaaaaaaaaaa, payment_methods: [token],
             three_ds: {policy: always, above: {EUR: 10}}}
          - {key: c, processing_channel_id: pc_aaaaaaaaaaaaaaaaaaaaaaaaaa, payment_methods: [token],
             three_ds: {policy: above, above: {EUR: 10.001, JPY: 0.5}}}
        """
    ) == [
        "markets.yaml: markets[0] (a): three_ds: policy 'above' needs `above`: an amount per "
        "currency",
        "markets.yaml: markets[1] (b): three_ds: `above` applies to policy 'above' only, not "
        "'always'",
    ]
    assert problems(
        """
        markets:
          - {key: c, processing_channel_id: pc_aaaaaaaaaaaaaaaaaaaaaaaaaa, payment_methods: [token],
             three_ds: {policy: above, above: {EUR: 10.001, JPY: 0.5}}}
        """
    ) == [
        "markets.yaml: markets[0] (c): three_ds.above.EUR: EUR amounts have at most 2 decimal "
        "places",
        "markets.yaml: markets[0] (c): three_ds.above.JPY: JPY amounts have at most 0 decimal "
        "places",
    ]


def test_unknown_default_and_reserved_metadata() -> None:
    assert problems(
        f"""
        default: nowhere
        markets:
          - key: shop
            processing_channel_id: {CHANNEL}
            payment_methods: [token]
            metadata: {{sf_order_id: x, market: y, region: z}}
        """
    ) == [
        "markets.yaml: markets[0] (shop): metadata.sf_order_id: reserved for paybridge's own use",
        "markets.yaml: markets[0] (shop): metadata.market: reserved for paybridge's own use",
        "markets.yaml: default: no market has the key 'nowhere'",
    ]


def test_not_a_markets_file() -> None:
    assert problems("- just\n- a list\n") == [
        "markets.yaml: the file must be a mapping with a `markets` list"
    ]
    assert problems("markets: []\n") == [
        "markets.yaml: markets: List should have at least 1 item after validation, not 0"
    ]


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"

    with pytest.raises(MarketsFileError) as caught:
        load_markets(missing)

    assert caught.value.problems == [f"{missing}: cannot read the file: No such file or directory"]


def test_secret_keys_come_from_the_named_environment_variables() -> None:
    book = parse_markets(VALID, source="markets.yaml")

    keys = market_secret_keys(
        book, {"PAYBRIDGE_MARKET_SECRET_NL": "sk_sbox_nl"}, source="markets.yaml"
    )

    assert {k: v.get_secret_value() for k, v in keys.items()} == {"nl-web": "sk_sbox_nl"}
    with pytest.raises(MarketsFileError) as caught:
        market_secret_keys(book, {}, source="markets.yaml")
    assert caught.value.problems == [
        "markets.yaml: markets[0] (nl-web): secret_key_env: environment variable "
        "PAYBRIDGE_MARKET_SECRET_NL is not set"
    ]


def test_no_file_means_no_book() -> None:
    config = load_market_config(None, {})

    assert config.book is None
    assert config.secret_keys == {}


def test_cli_check_accepts_the_example() -> None:
    result = CliRunner().invoke(main, ["markets", "check", str(EXAMPLE)])

    assert result.exit_code == 0, result.output
    assert "nl-web: channel pc_nlwebchannel00000000000000, match NL/EUR" in result.output
    assert result.output.strip().endswith("7 market(s), default intl-web: OK")


def test_cli_check_lists_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "markets.yaml"
    bad.write_text(one_market("payment_methods: [token, sofort]\n"), encoding="utf-8")

    result = CliRunner().invoke(main, ["markets", "check", str(bad)])

    assert result.exit_code == 1
    assert f"{bad}: markets[0] (m1): processing_channel_id: required" in result.output
    assert f"{bad}: markets[0] (m1): payment_methods[1]: unknown payment method" in (result.output)
    assert f"Error: {bad}: 2 problem(s)" in result.output


def test_cli_check_can_require_the_secret_variables() -> None:
    result = CliRunner().invoke(
        main, ["markets", "check", str(EXAMPLE), "--require-secrets"], env={}
    )

    assert result.exit_code == 1
    assert "secret_key_env: environment variable PAYBRIDGE_MARKET_SECRET_DE is not set" in (
        result.output
    )


def test_authorization_validity_is_read_per_method_and_checked() -> None:
    text = one_market(
        f"""
        processing_channel_id: {CHANNEL}
        payment_methods: [token, klarna]
        authorization_validity_h: {{klarna: 672, token: 72.5}}
        """
    )
    [market] = parse_markets(text, source="markets.yaml").markets
    assert dict(market.authorization_validity_h) == {"klarna": 672, "token": 72.5}

    refused = problems(
        one_market(
            f"""
            processing_channel_id: {CHANNEL}
            payment_methods: [token]
            authorization_validity_h: {{klarna: 0, bitcoin: 24}}
            """
        )
    )
    assert any("authorization_validity_h" in problem and "klarna" in problem for problem in refused)
    assert any("bitcoin" in problem for problem in refused)
