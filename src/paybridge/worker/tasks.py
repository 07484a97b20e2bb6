"""Task kinds → handlers, built from the container (the worker's own composition)."""

from __future__ import annotations

import functools

from paybridge.container import Container
from paybridge.persistence.presence import Presence
from paybridge.services.tasks import BatchHandler
from paybridge.worker.runner import LaneLimits, Worker, WorkerConfig


def build_handlers(container: Container) -> dict[str, BatchHandler]:
    handlers: dict[str, BatchHandler] = {}
    for service in container.task_services:
        handlers.update(service.task_handlers())
    return handlers


def build_worker(container: Container, *, worker_id: str | None = None) -> Worker:
    settings = container.settings.worker
    return Worker(
        uow=container.uow,
        handlers=build_handlers(container),
        clock=container.clock,
        metrics=container.metrics,
        config=WorkerConfig(
            poll_interval_s=settings.poll_interval_s,
            batch_size=settings.batch_size,
            lease_s=settings.lease_s,
            max_attempts=settings.max_attempts,
            backoff_base_s=settings.backoff_base_s,
            backoff_max_s=settings.backoff_max_s,
            outage_backoff_max_s=settings.outage_backoff_max_s,
            lanes=not container.settings.is_sqlite,
            lane_limits={
                "salesforce": LaneLimits(
                    batch_size=settings.salesforce_batch_size,
                    in_flight=settings.salesforce_batches_in_flight,
                    linger_s=settings.salesforce_linger_s,
                    busy_linger_s=settings.salesforce_busy_linger_s,
                    busy_from=settings.salesforce_busy_from,
                )
            },
        ),
        worker_id=worker_id,
        doorbell=container.doorbell,
        # On PostgreSQL a running worker holds a presence lock, so others take over its
        # tasks the moment its process is gone; SQLite keeps a single worker.
        presence=None
        if container.settings.is_sqlite
        else functools.partial(Presence, container.engine),
    )
