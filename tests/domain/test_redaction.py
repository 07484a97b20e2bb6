"""Masking inside free text: secrets by value and shape, e-mails and card numbers go, the
rest of a traceback or an upstream message stays readable."""

from __future__ import annotations

from paybridge.domain.redaction import REDACTED, TextRedactor, redact_text


def test_a_card_number_inside_text_is_masked_and_the_rest_kept() -> None:
    text = "declined for Keizersgracht 1 4242 4242 4242 4242 at 2026-12-05T17:00:36Z"
    assert redact_text(text) == f"declined for Keizersgracht {REDACTED} at 2026-12-05T17:00:36Z"


def test_phone_numbers_ibans_and_order_numbers_stay_readable() -> None:
    text = "call +31 20 123 4567 about order 00000100, IBAN NL91ABNA0417164300, id 8015g00000AbC"
    assert redact_text(text) == text


def test_e_mails_and_key_shapes_are_masked() -> None:
    text = "customer ana@example.com, key sk_sbox_abcdefghijkl"
    assert redact_text(text) == f"customer {REDACTED}, key {REDACTED}"


def test_configured_secrets_are_masked_whatever_their_shape() -> None:
    redact = TextRedactor(["plain-secret", "plain-secret-longer", ""])
    assert redact("a plain-secret-longer and a plain-secret") == f"a {REDACTED} and a {REDACTED}"
