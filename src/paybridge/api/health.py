"""Liveness, readiness (database reachable, migrations at head) and Prometheus metrics."""

from __future__ import annotations

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from paybridge.api.deps import ContainerDep
from paybridge.persistence.migrations import database_revision, head_revision
from paybridge.services.backlog import read_backlog

router = APIRouter(tags=["operations"])
_log = structlog.get_logger(__name__)


@router.get(
    "/healthz",
    summary="Liveness",
    operation_id="getLiveness",
    description="200 while the process serves requests; checks nothing else.",
)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database reachable and migrations current",
    operation_id="getReadiness",
    description="503 until the database answers and its schema is at the newest migration.",
)
async def readyz(container: ContainerDep) -> JSONResponse:
    try:
        current = await database_revision(container.engine)
    except Exception as exc:  # noqa: BLE001 — any database failure means "not ready"
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__},
            status_code=503,
        )
    head = head_revision()
    ready = current == head
    return JSONResponse(
        {
            "status": "ok" if ready else "unavailable",
            "database": "ok",
            "revision": current,
            "head": head,
        },
        status_code=200 if ready else 503,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    operation_id="getMetrics",
    description="Counters and latency histograms in the Prometheus text format.",
    response_class=Response,
)
async def metrics(container: ContainerDep) -> Response:
    # Counters of this process, and the backlog read from the database at scrape time (a
    # comment, not a docstring: it would become the OpenAPI description). A database failure
    # leaves the backlog gauges as last read: /metrics still answers.
    try:
        backlog = await read_backlog(container.uow, now=container.clock())
    except Exception:  # noqa: BLE001 — /readyz reports the database; the scrape goes on
        _log.warning("metrics.backlog.unavailable", exc_info=True)
    else:
        container.metrics.show_backlog(
            oldest_waiting_s=backlog.oldest_waiting_s,
            waiting_tasks=backlog.waiting_tasks,
            dead_tasks=backlog.dead_tasks,
            parked_syncs=backlog.parked_syncs,
            reconcile_give_ups=backlog.reconcile_give_ups,
        )
    return Response(container.metrics.render(), media_type=CONTENT_TYPE_LATEST)
