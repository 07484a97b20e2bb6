"""What the deployment files must agree with: the documented settings, the CLI, the image."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import BaseModel, SecretStr

from paybridge.cli import main
from paybridge.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

_DOCUMENTED = re.compile(r"^#?\s*(PAYBRIDGE_[A-Z0-9_]+)=", re.MULTILINE)


def documented_settings() -> set[str]:
    """Every `PAYBRIDGE_…` name `.env.example` documents (set or commented out)."""
    return set(_DOCUMENTED.findall((ROOT / ".env.example").read_text(encoding="utf-8")))


def secret_settings(model: type[BaseModel] = Settings, prefix: str = "PAYBRIDGE_") -> set[str]:
    """Names whose values are secrets: `SecretStr` fields, and the database URL (a password)."""
    found = {"PAYBRIDGE_DATABASE_URL"} if model is Settings else set()
    for name, field in model.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            found |= secret_settings(type(default), f"{prefix}{name.upper()}__")
        elif "SecretStr" in str(field.annotation) or field.annotation is SecretStr:
            found.add(f"{prefix}{name.upper()}")
    return found


def is_cli_command(argv: list[str]) -> bool:
    """Whether `argv` names a `paybridge` command (options after it are the command's)."""
    if not argv or argv[0] != "paybridge":
        return False
    command: click.Command = main
    for word in argv[1:]:
        if word.startswith("-"):
            break
        if not isinstance(command, click.Group) or word not in command.commands:
            return False
        command = command.commands[word]
    return not isinstance(command, click.Group)


def read_env_file(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    pairs = (line.partition("=") for line in lines if line.strip() and not line.startswith("#"))
    return {name: value for name, _, value in pairs}


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """The runtime stage's instructions as (keyword, arguments), continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    instructions = [tuple(line.split(None, 1)) for line in lines if line and line[0] != "#"]
    stages = [i for i, parts in enumerate(instructions) if parts[0] == "FROM"]
    return [(parts[0], parts[1]) for parts in instructions[stages[-1] :] if len(parts) == 2]
