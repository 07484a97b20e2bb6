"""Checkout.com disputes (GET resource, event data) → DisputeRecord."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from paybridge.adapters.checkout.models import Dispute
from paybridge.domain.disputes import DisputeStatus
from paybridge.mapping.checkout_disputes import (
    DisputeRecord,
    combine,
    from_dispute,
    from_event,
    status_for,
)
from paybridge.mapping.checkout_events import parse_envelope
from tests.webhook_events import dispute_event, signed

DSP = "dsp_rbhwd2qrg13uhrp2newf"


def resource(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": DSP,
        "entity_id": "ent_wxglze3wwywujg4nna5fb7ldli",
        "category": "fraudulent",
        "amount": 999,
        "currency": "gbp",
        "reason_code": "10.4",
        "status": "evidence_required",
        "relevant_evidence": [["proof_of_delivery_or_service"], "invoice_or_receipt"],
        "evidence_required_by": "2018-08-21T00:00:00Z",
        "received_on": "2018-08-01T04:00:10Z",
        "last_update": "2018-08-04T10:53:13.1234567Z",
        "payment": {"id": "pay_abc", "action_id": "act_abc", "amount": 999, "currency": "GBP"},
        "_links": {"self": {"href": "https://api.checkout.com/disputes/" + DSP}},
    }
    body.update(overrides)
    return body


def test_the_resource_is_read_with_its_nested_payment() -> None:
    record = from_dispute(Dispute.model_validate(resource()))

    assert record == DisputeRecord(
        id=DSP,
        status="evidence_required",
        category="fraudulent",
        reason_code="10.4",
        amount_minor=999,
        currency="GBP",
        evidence_required_by=datetime(2018, 8, 21, tzinfo=UTC),
        received_on=datetime(2018, 8, 1, 4, 0, 10, tzinfo=UTC),
        last_update=datetime(2018, 8, 4, 10, 53, 13, 123456, tzinfo=UTC),
        relevant_evidence=("proof_of_delivery_or_service", "invoice_or_receipt"),
        checkout_payment_id="pay_abc",
        payment_action_id="act_abc",
    )


def test_a_resource_without_payment_or_offsets_still_maps() -> None:
    body = resource(payment=None, received_on="2018-08-01T04:00:10", amount=12.0)
    record = from_dispute(Dispute.model_validate(body))

    assert record.checkout_payment_id is None
    assert record.received_on == datetime(2018, 8, 1, 4, 0, 10, tzinfo=UTC)  # read as UTC
    assert record.amount_minor == 12


def event_record(**kwargs: Any) -> DisputeRecord | None:
    raw, _ = signed(dispute_event("dispute_lost", DSP, **kwargs))
    return from_event(parse_envelope(raw))


def test_event_data_is_flat_and_carries_the_reference() -> None:
    record = event_record(payment_id="pay_abc", reference="00000100", amount=2500)

    assert record is not None
    assert record.id == DSP
    assert record.status is None
    assert (record.checkout_payment_id, record.payment_reference) == ("pay_abc", "00000100")
    assert record.payment_action_id == "act_disputedcapture00000000000"
    assert (record.amount_minor, record.currency) == (2500, "EUR")
    assert record.received_on == datetime(2026, 11, 28, 9, tzinfo=UTC)  # from `date`
    assert record.evidence_required_by == datetime(2026, 12, 12, tzinfo=UTC)


def test_an_event_without_a_dispute_id_is_not_a_dispute() -> None:
    raw, _ = signed(dispute_event("dispute_won", "pay_notadispute"))
    assert from_event(parse_envelope(raw)) is None


def test_junk_values_are_dropped_not_trusted() -> None:
    raw, _ = signed(
        {
            "id": "evt_1",
            "type": "dispute_won",
            "data": {
                "id": DSP,
                "amount": "12.5",
                "currency": True,
                "evidence_required_by": "next tuesday",
                "payment_reference": "R" * 80,
            },
        }
    )
    record = from_event(parse_envelope(raw))
    assert record is not None
    assert (record.amount_minor, record.currency, record.evidence_required_by) == (None,) * 3
    assert record.payment_reference == "R" * 50


def test_combine_prefers_the_resource_and_fills_its_gaps_from_the_event() -> None:
    fetched = from_dispute(Dispute.model_validate(resource()))
    seen = event_record(payment_id="pay_other", reference="00000100", amount=1)

    combined = combine(fetched, seen)

    assert combined is not None
    assert combined.checkout_payment_id == "pay_abc"  # the resource wins
    assert combined.amount_minor == 999
    assert combined.payment_reference == "00000100"  # only the event knows it
    assert combine(None, seen) == seen
    assert combine(fetched, None) == fetched


def test_status_comes_from_the_resource_first_then_the_event_type() -> None:
    fetched = from_dispute(Dispute.model_validate(resource(status="won")))
    assert status_for(fetched, "dispute_evidence_submitted") is DisputeStatus.WON

    unknown = from_dispute(Dispute.model_validate(resource(status="pre_arbitration_open")))
    assert status_for(unknown, "dispute_lost") is DisputeStatus.LOST

    assert status_for(DisputeRecord(id=DSP), "dispute_resolved") is DisputeStatus.RESOLVED
    assert status_for(DisputeRecord(id=DSP), "dispute_new_kind") is None
