"""What every adapter shares: the transport seam, the one codec error and a hardened XML parser.

A partner is reached over a `Transport` (meldkamer_bridge.link.PartnerLink, the link protocol's websocket;
meldkamer_bridge.adapters.nena_conveyance.NenaConveyance, NENA-STA-024 subscribe/notify). Delivery
rules (sequence numbers, cumulative acks, de-duplication, dead letters) are the outbox's and the `Store`'s, so
a partner on another transport (a message queue, an HTTP push API) is one new module with a class that only
moves envelopes, and one line in the wiring's table of transports (meldkamer_bridge.app.TRANSPORTS).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol

from lxml import etree

from meldkamer_bridge.adapters.tls import TlsConfig
from meldkamer_bridge.outbox import Envelope, OutboxMessage, Verdict

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
MAX_MESSAGE_BYTES = 1 << 20  # 1 MiB: no legitimate CAP or EIDO message comes near it


class Store(Protocol):
    """What a side of a link persists. PostgreSQL for the bridge, SQLite for the reference partner."""

    def changed(self, peer: str) -> asyncio.Event: ...  # set when something is enqueued for `peer`

    async def outbound_state(self, peer: str) -> tuple[int, int]: ...  # (acked, highest queued)
    async def pending(self, peer: str, after: int, upto: int) -> list[OutboxMessage]: ...
    async def acknowledge(self, peer: str, upto: int) -> int: ...
    async def reject(self, peer: str, seq: int, reason: str) -> None: ...
    async def inbound_seq(self, peer: str) -> int: ...
    async def receive(
        self, peer: str, envelopes: Sequence[Envelope], rejections: dict[int, str]
    ) -> tuple[list[Verdict], int]: ...
    async def record_failure(self, peer: str, error: str) -> None: ...


# Checks an inbound body: None when fine, else the reason to refuse it.
Validator = Callable[[Envelope], str | None]
# Told about every newly stored inbound message (after it is durable).
OnReceived = Callable[[Envelope], Awaitable[None]]


class Transport(Protocol):
    """The bridge's connection to one partner, kept up until cancelled.

    While up, it sends the store's outbox for the partner in order (from what the partner says it has) and
    stores what the partner sends (validated, in order, once) before acknowledging it. It reconnects by
    itself, with backoff; `connected` is set while the link is up.
    """

    @property
    def name(self) -> str: ...  # the partner's name on the link

    @property
    def connected(self) -> asyncio.Event: ...

    async def run(self) -> None: ...


class TransportFactory(Protocol):
    """How the wiring makes a transport for a partner's URL (one per URL scheme)."""

    def __call__(
        self,
        url: str,
        store: Store,
        *,
        me: str,
        peer: str,
        token: str = "",
        validate: Validator | None = None,
        on_received: OnReceived | None = None,
        tls: TlsConfig | None = None,
    ) -> Transport: ...


class CodecError(ValueError):
    """A partner message could not be decoded or encoded: `field` says where, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _parser() -> etree.XMLParser:
    # No entity expansion (XXE, billion laughs), no DTD loading, never the network, no huge trees.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes, field: str = "xml") -> etree._Element:
    """Parse untrusted XML bytes; any failure, and any DOCTYPE at all, is a CodecError."""
    if not isinstance(data, bytes | bytearray):
        raise CodecError(field, "expected bytes")
    if len(data) > MAX_MESSAGE_BYTES:
        raise CodecError(field, f"larger than {MAX_MESSAGE_BYTES} bytes")
    try:
        root = etree.fromstring(bytes(data), parser=_parser())
    except (etree.LxmlError, ValueError) as exc:
        raise CodecError(field, f"not well-formed XML: {exc}") from None
    if root is None:
        raise CodecError(field, "empty document")
    if root.getroottree().docinfo.doctype:
        raise CodecError(field, "a DOCTYPE is not accepted (no DTDs, no entities)")
    return root


def load_xsd(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path), parser=_parser()))


def xsd_errors(schema: etree.XMLSchema, root: etree._Element) -> tuple[str, str] | None:
    """(path, message) of the first schema violation, or None when the document is valid."""
    if schema.validate(root):
        return None
    error = schema.error_log[0] if schema.error_log else None
    if error is None:
        return ("xml", "does not validate")
    message = _NAMESPACE.sub("", error.message)  # "Element '{urn:…}sent': …" reads better as "Element 'sent'"
    element = _ELEMENT.search(message)
    return (element.group(1) if element else "xml", f"{message} (line {error.line})")


_NAMESPACE = re.compile(r"\{[^}]*\}")
_ELEMENT = re.compile(r"Element '([^']+)'")
