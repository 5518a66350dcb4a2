"""Checkpoints: the worker signs one every hour, it reads back and verifies, and a bad one is refused in one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from queues import jobs
from queues.job_table import JOBS
from queues.runtime import Runtime
from router import job_names
from router.audit import checkpoints
from router.audit.keys import load_signing_key
from router.effects import ROUTING
from router.models.columns import utcnow
from router.settings import Settings
from tests.audit.test_chain import ticket_with_history
from tests.cli_in_process import run_cli
from tests.conftest import make_agent, one_backend


def test_the_routing_worker_signs_a_checkpoint_every_hour() -> None:
    [job] = [j for j in JOBS if j.name == job_names.AUDIT_CHECKPOINT]
    assert job.queue == ROUTING and job.schedule is not None and job.schedule.minute == 5


@one_backend
async def test_the_checkpoint_job_writes_a_signed_file_and_keeps_the_newest(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await ticket_with_history(runtime, client, lead)
    settings.audit_checkpoints_kept = 2
    for _ in range(3):
        assert (await jobs.audit_checkpoint({"app": runtime.app})).startswith("tickets=1 root=")
    files = sorted(settings.effective_audit_checkpoint_dir.glob("checkpoint-*.json"))
    assert len(files) == 2
    own = load_signing_key(settings.effective_audit_signing_key_file).public_key()
    checkpoint = checkpoints.read(files[-1], trusted=own)
    assert [h[0] for h in checkpoint.heads] == [tid]
    async with runtime.app.sessionmaker() as s:
        reports = [r async for r in checkpoints.verify_against(s, checkpoint)]
    assert [(r.ticket_id, r.valid) for r in reports] == [(tid, True)]


def test_a_checkpoint_by_another_key_is_refused(tmp_path: Path) -> None:
    foreign = checkpoints.sign([(1, 1, "a" * 64)], Ed25519PrivateKey.generate(), utcnow())
    path = tmp_path / "foreign.json"
    checkpoints.write(foreign, path)
    assert checkpoints.read(path).root == foreign.root  # sound in itself...
    own = load_signing_key(tmp_path / "own.pem").public_key()
    try:
        checkpoints.read(path, trusted=own)
    except checkpoints.CheckpointError as exc:  # ...but not signed by the key we trust
        assert str(exc).startswith(f"{path}: signed by key {foreign.key_id}, not the trusted ")
    else:
        raise AssertionError("a foreign checkpoint was accepted")


def test_cli_refuses_what_it_cannot_use_in_one_line(tmp_path: Path, settings: Settings) -> None:
    env = {
        "TIERROUTE_DATABASE_URL": settings.effective_database_url,
        "TIERROUTE_DATA_DIR": str(tmp_path),
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli("audit", *args, env=env)

    missing = cli("verify", "--against", str(tmp_path / "nope.json"))
    assert (missing.returncode, missing.stderr.strip()) == (
        2,
        f"error: {tmp_path / 'nope.json'}: cannot read: No such file or directory",
    )
    (tmp_path / "junk.json").write_text("{not json")
    junk = cli("verify", "--against", str(tmp_path / "junk.json"))
    assert junk.returncode == 2 and junk.stderr.startswith(f"error: {tmp_path / 'junk.json'}: not a checkpoint")
    nowhere = cli("checkpoint", "--out", str(tmp_path / "missing" / "x.json"))
    assert (nowhere.returncode, nowhere.stderr.strip()) == (2, f"error: {tmp_path / 'missing'}: no such folder")
    unknown = cli("verify", "--ticket", "999")
    assert (unknown.returncode, unknown.stderr.strip()) == (2, "error: ticket 999 does not exist")


def test_cli_verify_does_not_invent_a_key(tmp_path: Path, settings: Settings) -> None:
    """Pointed at the wrong data dir, a verifier would find every chain sealed by a foreign key: it says so."""
    env = {
        "TIERROUTE_AUDIT_KEY": None,
        "TIERROUTE_DATABASE_URL": settings.effective_database_url,
        "TIERROUTE_DATA_DIR": str(tmp_path),
    }
    done = run_cli("audit", "verify", env=env)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: {tmp_path / 'audit-hmac.key'}: no audit chain key here; set TIERROUTE_AUDIT_KEY, or TIERROUTE_DATA_DIR"
        " to the application's"
    )
    assert not (tmp_path / "audit-hmac.key").exists()


@one_backend
async def test_a_ticket_gone_since_the_checkpoint_is_reported(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings
) -> None:
    """Deleting a whole ticket with its chain leaves nothing to check by key; the checkpoint remembers it."""
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await ticket_with_history(runtime, client, lead)
    async with runtime.app.sessionmaker() as s:
        heads = await checkpoints.current_heads(s)
        # The checkpoint as it was taken before ticket 999 (and its chain of 6 events) was deleted.
        key = load_signing_key(settings.effective_audit_signing_key_file)
        checkpoint = checkpoints.sign([*heads, (999, 6, "f" * 64)], key, utcnow())
        reports = [
            (r.ticket_id, r.valid, r.broken_at_seq, r.problem) async for r in checkpoints.verify_against(s, checkpoint)
        ]
    assert reports == [
        (tid, True, None, None),
        (999, False, 6, "the ticket is gone from the database; a checkpoint saw it"),
    ]
