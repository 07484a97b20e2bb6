"""Dispute evidence rules: the kinds Checkout.com accepts and what an evidence file may be.

A file is accepted only when its first bytes *and* its declared type agree on PDF, JPEG or
PNG (Checkout.com's list), and it is at most 4 MB; anything else is refused before upload.
"""

from __future__ import annotations

from enum import StrEnum

# Checkout.com's evidence kinds (ProvideEvidenceRequest): each has `<kind>_file` (a `file_…`
# id) and `<kind>_text` (≤ 500 characters).
EVIDENCE_KINDS = (
    "proof_of_delivery_or_service",
    "invoice_or_receipt",
    "invoice_showing_distinct_transactions",
    "customer_communication",
    "refund_or_cancellation_policy",
    "recurring_transaction_agreement",
    "additional_evidence",
    "proof_of_delivery_or_service_date",
)
EVIDENCE_TEXT_MAX = 500
MAX_FILE_BYTES = 4 * 1024 * 1024


class EvidenceFileType(StrEnum):
    PDF = "application/pdf"
    JPEG = "image/jpeg"
    PNG = "image/png"


_MAGIC: tuple[tuple[bytes, EvidenceFileType], ...] = (
    (b"%PDF-", EvidenceFileType.PDF),
    (b"\xff\xd8\xff", EvidenceFileType.JPEG),
    (b"\x89PNG\r\n\x1a\n", EvidenceFileType.PNG),
)
# Declared types browsers and Apex send for the same formats.
_ALIASES = {"image/jpg": EvidenceFileType.JPEG, "image/pjpeg": EvidenceFileType.JPEG}


def sniff_file_type(content: bytes) -> EvidenceFileType | None:
    """The format the content's signature bytes show, or None."""
    for magic, kind in _MAGIC:
        if content.startswith(magic):
            return kind
    return None


def declared_file_type(content_type: str | None) -> EvidenceFileType | None:
    """The declared media type (parameters ignored), when it is an accepted one."""
    if not content_type:
        return None
    media = content_type.split(";")[0].strip().lower()
    if media in _ALIASES:
        return _ALIASES[media]
    try:
        return EvidenceFileType(media)
    except ValueError:
        return None


def accepted_file_type(content: bytes, content_type: str | None) -> EvidenceFileType | None:
    """The file's type when the bytes and the declaration agree on an accepted format."""
    sniffed = sniff_file_type(content)
    return sniffed if sniffed is not None and sniffed is declared_file_type(content_type) else None
