"""Evidence files: content and declared type must agree on PDF, JPEG or PNG."""

from __future__ import annotations

import pytest

from paybridge.domain.evidence import (
    EVIDENCE_KINDS,
    EvidenceFileType,
    accepted_file_type,
    declared_file_type,
    sniff_file_type,
)
from paybridge.schemas.disputes import EvidenceUpdate

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
GIF = b"GIF89a\x01\x00\x01\x00"


@pytest.mark.parametrize(
    ("content", "kind"),
    [(PDF, EvidenceFileType.PDF), (JPEG, EvidenceFileType.JPEG), (PNG, EvidenceFileType.PNG)],
)
def test_sniffs_the_three_accepted_formats(content: bytes, kind: EvidenceFileType) -> None:
    assert sniff_file_type(content) is kind
    assert accepted_file_type(content, kind.value) is kind


@pytest.mark.parametrize("content", [GIF, b"", b"PK\x03\x04 zip", b"<html>%PDF-"])
def test_other_content_is_not_evidence(content: bytes) -> None:
    assert sniff_file_type(content) is None
    assert accepted_file_type(content, "application/pdf") is None


@pytest.mark.parametrize(
    ("content", "declared"),
    [
        (PDF, "image/png"),  # a PDF declared as an image
        (PNG, "application/pdf"),
        (JPEG, "application/octet-stream"),
        (PDF, None),
        (PDF, ""),
    ],
)
def test_content_and_declaration_must_agree(content: bytes, declared: str | None) -> None:
    assert accepted_file_type(content, declared) is None


def test_declared_types_ignore_parameters_and_case_and_know_jpg() -> None:
    assert declared_file_type("Application/PDF; name=x.pdf") is EvidenceFileType.PDF
    assert declared_file_type("image/jpg") is EvidenceFileType.JPEG
    assert declared_file_type("text/plain") is None


def test_the_public_evidence_model_has_every_checkout_field() -> None:
    expected = {f"{kind}_{part}" for kind in EVIDENCE_KINDS for part in ("file", "text")}
    assert set(EvidenceUpdate.model_fields) == expected
