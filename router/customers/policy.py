"""The tier policy in force for this process, reloaded when its file changes and is still valid.

The order of the scale (``best:``) is the installation's, installed for the process when the policy is first
read (``rules.vocabulary.use_customer_scale``): every comparison of customer tiers asks it. A running process
refuses a policy that turns the scale round, since the tiers stored would then mean the opposite.
"""

from __future__ import annotations

import time
from pathlib import Path

import structlog

from rules.tier_loader import TierPolicyError, load_tier_policy
from rules.tiers import TierPolicy
from rules.vocabulary import use_customer_scale

log = structlog.get_logger(__name__)


class TierPolicyProvider:
    """Keeps the last valid policy; an invalid change is refused, logged and kept in ``error``."""

    def __init__(self, path: Path, check_every: float = 2.0, *, install_scale: bool = True) -> None:
        self.path = path
        self.check_every = check_every
        self.error: str | None = None
        self._stamp = self._stat()
        self._policy = load_tier_policy(path)  # the first load must succeed: fail loudly at start
        self._checked = time.monotonic()
        if install_scale:
            use_customer_scale(self._policy.scale)

    def _stat(self) -> tuple[int, int, int]:
        try:
            st = self.path.stat()
        except OSError:
            return (-1, -1, -1)
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def current(self) -> TierPolicy:
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            stamp = self._stat()
            if stamp != self._stamp:
                self._stamp = stamp
                self._reload()
        return self._policy

    def _reload(self) -> None:
        try:
            policy = load_tier_policy(self.path)
        except TierPolicyError as exc:
            self._refuse(str(exc))
            return
        if policy.scale != self._policy.scale:
            self._refuse(
                f"{self.path}: best: {policy.scale.best} turns the scale round (the tiers stored mean the opposite "
                f"then); this process keeps best: {self._policy.scale.best} until it restarts"
            )
            return
        self.error = None
        self._policy = policy
        log.info("tier_policy_loaded", path=str(self.path), version=policy.version)

    def _refuse(self, error: str) -> None:
        self.error = error
        log.error("tier_policy_refused", path=str(self.path), error=error)
