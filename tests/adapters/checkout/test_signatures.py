"""Webhook signatures: HMAC over the raw bytes, key rotation, constant-time header checks."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from paybridge.adapters.checkout.signatures import (
    compute_signature,
    verify_authorization,
    verify_signature,
)

KEY = "whsec_current_9f0e2b"
OLD_KEY = "whsec_previous_1a2b3c"
RAW = (
    b'{"id":"evt_caxmnvuvbe4elkbdx2imwbnjxu","type":"payment_approved",'
    b'"created_on":"2023-05-22T11:56:04.8821546Z","data":{"id":"pay_mbabizu24mvu3mela5njyhpit4",'
    b'"amount":1.10,"reference":"caf\\u00e9"}}'
)


def test_signature_is_lowercase_hex_hmac_sha256_of_the_raw_body() -> None:
    expected = hmac.new(KEY.encode(), RAW, hashlib.sha256).hexdigest()
    assert compute_signature(RAW, KEY) == expected
    assert expected == expected.lower()
    assert len(expected) == 64


def test_a_valid_signature_verifies() -> None:
    assert verify_signature(RAW, compute_signature(RAW, KEY), [KEY])


@pytest.mark.parametrize("decorate", [str.upper, lambda s: f"  {s}\n"])
def test_uppercase_hex_and_surrounding_whitespace_are_tolerated(decorate: object) -> None:
    assert callable(decorate)
    assert verify_signature(RAW, decorate(compute_signature(RAW, KEY)), [KEY])


def test_a_wrong_signature_fails() -> None:
    assert not verify_signature(RAW, compute_signature(RAW, "another_key"), [KEY])
    assert not verify_signature(RAW, "0" * 64, [KEY])
    assert not verify_signature(RAW, "not hex at all ✗", [KEY])


def test_any_configured_key_may_match_for_rotation() -> None:
    assert verify_signature(RAW, compute_signature(RAW, OLD_KEY), [KEY, OLD_KEY])


def test_a_reserialized_body_fails() -> None:
    signature = compute_signature(RAW, KEY)
    reserialized = json.dumps(json.loads(RAW), separators=(",", ":")).encode()
    assert reserialized != RAW
    assert not verify_signature(reserialized, signature, [KEY])


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_signature_fails(header: str | None) -> None:
    assert not verify_signature(RAW, header, [KEY])


def test_no_keys_or_empty_keys_never_verify() -> None:
    assert not verify_signature(RAW, compute_signature(RAW, KEY), [])
    assert not verify_signature(RAW, compute_signature(RAW, ""), [""])


def test_authorization_header_check() -> None:
    assert verify_authorization(None, None)
    assert verify_authorization("anything", None)
    assert verify_authorization("s3cr3t-h3ader", "s3cr3t-h3ader")
    assert not verify_authorization(None, "s3cr3t-h3ader")
    assert not verify_authorization("Bearer s3cr3t-h3ader", "s3cr3t-h3ader")
    assert not verify_authorization("s3cr3t-h3adér", "s3cr3t-h3ader")
