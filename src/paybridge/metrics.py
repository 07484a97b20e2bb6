"""Prometheus metrics on a registry owned by the container (no process-global registry)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    _lanes_shown: set[str] = field(default_factory=set, init=False, repr=False)
    _kinds_shown: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.http_requests = Counter(
            "paybridge_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "paybridge_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=r,
        )
        self.checkout_calls = Counter(
            "paybridge_checkout_calls",
            "Checkout.com call attempts",
            ["operation", "outcome"],
            registry=r,
        )
        self.checkout_latency = Histogram(
            "paybridge_checkout_call_seconds",
            "Checkout.com call latency",
            ["operation"],
            registry=r,
        )
        self.webhooks = Counter(
            "paybridge_webhooks", "Webhook deliveries", ["outcome", "type"], registry=r
        )
        self.tasks = Counter(
            "paybridge_worker_tasks", "Outbox tasks run", ["kind", "outcome"], registry=r
        )
        self.salesforce_calls = Counter(
            "paybridge_salesforce_api_calls", "Salesforce API calls made", ["operation"], registry=r
        )
        self.salesforce_api_usage = Gauge(
            "paybridge_salesforce_api_usage", "Sforce-Limit-Info api-usage", ["kind"], registry=r
        )
        self.unsettled_captures = Counter(
            "paybridge_unsettled_captures",
            "Captures found still without settlement after the configured days (each once)",
            registry=r,
        )
        self.expiring_authorizations = Counter(
            "paybridge_expiring_authorizations",
            "Uncaptured authorizations warned about before they expire (each once)",
            registry=r,
        )

        # Read from the database when /metrics is scraped (see `show_backlog`).
        self.oldest_waiting = Gauge(
            "paybridge_outbox_oldest_waiting_seconds",
            "Age of the oldest task not yet done, per worker lane",
            ["lane"],
            registry=r,
        )
        self.waiting_tasks = Gauge(
            "paybridge_outbox_waiting_tasks",
            "Tasks not yet done (pending or running), per worker lane",
            ["lane"],
            registry=r,
        )
        self.dead_tasks = Gauge(
            "paybridge_outbox_dead_tasks", "Dead-lettered tasks, per kind", ["kind"], registry=r
        )
        self.parked_syncs = Gauge(
            "paybridge_salesforce_parked_syncs",
            "Payments whose last Salesforce write was refused (fix, then it is written again)",
            registry=r,
        )
        self.reconcile_give_ups = Gauge(
            "paybridge_reconcile_give_ups_24h",
            "Payments given up on by reconciliation in the last 24 hours",
            registry=r,
        )

    def show_backlog(
        self,
        *,
        oldest_waiting_s: Mapping[str, float],
        waiting_tasks: Mapping[str, int],
        dead_tasks: Mapping[str, int],
        parked_syncs: int,
        reconcile_give_ups: int,
    ) -> None:
        """Set the database-read gauges; a lane or kind seen before and now empty reads 0
        (rather than vanishing, which would read as "no data" on the dashboard)."""
        _set_all(self.oldest_waiting, oldest_waiting_s, shown=self._lanes_shown)
        _set_all(self.waiting_tasks, waiting_tasks, shown=self._lanes_shown)
        _set_all(self.dead_tasks, dead_tasks, shown=self._kinds_shown)
        self.parked_syncs.set(parked_syncs)
        self.reconcile_give_ups.set(reconcile_give_ups)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def serve(self, *, host: str, port: int) -> Callable[[], None]:
        """Serve this registry over HTTP from a thread, for a process without the API (the
        worker: its task outcomes and Salesforce usage live only here). Returns `stop`."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join()

        return stop


def _set_all(gauge: Gauge, values: Mapping[str, float], *, shown: set[str]) -> None:
    for label in shown - set(values):
        gauge.labels(label).set(0)
    for label, value in values.items():
        gauge.labels(label).set(value)
    shown.update(values)
