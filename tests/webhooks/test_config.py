"""The webhooks configuration: located mistakes, secrets from the environment, the shipped example."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from router.cli import app
from router.webhooks.config import WebhooksConfigError, load, parse
from tests.webhooks.helpers import new_secret

EXAMPLE = Path(__file__).resolve().parents[2] / "rules" / "webhooks.example.yaml"
ENV_NAMES = ["MONITORING", "WEBFORM", "INTEGRATIONS", "SMS_CARRIER", "CHATOPS"]


def test_the_shipped_example_loads_once_its_secrets_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.setenv(f"TIERROUTE_WEBHOOK_{name}_SECRETS", f"{new_secret()} {new_secret()}")
    config = load(EXAMPLE)
    assert set(config.sources) == {"monitoring", "webform", "integrations", "sms-carrier"}
    assert len(config.sources["monitoring"].secrets) == 2
    assert config.vendor_for(None) is config.vendors["sms-carrier"]
    assert config.wants("sla.breached") and not config.wants("ticket.created")
    result = CliRunner().invoke(app, ["webhooks", "check", str(EXAMPLE)])
    assert result.exit_code == 0 and "3 sources, 1 vendors, 1 subscriptions: ok" in result.output


def test_a_missing_secret_is_a_located_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(f"TIERROUTE_WEBHOOK_{name}_SECRETS", raising=False)
    with pytest.raises(WebhooksConfigError) as caught:
        load(EXAMPLE)
    assert f"{EXAMPLE}:8:3: sources.monitoring: no secret configured" in str(caught.value)
    assert "TIERROUTE_WEBHOOK_MONITORING_SECRETS" in str(caught.value)


def test_every_mistake_is_listed_with_its_line_and_column() -> None:
    text = f"""
sources:
  good:
    secrets: [{new_secret()}]
  Bad Name:
    secrets: [{new_secret()}]
  short:
    secrets: [whsec_c2hvcnQ=]
    mapping: {{subjekt: title}}
subscriptions:
  chat:
    url: not a url
    secrets: [{new_secret()}]
    events: [ticket.exploded]
"""
    with pytest.raises(WebhooksConfigError) as caught:
        parse(text, "hooks.yaml")
    lines = str(caught.value).splitlines()
    assert any(line.startswith("hooks.yaml:5:3: sources.Bad Name") for line in lines), lines
    assert any(line.startswith("hooks.yaml:8:5: sources.short.secrets") and "24 random bytes" in line for line in lines)
    assert any(line.startswith("hooks.yaml:9:5: sources.short.mapping") and "subjekt" in line for line in lines)
    assert any(line.startswith("hooks.yaml:12:5: subscriptions.chat.url") for line in lines)
    assert any(line.startswith("hooks.yaml:14:5: subscriptions.chat.events") and "exploded" in line for line in lines)


def test_bad_yaml_and_bad_paths_are_located() -> None:
    with pytest.raises(WebhooksConfigError, match=r"^f\.yaml:3:\d+: not valid YAML"):
        parse("sources:\n  a: [\n  b: }", "f.yaml")
    with pytest.raises(WebhooksConfigError, match="not a valid JMESPath"):
        parse(f"sources:\n  a:\n    secrets: [{new_secret()}]\n    mapping: {{subject: 'a[?'}}", "f.yaml")
    with pytest.raises(WebhooksConfigError, match="default_vendor"):
        parse("default_vendor: nobody", "f.yaml")


def test_the_cli_check_exits_1_with_located_problems(tmp_path: Path) -> None:
    path = tmp_path / "hooks.yaml"
    path.write_text("sources:\n  a: {secrets: [nope]}\n")
    result = CliRunner().invoke(app, ["webhooks", "check", str(path)])
    assert result.exit_code == 1 and f"{path}:2:" in result.output
    secret = CliRunner().invoke(app, ["webhooks", "secret"]).output.strip()
    assert secret.startswith("whsec_") and parse(f"sources:\n  a: {{secrets: [{secret}]}}").source("a") is not None


def test_a_file_that_is_not_utf8_is_a_located_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.yaml"
    path.write_bytes("sources:\n  café: {}\n".encode("latin-1"))
    with pytest.raises(WebhooksConfigError, match=r":2:6: not UTF-8 text \(byte 0xe9\)"):
        load(path)
    result = CliRunner().invoke(app, ["webhooks", "check", str(path)])
    assert result.exit_code == 1 and "not UTF-8 text" in result.output
