"""The `paybridge` command: serve, migrate, openapi (and operators' tools as they come)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import click
import httpx
import uvicorn
from sqlalchemy.engine import make_url

from paybridge.adapters.salesforce.errors import SalesforceError
from paybridge.api.salesforce_openapi import (
    external_service_registration,
    salesforce_external_service,
)
from paybridge.app import build_container, build_salesforce_client, create_app
from paybridge.cli_checkout import checkout_group
from paybridge.container import Container
from paybridge.doctor import doctor_command
from paybridge.logging import configure_logging
from paybridge.mapping.markets_file import (
    MarketsFileError,
    load_markets,
    market_secret_keys,
    missing_secret_envs,
)
from paybridge.mapping.salesforce_fields import SalesforceMappingError, load_salesforce_mapping
from paybridge.persistence.engine import create_engine
from paybridge.persistence.migrations import upgrade_to_head
from paybridge.sandbox.walkthrough import walkthrough
from paybridge.sandbox.wiring import WebhookKnobs, build_sandbox
from paybridge.services.salesforce_check import check_salesforce
from paybridge.settings import Settings
from paybridge.worker.tasks import build_worker


async def _migrate(settings: Settings) -> None:
    await _migrate_url(settings.database_url)


async def _migrate_url(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


T = TypeVar("T")
SANDBOX_DATABASE = "sqlite+aiosqlite:///./paybridge-sandbox.db"


@click.group()
def main() -> None:
    """paybridge: Salesforce ⇄ Checkout.com payments."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--migrate/--no-migrate", default=None, help="Run migrations first (default: on SQLite only)."
)
def serve(host: str, port: int, migrate: bool | None) -> None:
    """Run the API (and, by default, the embedded worker)."""
    settings = Settings()
    if migrate if migrate is not None else settings.is_sqlite:
        asyncio.run(_migrate(settings))
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--database",
    default=SANDBOX_DATABASE,
    show_default=True,
    help="SQLAlchemy URL; migrated automatically.",
)
@click.option(
    "--reset/--keep",
    default=True,
    show_default=True,
    help="Start from an empty SQLite database (the simulators start empty every run).",
)
@click.option("--webhook-delay-ms", default=100, show_default=True, type=click.IntRange(0))
@click.option(
    "--webhook-duplicates",
    default=0,
    show_default=True,
    type=click.IntRange(0, 10),
    help="Extra copies of every webhook.",
)
@click.option(
    "--webhook-reorder", is_flag=True, help="Deliver webhooks emitted together newest first."
)
def sandbox(
    *,
    host: str,
    port: int,
    database: str,
    reset: bool,
    webhook_delay_ms: int,
    webhook_duplicates: int,
    webhook_reorder: bool,
) -> None:
    """Run everything on this machine: API, worker, simulated Checkout.com and Salesforce,
    and a console at /sandbox. No configuration needed; Ctrl-C stops it."""
    base = Settings()
    if "PAYBRIDGE_LOG_LEVEL" not in os.environ:
        base = base.model_copy(update={"log_level": "WARNING"})  # the walkthrough stays legible
    if reset:
        reset_sqlite(database)
    asyncio.run(_migrate_url(database))
    shown_host = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
    public_url = f"http://{shown_host}:{port}"
    built = build_sandbox(
        public_url=public_url,
        database_url=database,
        base=base,
        knobs=WebhookKnobs(
            delay_s=webhook_delay_ms / 1000,
            duplicates=webhook_duplicates,
            reorder=webhook_reorder,
        ),
    )
    click.echo(
        walkthrough(
            public_url=public_url,
            api_key=built.api_key,
            generated=built.api_key_generated,
            database_url=database,
        )
    )
    uvicorn.run(built.app, host=host, port=port, log_config=None, access_log=False)


def reset_sqlite(database_url: str) -> None:
    """Delete a SQLite database file (and its journal files); other databases are left alone."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return
    path = Path(url.database)
    for candidate in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        candidate.unlink(missing_ok=True)


@main.command()
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve this worker's Prometheus metrics on 0.0.0.0:PORT/ (default: not served).",
)
def worker(metrics_port: int | None) -> None:
    """Run the background worker alone (scale it out beside API processes on PostgreSQL)."""
    asyncio.run(_run_worker(Settings(), metrics_port=metrics_port))


async def _run_worker(settings: Settings, *, metrics_port: int | None = None) -> None:
    configure_logging(settings.log_level, secrets=settings.secret_values())
    container = build_container(settings)
    stop_metrics = (
        container.metrics.serve(host="0.0.0.0", port=metrics_port)  # noqa: S104 — a pod's port
        if metrics_port is not None
        else None
    )
    runner = build_worker(container)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, runner.stop)
    if container.salesforce_sync is not None:
        await container.salesforce_sync.schedule_log_sweep()
    await container.schedule_periodic_checks()
    try:
        await runner.run()
        await runner.release_claimed()
    finally:
        if stop_metrics is not None:
            stop_metrics()
        await container.aclose()


@main.command()
def migrate() -> None:
    """Upgrade the database to the newest schema."""
    settings = Settings()
    asyncio.run(_migrate(settings))
    click.echo("database is at the newest revision")


@main.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("openapi/openapi.json"),
    show_default=True,
)
@click.option(
    "--salesforce-output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("openapi/salesforce-external-service.json"),
    show_default=True,
    help="The OpenAPI 3.0 rendering Salesforce External Services registers.",
)
@click.option(
    "--registration-output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(
        "salesforce/force-app/main/default/externalServiceRegistrations/"
        "Paybridge.externalServiceRegistration-meta.xml"
    ),
    show_default=True,
    help="The package's ExternalServiceRegistration carrying that rendering.",
)
@click.option("--check", is_flag=True, help="Fail if a file differs from the app's spec.")
def openapi(output: Path, salesforce_output: Path, registration_output: Path, check: bool) -> None:
    """Write (or check) the OpenAPI documents integrators and Salesforce use."""
    document = create_app(Settings()).openapi()
    salesforce = salesforce_external_service(document)
    files = {
        output: json.dumps(document, indent=2, sort_keys=True) + "\n",
        salesforce_output: json.dumps(salesforce, indent=2, sort_keys=True) + "\n",
        registration_output: external_service_registration(salesforce),
    }
    for path, text in files.items():
        if check:
            current = path.read_text(encoding="utf-8") if path.exists() else ""
            if current != text:
                raise click.ClickException(f"{path} is out of date: run `paybridge openapi`")
            click.echo(f"{path} is current")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        click.echo(f"wrote {path}")


@main.group(name="markets")
def markets_group() -> None:
    """Markets file tools."""


@markets_group.command(name="check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--require-secrets",
    is_flag=True,
    help="Also fail when a market's `secret_key_env` variable is not set in this environment.",
)
def markets_check(file: Path, require_secrets: bool) -> None:
    """Validate a markets file; every problem names the file, the market and the field."""
    try:
        book = load_markets(file)
        if require_secrets:
            market_secret_keys(book, os.environ, source=file)
    except MarketsFileError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise click.ClickException(f"{file}: {len(exc.problems)} problem(s)") from exc
    for market in book.markets:
        rule = "/".join(
            ",".join(sorted(values)) or "*" for values in (market.countries, market.currencies)
        )
        click.echo(
            f"{market.key}: channel {market.processing_channel_id}, "
            f"match {rule if market.has_rule else '(none)'}, "
            f"capture {market.capture.value}, 3DS {market.three_ds.policy.value}, "
            f"methods {', '.join(sorted(market.payment_methods))}"
        )
    for key, name in missing_secret_envs(book, os.environ):
        click.echo(f"warning: {file}: market {key}: {name} is not set here", err=True)
    default = f", default {book.default}" if book.default else ", no default market"
    click.echo(f"{file}: {len(book.markets)} market(s){default}: OK")


@main.group(name="salesforce")
def salesforce_group() -> None:
    """Salesforce org tools."""


@salesforce_group.command(name="check")
def salesforce_check_command() -> None:
    """Log in, check the API version, and describe every mapped object and field."""
    code = asyncio.run(salesforce_check(Settings()))
    if code:
        raise SystemExit(code)


async def salesforce_check(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    echo: Callable[[str], None] = click.echo,
) -> int:
    """0 when the org is ready for the configured profile; 1 with every problem printed."""
    sf = settings.salesforce
    try:
        profile = load_salesforce_mapping(sf.mapping_file).profile(sf.profile.value)
        http, client = build_salesforce_client(sf, transport=transport)
    except (SalesforceMappingError, ValueError, OSError) as exc:
        echo(f"configuration: {exc}")
        return 1
    try:
        report = await check_salesforce(client, profile)
    except SalesforceError as exc:
        echo(f"Salesforce: {exc.message}")
        return 1
    finally:
        await http.aclose()
    echo(f"{sf.instance_url}: API v{report.api_version}, profile {sf.profile.value}")
    for sobject in report.objects:
        echo(f"  described {sobject}")
    for note in report.notes:
        echo(f"  {note}")
    for problem in report.problems:
        echo(f"problem: {problem}")
    echo("OK" if report.ok else f"{len(report.problems)} problem(s)")
    return 0 if report.ok else 1


@salesforce_group.command(name="resend-logs")
def salesforce_resend_logs() -> None:
    """Send the integration logs Salesforce refused again (after fixing the cause)."""

    async def run(container: Container) -> int:
        if container.salesforce_sync is None:
            raise click.ClickException("Salesforce is not configured")
        return await container.salesforce_sync.resend_failed_logs()

    count = asyncio.run(_with_container(run))
    click.echo(f"{count} failed log(s) queued again")


@main.group(name="webhooks")
def webhooks_group() -> None:
    """Operators' tools for the webhook inbox."""


@webhooks_group.command(name="replay")
@click.argument("event_id")
def webhooks_replay(event_id: str) -> None:
    """Process one stored Checkout.com event again (safe: known facts change nothing)."""
    outcome = asyncio.run(_with_container(lambda c: c.webhooks.replay(event_id)))
    click.echo(f"{event_id}: {type(outcome).__name__.lower()}")


@webhooks_group.command(name="retry-dead")
def webhooks_retry_dead() -> None:
    """Give every dead-lettered background task another round of attempts."""
    count = asyncio.run(_with_container(lambda c: c.webhooks.retry_dead()))
    click.echo(f"{count} dead task(s) re-queued")


@main.group(name="payments")
def payments_group() -> None:
    """Operator commands for payments."""


@payments_group.command(name="reconcile")
@click.argument("payment_id")
def payments_reconcile(payment_id: str) -> None:
    """Ask Checkout.com for a payment's actions now and merge them (safe to repeat).
    PAYMENT_ID is paybridge's payment id or the Checkout.com pay_… id."""

    async def run(container: Container) -> str:
        try:
            checkout_id, outcome, status = await container.reconciliation.reconcile_now(payment_id)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from exc
        return f"{checkout_id}: {type(outcome).__name__.lower()}, status {status}"

    click.echo(asyncio.run(_with_container(run)))


@main.group(name="settlement")
def settlement_group() -> None:
    """Fees and settlement from Checkout.com's financial actions."""


@settlement_group.command(name="sync")
@click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option(
    "--queue",
    is_flag=True,
    help="Queue one sweep task per day for the worker (resumable, waits out outages) "
    "instead of running them here.",
)
def settlement_sync(first: datetime, last: datetime, queue: bool) -> None:
    """Ask Checkout.com for the financial actions of the captures and refunds made from
    --from to --to (UTC days, both included) and fold their fees and settlement in."""
    if last < first:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    if (last - first).days > 366:
        raise click.BadParameter("at most 366 days at once", param_hint="--to")

    async def run(container: Container) -> str:
        if queue:
            days = await container.settlement.enqueue_sweeps(first.date(), last.date())
            return f"{len(days)} day(s) queued"
        day = first.date()
        while day <= last.date():
            await container.settlement.sweep_day(day)
            day += timedelta(days=1)
        return f"{(last - first).days + 1} day(s) swept"

    click.echo(asyncio.run(_with_container(run)))


async def _with_container(use: Callable[[Container], Awaitable[T]]) -> T:
    container = build_container(Settings())
    try:
        return await use(container)
    finally:
        await container.aclose()


main.add_command(checkout_group)
main.add_command(doctor_command(salesforce_check))
