"""Prometheus metrics on a registry owned by the container (no process-global registry)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

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

    def render(self) -> bytes:
        return generate_latest(self.registry)
