"""Configuration: every variable is documented, production refuses placeholders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from paybridge.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"


def env_names(model: type[BaseModel], prefix: str = "PAYBRIDGE_") -> Iterator[str]:
    for name, field in model.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            yield from env_names(type(default), f"{prefix}{name.upper()}__")
        else:
            yield f"{prefix}{name.upper()}"


def test_env_example_documents_every_variable() -> None:
    documented = ENV_EXAMPLE.read_text(encoding="utf-8")
    missing = [name for name in env_names(Settings) if f"{name}=" not in documented]
    assert missing == []


def test_embedded_defaults_need_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ENV_EXAMPLE.parent / "tests")  # no .env here
    settings = Settings()
    assert settings.database_url.startswith("sqlite+aiosqlite")
    assert settings.api_keys == []


def test_nested_variables_and_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PAYBRIDGE_API_KEYS", "k1-aaaaaaaaaaaaaaaaaaaaaaaa, k2-bbbbbbbbbbbbbbbbbbbbbbbb"
    )
    monkeypatch.setenv("PAYBRIDGE_CHECKOUT__WEBHOOK_SIGNATURE_KEYS", "old,new")
    monkeypatch.setenv("PAYBRIDGE_WORKER__EMBEDDED", "false")
    settings = Settings()
    assert [k.get_secret_value() for k in settings.api_keys] == [
        "k1-aaaaaaaaaaaaaaaaaaaaaaaa",
        "k2-bbbbbbbbbbbbbbbbbbbbbbbb",
    ]
    assert [k.get_secret_value() for k in settings.checkout.webhook_signature_keys] == [
        "old",
        "new",
    ]
    assert settings.worker.embedded is False


def test_production_refuses_placeholders() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(
            {"environment": "production", "checkout": {"secret_key": "change-me"}}
        )
    message = str(caught.value)
    assert "PAYBRIDGE_CHECKOUT__SECRET_KEY" in message
    assert "PAYBRIDGE_API_KEYS" in message
    assert "PostgreSQL" in message


def test_secrets_do_not_print() -> None:
    settings = Settings.model_validate({"checkout": {"secret_key": "sk_sbox_verysecret"}})
    assert "verysecret" not in repr(settings)


def test_secret_values_lists_every_configured_secret_and_the_database_password() -> None:
    settings = Settings.model_validate(
        {
            "database_url": "postgresql+asyncpg://paybridge:p%40ss-word@db.internal/paybridge",
            "api_keys": "key-one-0123456789abcdef,key-two-0123456789abcdef",
            "checkout": {"secret_key": "sk_sbox_x", "webhook_signature_keys": "whk-1,whk-2"},
            "salesforce": {"client_secret": "sf-secret"},
        }
    )
    assert set(settings.secret_values()) == {
        "p@ss-word",
        "key-one-0123456789abcdef",
        "key-two-0123456789abcdef",
        "sk_sbox_x",
        "whk-1",
        "whk-2",
        "sf-secret",
    }


def test_a_database_url_without_a_password_adds_none() -> None:
    settings = Settings.model_validate({"database_url": "sqlite+aiosqlite:///./paybridge.db"})
    assert settings.secret_values() == []


def test_gateway_notifications_take_a_url_and_rotating_secrets_that_are_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "PAYBRIDGE_SALESFORCE__GATEWAY__NOTIFICATION_URL",
        "https://shop.my.site.com/pay/services/data/v66.0/commerce/payments/notify?provider=0cJ",
    )
    monkeypatch.setenv("PAYBRIDGE_SALESFORCE__GATEWAY__NOTIFICATION_SECRETS", "old-gw,new-gw")
    gateway = Settings().salesforce.gateway

    assert gateway.is_configured
    assert [s.get_secret_value() for s in gateway.notification_secrets] == ["old-gw", "new-gw"]
    assert {"old-gw", "new-gw"} <= set(Settings().secret_values())


def test_production_refuses_a_notification_url_without_a_strong_secret() -> None:
    url = "https://shop.my.site.com/pay/services/data/v66.0/commerce/payments/notify"
    for secrets in ([], ["short"]):
        with pytest.raises(ValidationError, match="NOTIFICATION_SECRETS"):
            Settings.model_validate(
                {
                    "environment": "production",
                    "salesforce": {
                        "gateway": {"notification_url": url, "notification_secrets": secrets}
                    },
                }
            )
