"""What a bridge is configured with: its partners, which partner gets what, and the backend it serves."""

from __future__ import annotations

import msgspec

from meldkamer_bridge.adapters import status
from meldkamer_bridge.adapters.tls import TlsConfig


class Partner(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # its name on the link (the simulator's default: gms-sim)
    url: str  # ws://host:port/ (the scheme picks the transport)
    token: str = ""
    exercise: str = (
        ""  # "exercise"/"test": an exercise link, all it carries is marked so (docs/bridge.md, §11)
    )


class BridgeConfig(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str  # where the bridge's own tables (outbox, inbox) live
    partners: tuple[Partner, ...]
    meldkamer: str  # which partner gets unit status, AVL and incident updates
    police: str  # which partner gets CAP alerts
    me: str = "schakel"  # our name on the links
    backend_url: str | None = None  # e.g. http://127.0.0.1:8000; None: links only
    username: str = "bridge"  # the service account
    password: str = ""
    avl_interval_s: float = 1.0
    retention_days: float = 30.0  # delivered and processed messages are kept this long, then pruned
    retention_interval_s: float = 3600.0  # how often the retention job runs
    inbound_batch: int = 200  # inbox messages handed over per transaction (1: one at a time, the old way)
    lease_s: float = (
        15.0  # the partner lease: renewed every third of it; a waiting bridge takes over after it
    )
    sender: str = "schakel@handhaving.nl"  # CAP sender
    agency: str = "handhaving.nl"  # our agency id in EIDO updates
    mapping: status.PartnerMapping = status.GMS_DEFAULT
    tls: TlsConfig | None = None

    def exercise_of(self, partner: str) -> str:
        """The link setting: "exercise" or "test" when `partner`'s link is an exercise link, else ""."""
        return next(
            (p.exercise for p in self.partners if p.name == partner), ""
        )  # mutual TLS for wss:// and nena+wss:// partners (docs/bridge.md, §10)
