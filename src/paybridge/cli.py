"""The `paybridge` command: serve, migrate, openapi (and operators' tools as they come)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
import uvicorn

from paybridge.app import create_app
from paybridge.persistence.engine import create_engine
from paybridge.persistence.migrations import upgrade_to_head
from paybridge.settings import Settings


async def _migrate(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()


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
@click.option("--check", is_flag=True, help="Fail if the file differs from the app's spec.")
def openapi(output: Path, check: bool) -> None:
    """Write (or check) the OpenAPI document integrators use."""
    spec = json.dumps(create_app(Settings()).openapi(), indent=2, sort_keys=True) + "\n"
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != spec:
            raise click.ClickException(f"{output} is out of date: run `paybridge openapi`")
        click.echo(f"{output} is current")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(spec, encoding="utf-8")
    click.echo(f"wrote {output}")
