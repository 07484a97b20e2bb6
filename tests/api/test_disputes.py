"""Disputes from Salesforce: accept, evidence files, save and submit evidence — state rules,
idempotency and the request shapes Checkout.com's spec defines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from paybridge.adapters.http import RetryPolicy
from paybridge.app import build_container, create_app
from paybridge.container import Container
from paybridge.worker.tasks import build_worker
from tests.checkout_spec import validate_against_spec
from tests.conftest import API_KEY, FixedClock, make_settings, truncate_all
from tests.simulators.checkout import CheckoutSimulator
from tests.webhook_events import dispute_event, event, signed

PID = "pay_disputedviaapi00000000001"
PDF = b"%PDF-1.7\n" + b"x" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
_keys = iter(range(1_000_000))


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"dispute-key-{next(_keys):08d}"}


@dataclass
class Env:
    client: httpx.AsyncClient
    container: Container
    sim: CheckoutSimulator
    clock: FixedClock

    async def deliver(self, body: dict[str, Any]) -> None:
        raw, headers = signed(body)
        response = await self.client.post("/v1/webhooks/checkout", content=raw, headers=headers)
        assert response.status_code == 200

    async def dispute(self, status: str = "evidence_required", **kwargs: Any) -> str:
        """A dispute on the captured payment PID, known to paybridge through its webhook."""
        dsp = self.sim.add_dispute(payment_id=PID, status=status, **kwargs)
        await self.deliver(dispute_event("dispute_evidence_required", dsp, payment_id=PID))
        await build_worker(self.container).drain()
        return dsp


@pytest.fixture
async def env(pg_url: str, checkout_sim: CheckoutSimulator) -> AsyncIterator[Env]:
    clock = FixedClock()  # 2026-11-28 12:00 UTC; the simulator's deadline is 2026-12-12
    container = build_container(
        make_settings(pg_url),
        clock=clock,
        checkout_transport=checkout_sim.transport(),
        checkout_retry=RetryPolicy.immediate(3),
    )
    await truncate_all(container.engine)
    app: FastAPI = create_app(container=container)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://paybridge.test",
        headers={"X-API-Key": API_KEY},
    ) as client:
        result = Env(client, container, checkout_sim, clock)
        await result.deliver(event("payment_approved", PID, action_id="act_auth_api"))
        await result.deliver(event("payment_captured", PID, action_id="act_cap_api"))
        await build_worker(container).drain()
        yield result
    await container.aclose()


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


# --- accept ---------------------------------------------------------------------------------


async def test_accept_once_per_key_and_replay(env: Env) -> None:
    dsp = await env.dispute()
    headers = key()

    first = await env.client.post(f"/v1/disputes/{dsp}/accept", headers=headers)
    again = await env.client.post(f"/v1/disputes/{dsp}/accept", headers=headers)

    assert first.status_code == 202, first.text
    assert first.json()["status"] == "accepted"
    assert first.json()["open_for_evidence"] is False
    assert (again.status_code, again.json()) == (202, first.json())
    calls = [r for r in env.sim.requests if r[1] == f"/disputes/{dsp}/accept"]
    assert len(calls) == 1  # the replay never reached Checkout.com
    assert calls[0][3] is None  # no body: the spec defines none
    assert "cko-idempotency-key" in calls[0][2]
    payment = (await env.client.get(f"/v1/payments/{PID}")).json()
    assert payment["amounts"]["lost_in_disputes"] == "149.90"

    other_key = await env.client.post(f"/v1/disputes/{dsp}/accept", headers=key())
    assert (other_key.status_code, error_code(other_key)) == (409, "dispute_decided")


async def test_accept_after_evidence_was_submitted_is_refused(env: Env) -> None:
    dsp = await env.dispute(status="evidence_under_review")

    response = await env.client.post(f"/v1/disputes/{dsp}/accept", headers=key())

    assert (response.status_code, error_code(response)) == (409, "dispute_not_open")
    assert not env.sim.calls("POST", f"/disputes/{dsp}/accept")


async def test_unknown_dispute_and_missing_key(env: Env) -> None:
    unknown = await env.client.post("/v1/disputes/dsp_nope/accept", headers=key())
    assert (unknown.status_code, error_code(unknown)) == (404, "dispute_not_found")
    assert (await env.client.get("/v1/disputes/dsp_nope")).status_code == 404
    dsp = await env.dispute()
    no_key = await env.client.post(f"/v1/disputes/{dsp}/accept")
    assert (no_key.status_code, error_code(no_key)) == (400, "idempotency_key_missing")
    no_auth = await env.client.get(f"/v1/disputes/{dsp}", headers={"X-API-Key": "wrong"})
    assert no_auth.status_code == 401


# --- evidence -------------------------------------------------------------------------------


async def test_full_evidence_flow_with_request_shapes_from_the_spec(env: Env) -> None:
    dsp = await env.dispute()

    upload = await env.client.post(
        f"/v1/disputes/{dsp}/files",
        files={"file": ("../../delivery note.pdf", PDF, "application/pdf")},
        headers=key(),
    )
    assert upload.status_code == 201, upload.text
    file_id = upload.json()["file_id"]
    assert file_id.startswith("file_")
    assert upload.json()["filename"] == "delivery note.pdf"  # no path survives
    assert env.sim.uploads == [
        {
            "id": file_id,
            "filename": "delivery note.pdf",
            "content_type": "application/pdf",
            "size": len(PDF),
            "purpose": "dispute_evidence",
        }
    ]

    evidence = {
        "proof_of_delivery_or_service_file": file_id,
        "proof_of_delivery_or_service_text": "Signed delivery note",
        "customer_communication_text": "Shopper confirmed receipt by e-mail",
    }
    saved = await env.client.put(f"/v1/disputes/{dsp}/evidence", json=evidence, headers=key())
    assert saved.status_code == 200, saved.text
    assert saved.json()["evidence"] == evidence
    (sent,) = env.sim.calls("PUT", f"/disputes/{dsp}/evidence")
    assert sent == evidence
    validate_against_spec(sent, "ProvideEvidenceRequest")

    submitted = await env.client.post(f"/v1/disputes/{dsp}/evidence/submit", headers=key())
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["status"] == "evidence_under_review"
    assert env.sim.calls("POST", f"/disputes/{dsp}/evidence") == [None]  # no body

    late = await env.client.put(f"/v1/disputes/{dsp}/evidence", json=evidence, headers=key())
    assert (late.status_code, error_code(late)) == (409, "dispute_not_open")


async def test_evidence_is_validated_before_anything_is_sent(env: Env) -> None:
    dsp = await env.dispute()
    cases = [
        {},
        {"invoice_or_receipt_file": "not-a-file-id"},
        {"invoice_or_receipt_text": "x" * 501},
        {"unknown_evidence_text": "hello"},
        {"additional_evidence_text": "card 4242 4242 4242 4242"},
    ]
    for body in cases:
        response = await env.client.put(f"/v1/disputes/{dsp}/evidence", json=body, headers=key())
        assert response.status_code == 422, (body, response.text)
    assert not env.sim.calls("PUT", f"/disputes/{dsp}/evidence")


async def test_deadline_passed_is_a_409_and_never_reaches_checkout(env: Env) -> None:
    dsp = await env.dispute()
    env.clock.now += timedelta(days=15)  # past 2026-12-12

    evidence = {"additional_evidence_text": "too late"}
    saved = await env.client.put(f"/v1/disputes/{dsp}/evidence", json=evidence, headers=key())
    submitted = await env.client.post(f"/v1/disputes/{dsp}/evidence/submit", headers=key())
    accepted = await env.client.post(f"/v1/disputes/{dsp}/accept", headers=key())

    for response in (saved, submitted, accepted):
        assert (response.status_code, error_code(response)) == (409, "evidence_deadline_passed")
    assert (await env.client.get(f"/v1/disputes/{dsp}")).json()["open_for_evidence"] is False
    assert not [r for r in env.sim.requests if r[1].startswith(f"/disputes/{dsp}/")]


async def test_decided_dispute_is_a_409_and_the_refusal_is_replayed(env: Env) -> None:
    dsp = await env.dispute(status="won")
    headers = key()

    first = await env.client.post(f"/v1/disputes/{dsp}/evidence/submit", headers=headers)
    env.sim.set_dispute_status(dsp, "evidence_required")  # whatever happens meanwhile
    again = await env.client.post(f"/v1/disputes/{dsp}/evidence/submit", headers=headers)

    assert (first.status_code, error_code(first)) == (409, "dispute_decided")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "dispute_decided"
    upload = await env.client.post(
        f"/v1/disputes/{dsp}/files",
        files={"file": ("a.pdf", PDF, "application/pdf")},
        headers=key(),
    )
    assert (upload.status_code, error_code(upload)) == (409, "dispute_decided")
    assert env.sim.uploads == []


async def test_a_refusal_by_checkout_is_stored_and_replayed(env: Env) -> None:
    dsp = await env.dispute()
    env.sim.set_dispute_status(dsp, "evidence_under_review")  # paybridge does not know yet
    headers = key()

    first = await env.client.post(f"/v1/disputes/{dsp}/evidence/submit", headers=headers)
    again = await env.client.post(f"/v1/disputes/{dsp}/evidence/submit", headers=headers)

    assert first.status_code == 422
    assert error_code(first) == "upstream_validation_failed"
    assert again.json() == first.json()
    assert len(env.sim.calls("POST", f"/disputes/{dsp}/evidence")) == 1


async def test_checkout_unavailable_releases_the_key_for_a_retry(env: Env) -> None:
    dsp = await env.dispute()
    headers = key()
    env.sim.fail_next = 3

    failed = await env.client.post(f"/v1/disputes/{dsp}/accept", headers=headers)
    retried = await env.client.post(f"/v1/disputes/{dsp}/accept", headers=headers)

    assert failed.status_code == 503
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "accepted"


# --- files ----------------------------------------------------------------------------------


async def test_files_of_other_types_are_refused(env: Env) -> None:
    dsp = await env.dispute()
    cases = [
        ("a.gif", b"GIF89a....", "image/gif"),
        ("a.pdf", b"GIF89a....", "application/pdf"),  # declared PDF, content is not
        ("a.png", PDF, "image/png"),  # content PDF, declared PNG
        ("a.exe", b"MZ\x90\x00", "application/octet-stream"),
    ]
    for name, content, declared in cases:
        response = await env.client.post(
            f"/v1/disputes/{dsp}/files", files={"file": (name, content, declared)}, headers=key()
        )
        assert response.status_code == 415, (name, response.text)
        assert error_code(response) == "invalid_file_type"
    png = await env.client.post(
        f"/v1/disputes/{dsp}/files", files={"file": ("x.png", PNG, "image/png")}, headers=key()
    )
    assert png.status_code == 201
    assert len(env.sim.uploads) == 1


async def test_files_above_4_mb_are_refused(env: Env) -> None:
    dsp = await env.dispute()
    just_over = PDF + b"x" * (4 * 1024 * 1024 - len(PDF) + 1)
    way_over = PDF + b"x" * (6 * 1024 * 1024)

    over = await env.client.post(
        f"/v1/disputes/{dsp}/files",
        files={"file": ("big.pdf", just_over, "application/pdf")},
        headers=key(),
    )
    huge = await env.client.post(
        f"/v1/disputes/{dsp}/files",
        files={"file": ("huge.pdf", way_over, "application/pdf")},
        headers=key(),
    )

    assert (over.status_code, error_code(over)) == (413, "file_too_large")
    assert (huge.status_code, error_code(huge)) == (413, "payload_too_large")
    assert env.sim.uploads == []


async def test_upload_needs_multipart_with_a_file_part(env: Env) -> None:
    dsp = await env.dispute()
    as_json = await env.client.post(f"/v1/disputes/{dsp}/files", json={"a": 1}, headers=key())
    no_file = await env.client.post(
        f"/v1/disputes/{dsp}/files", data={"file": "just text"}, files={"x": ("x", b"1")}
    )
    no_file_keyed = await env.client.post(
        f"/v1/disputes/{dsp}/files",
        data={"file": "just text"},
        files={"other": ("a.pdf", PDF, "application/pdf")},
        headers=key(),
    )

    assert (as_json.status_code, error_code(as_json)) == (415, "unsupported_media_type")
    assert no_file.status_code == 400  # no Idempotency-Key
    assert no_file_keyed.status_code == 422


async def test_the_same_upload_key_returns_the_same_file(env: Env) -> None:
    dsp = await env.dispute()
    headers = key()
    files = {"file": ("a.pdf", PDF, "application/pdf")}

    first = await env.client.post(f"/v1/disputes/{dsp}/files", files=files, headers=headers)
    again = await env.client.post(f"/v1/disputes/{dsp}/files", files=files, headers=headers)
    other = await env.client.post(
        f"/v1/disputes/{dsp}/files",
        files={"file": ("a.pdf", PDF + b"changed", "application/pdf")},
        headers=headers,
    )

    assert first.json() == again.json()
    assert len(env.sim.uploads) == 1
    assert (other.status_code, error_code(other)) == (422, "idempotency_key_reused")


async def test_openapi_documents_the_dispute_routes(env: Env) -> None:
    spec = (await env.client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert set(paths["/v1/disputes/{dispute_id}/files"]["post"]["responses"]) >= {
        "201",
        "409",
        "413",
        "415",
    }
    upload = paths["/v1/disputes/{dispute_id}/files"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    evidence = paths["/v1/disputes/{dispute_id}/evidence"]["put"]["requestBody"]
    assert evidence["content"]["application/json"]["schema"]["$ref"].endswith("/EvidenceUpdate")
    assert "EvidenceUpdate" in spec["components"]["schemas"]
    assert "202" in paths["/v1/disputes/{dispute_id}/evidence/submit"]["post"]["responses"]
    assert "lost_in_disputes" in spec["components"]["schemas"]["AmountsRead"]["properties"]
