"""docker-compose.yml runs the whole product as the README describes it: the services exist, are wired to
each other (database, Redis, outbound mail to mailpit, the SMTP listener published), have health checks,
and the file validates. Docker itself is not needed; where it runs, the stack is started for real."""

from __future__ import annotations

import json
import os
import re
import shutil
import smtplib
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
README = ROOT / "README.md"
DEPLOYMENT = ROOT / "docs" / "deployment.md"
APP_SERVICES = ["api", "worker-frontline", "worker-expert", "smtp"]
SERVICES = {*APP_SERVICES, "redis", "postgres", "mailpit"}
WITH_HEALTHCHECK = [*APP_SERVICES, "redis", "postgres"]
#: Long-running ``tierroute`` commands of the README's command table that are part of every deployment
#: (``imap`` runs only where mailboxes are configured: its service sits behind a compose profile).
ALWAYS_RUNNING = {"serve", "worker", "smtp"}
OPTIONAL = {"imap": "imap"}


def _compose() -> dict[str, Any]:
    data = YAML(typ="safe").load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _services() -> dict[str, Any]:
    services = _compose()["services"]
    assert isinstance(services, dict)
    return services


def _resolved(value: object) -> str:
    """A value as compose reads it with nothing set in the environment: ``${X:-default}`` is ``default``."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))


def _command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def _readme_process_commands() -> set[str]:
    """``tierroute X`` commands the README's command table lists that run until stopped."""
    rows = [line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("| `tierroute ")]
    listed = {command for row in rows for command in re.findall(r"`tierroute (\w+)", row.split(" | ")[0])}
    return listed & {"up", "serve", "worker", "smtp", "imap"}


def test_compose_declares_services_with_healthchecks() -> None:
    services = _services()
    assert set(services) >= SERVICES, f"missing services: {sorted(SERVICES - set(services))}"
    for name, service in services.items():
        if "build" in service and name not in WITH_HEALTHCHECK:
            # The image's own check fetches the API's /healthz: wrong for any other process.
            assert service.get("healthcheck", {}).get("disable"), f"{name} would inherit the API's health check"
    for name in WITH_HEALTHCHECK:
        healthcheck = services[name].get("healthcheck")
        assert healthcheck and healthcheck.get("test"), f"service {name} has no healthcheck test"
        assert not healthcheck.get("disable"), f"service {name} disables its healthcheck"


def test_every_process_the_readme_names_has_a_service() -> None:
    """Each long-running command of the README (``up`` is all of them in one process) runs in a service."""
    commands = _readme_process_commands()
    assert commands >= ALWAYS_RUNNING | set(OPTIONAL), commands  # the README still lists them
    running: dict[str, list[str]] = {}
    for name, service in _services().items():
        command = _command_of(service)
        if command[:1] == ["tierroute"] and len(command) > 1:
            running.setdefault(command[1], []).append(name)
    for command in sorted(commands - {"up"}):
        assert command in running, f"no compose service runs `tierroute {command}` (README lists it)"
    for command, profile in OPTIONAL.items():
        for name in running[command]:
            assert profile in _services()[name].get("profiles", []), (
                f"{name} should start only with --profile {profile}"
            )
    for command in ALWAYS_RUNNING:
        for name in running[command]:
            assert not _services()[name].get("profiles"), f"{name} must start with a plain `docker-compose up`"


def test_the_deployment_guide_lists_exactly_the_compose_services() -> None:
    section = DEPLOYMENT.read_text(encoding="utf-8").split("## Compose services", 1)[1].split("\n## ", 1)[0]
    table = re.findall(r"^\| `([\w-]+)`\s+\|", section, flags=re.MULTILINE)
    assert set(table) == set(_services()), (sorted(table), sorted(_services()))


def test_compose_app_services_wait_for_healthy_backends() -> None:
    services = _services()
    for name in [*APP_SERVICES, "imap"]:
        depends_on = services[name]["depends_on"]
        for backend in ["postgres", "redis"]:
            assert depends_on[backend]["condition"] == "service_healthy", (name, backend)
        env = services[name]["environment"]
        assert env["TIERROUTE_DATABASE_URL"].startswith("postgresql+psycopg://"), name
        assert env["TIERROUTE_REDIS_URL"].startswith("redis://redis:"), name


def test_outbound_mail_goes_to_mailpit() -> None:
    """Without TIERROUTE_SMTP_URL replies stay pending for ever; compose sends them to the mail sink."""
    services = _services()
    mailpit_smtp = {_resolved(p).rsplit(":", 1)[-1] for p in services["mailpit"]["ports"]}
    assert "1025" in mailpit_smtp
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert _resolved(env.get("TIERROUTE_SMTP_URL")) == "smtp://mailpit:1025", name
        assert "mailpit" in services[name]["depends_on"], f"{name} sends mail: it should start after mailpit"


def test_the_smtp_listener_is_published_and_listens_on_all_interfaces() -> None:
    smtp = _services()["smtp"]
    command = _command_of(smtp)
    assert command[:2] == ["tierroute", "smtp"]
    host = command[command.index("--host") + 1]
    port = command[command.index("--port") + 1]
    assert host == "0.0.0.0", "inside a container the listener must not bind loopback only"
    assert any(str(p).endswith(f":{port}") for p in smtp["ports"]), smtp["ports"]
    api = _services()["api"]
    assert any(str(p).endswith(":8000") for p in api["ports"])


def test_published_host_ports_do_not_collide() -> None:
    published: list[str] = []
    for service in _services().values():
        for port in service.get("ports", []):
            published.append(_resolved(port).rsplit(":", 1)[0])
    assert len(published) == len(set(published)), published


def test_compose_config_validates() -> None:
    docker_compose = shutil.which("docker-compose")
    if docker_compose is None:
        pytest.skip("docker-compose is not installed (Debian: apt-get install docker-compose); YAML checks still ran")
    for profile in ([], ["--profile", "imap"]):
        result = subprocess.run(
            [docker_compose, "-f", str(COMPOSE_FILE), *profile, "config", "-q"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        # docker-compose reports unknown or deprecated keys as warnings on stderr even when it exits 0.
        assert "WARN" not in result.stderr.upper(), result.stderr


def _compose_command() -> list[str] | None:
    """``docker compose`` or ``docker-compose`` with a Docker engine that answers, else None."""
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True, timeout=30, check=False).returncode:
        return None
    if subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30, check=False).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_the_stack_starts_and_answers() -> None:
    """Build and start the stack, wait until the API is ready, and check the SMTP listener and mailpit answer.
    Only where a Docker engine answers (minutes: it builds the image); host ports are moved out of the way."""
    compose = _compose_command()
    if compose is None:
        pytest.skip("no Docker engine here (docker info failed); the static checks above still ran")
    project = ["-p", "tierroute-test", "-f", str(COMPOSE_FILE)]
    env = {**os.environ, "TIERROUTE_PORT": "18000", "TIERROUTE_SMTP_PORT": "12525",
           "MAILPIT_SMTP_PORT": "11025", "MAILPIT_UI_PORT": "18025"}  # fmt: skip

    def run(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*compose, *project, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip

    try:
        started = run("up", "-d", "--build")
        assert started.returncode == 0, started.stderr
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:18000/readyz", timeout=5) as answer:
                    assert json.loads(answer.read())  # the API, the database and Redis answer
                    break
            except OSError:
                assert time.monotonic() < deadline, run("ps").stdout + run("logs", "--tail", "50").stdout
                time.sleep(3)
        with smtplib.SMTP("127.0.0.1", 12525, timeout=10) as listener:  # tierroute smtp, published
            assert listener.noop()[0] == 250
        with urllib.request.urlopen("http://127.0.0.1:18025/api/v1/info", timeout=10) as mailpit:
            assert mailpit.status == 200
    finally:
        run("down", "-v", timeout=300)
