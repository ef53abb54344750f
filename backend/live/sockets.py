"""The field socket (tablets) and the operator socket (meldkamer consoles).

Both start with a `hello` frame carrying an access token. Bad frames get an error frame and the socket stays
open; authentication failures get a fatal error frame and the socket is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Router, WebSocket, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from backend.alerts.escalation import checkin_refusal
from backend.auth import sessions
from backend.auth.guards import authenticate_token
from backend.auth.tokens import Principal
from backend.errors import Unauthorized
from backend.live.links import FieldLink
from backend.orgs import repository as orgs
from backend.services import Services
from shared.protocol import (
    MAX_SEQ_JUMP,
    PROTOCOL_VERSION,
    SUPPORTED_PROTOCOLS,
    Ack,
    AcknowledgeAlert,
    CheckIn,
    Error,
    Hello,
    Ping,
    Pong,
    SequencedFrame,
    Snapshot,
    Welcome,
    check_time_window,
    describe_decode_error,
    encoder,
    field_decoder,
    operator_decoder,
)

log = logging.getLogger(__name__)

HELLO_TIMEOUT_S = 10.0
# telling a socket it is put out and closing it may take this long; a peer that does not read (its buffers
# full, no close handshake coming back) is then dropped, so revoking or logging out never hangs on it
CLOSE_TIMEOUT_S = 2.0
# (`settings.field_send_timeout_s`) a frame to a tablet that has not gone out in time puts its socket out:
# uvicorn's ping gives up on a socket that does not answer, but while its buffers are full its close never
# completes, and the handler would wait in that send (the device attached, for ever)
OPERATOR_ROLES = ("operator", "teamlead", "admin", "service")


async def _receive(socket: WebSocket) -> bytes:  # type: ignore[type-arg]
    message = await socket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(detail="disconnected", code=message.get("code", 1000))
    data = message.get("bytes")
    if isinstance(data, bytes):
        return data
    text = message.get("text")
    return text.encode() if isinstance(text, str) else b""


async def _send(socket: WebSocket, frame: msgspec.Struct) -> None:  # type: ignore[type-arg]
    await socket.send_text(encoder.encode(frame).decode())


async def _hello(
    socket: WebSocket[Any, Any, Any], services: Services, decoder: msgspec.json.Decoder[Any]
) -> tuple[Principal, int] | None:
    """Wait for the hello; on failure send a fatal error and close. Returns the principal and the client's
    protocol version, or None."""
    try:
        raw = await asyncio.wait_for(_receive(socket), HELLO_TIMEOUT_S)
    except TimeoutError:
        await _fatal(socket, "unauthorized", "no hello within 10 s")
        return None
    try:
        frame = decoder.decode(raw)
    except msgspec.DecodeError as exc:
        message, field = describe_decode_error(exc)
        await _fatal(socket, "bad_frame", f"expected a hello frame: {message}", field)
        return None
    if not isinstance(frame, Hello):
        await _fatal(socket, "unauthorized", "the first frame must be hello", "kind")
        return None
    if frame.protocol not in SUPPORTED_PROTOCOLS:
        await _fatal(
            socket,
            "protocol_version",
            f"protocol {frame.protocol} not supported; use {PROTOCOL_VERSION}",
            "protocol",
        )
        return None
    try:
        return authenticate_token(frame.token, services), frame.protocol
    except Unauthorized as exc:
        await _fatal(socket, "unauthorized", exc.message, "token")
        return None


class _Unresponsive(Exception):
    """A frame to the peer did not go out in time; the socket is put out."""


class _Ender:
    """Puts a socket out from outside its handler: tells it why, closes it, and ends the handler.

    Both the message and the close are bounded by CLOSE_TIMEOUT_S; the handler is cancelled after them
    either way (a socket that does not read would otherwise keep it waiting in `receive` for ever), and it
    treats that cancellation as the end of the connection.
    """

    def __init__(self, socket: WebSocket[Any, Any, Any]) -> None:
        self.socket = socket
        self.handler = asyncio.current_task()
        self.ended = False
        self.dropped = False

    async def end(self, code: str, message: str, *, fatal: bool = True) -> None:
        if self.ended:
            return
        self.ended = True
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await _send(self.socket, Error(code=code, message=message, fatal=fatal))
                await self.socket.close(code=1008, reason=code)
        if self.handler is not None and self.handler is not asyncio.current_task():
            self.handler.cancel()

    def drop(self) -> None:
        """Put the socket out without a word (nothing gets through to it any more): end the handler (from
        inside it, `dropped` tells it to stop)."""
        self.dropped = True
        if self.ended:
            return
        self.ended = True
        if self.handler is not None and self.handler is not asyncio.current_task():
            self.handler.cancel()

    def cancelled(self) -> bool:
        """In the handler's `except CancelledError`: True (and the cancellation taken back) if it was ours."""
        if not self.ended or self.handler is None:
            return False
        self.handler.uncancel()
        return True

    def watch_session(self, principal: Principal, services: Services) -> Callable[[], None]:
        """End the socket when its session ends (logout, revocation, a role change) or its token expires."""

        async def end(reason: str) -> None:
            if reason == sessions.EXPIRED:  # not fatal: the client reconnects with a refreshed token
                await self.end("token_expired", "the access token expired; connect again", fatal=False)
            else:
                await self.end("session_ended", f"this session has ended ({reason}); log in again")

        return services.sessions.watch(principal.session_id, principal.expires_at, end)


async def _fatal(socket: WebSocket, code: str, message: str, field: str | None = None) -> None:  # type: ignore[type-arg]
    with contextlib.suppress(Exception):
        await _send(socket, Error(code=code, message=message, field=field, fatal=True))
        await socket.close(code=1008, reason=code)


@websocket("/field")
async def field_socket(socket: WebSocket, services: NamedDependency[Services]) -> None:  # type: ignore[type-arg]
    hub = services.hub
    max_bytes = services.settings.max_frame_bytes
    await socket.accept()
    hello = await _hello(socket, services, field_decoder)
    if hello is None:
        return
    principal, protocol = hello
    if principal.device_id is None:
        await _fatal(
            socket, "unknown_device", "log in with a registered device to use the field socket", "token"
        )
        return
    async with services.pool.acquire() as conn:
        device = await orgs.get_device(conn, principal.device_id)
    if device is None or device.revoked or device.org_id != principal.org_id:
        await _fatal(socket, "unknown_device", "this device is unknown or revoked", "token")
        return

    ender = _Ender(socket)
    send_timeout_s = services.settings.field_send_timeout_s

    async def send(data: bytes) -> None:
        if ender.dropped:  # one frame did not go out: no other waits its turn
            raise _Unresponsive
        try:
            async with asyncio.timeout(send_timeout_s):
                await socket.send_text(data.decode())
        except TimeoutError:
            ender.drop()
            raise _Unresponsive from None

    async def reply(frame: msgspec.Struct) -> None:
        await send(encoder.encode(frame))

    async def close(code: str = "revoked") -> None:
        message = "this device was revoked" if code == "revoked" else "this device connected again elsewhere"
        await ender.end(code, message)

    link = FieldLink(
        device_id=device.id,
        org_id=device.org_id,
        unit_id=device.unit_id,
        send=send,
        close=close,
        protocol=protocol,
    )
    old = hub.attach(link, device.last_seq)
    if old is not None:
        await old.close("replaced")
    welcome = Welcome(
        protocol=protocol,
        device_id=device.id,
        unit_id=device.unit_id,
        acked=device.last_seq,
        server_time=datetime.now(UTC),
    )
    try:
        await reply(welcome)
    except _Unresponsive:
        hub.detach(link)
        return
    unwatch = ender.watch_session(principal, services)
    try:
        await hub.device_attached(link)  # open tasks and unread messages are sent again
        while not ender.dropped:  # (dropped while they were sent: they swallow the error)
            raw = await _receive(socket)
            if len(raw) > max_bytes:
                await reply(Error(code="too_large", message=f"frame larger than {max_bytes} bytes"))
                continue
            try:
                frame = field_decoder.decode(raw)
            except msgspec.DecodeError as exc:
                message, field = describe_decode_error(exc)
                await reply(Error(code="bad_frame", message=message, field=field, seq=_seq_of(raw)))
                continue
            now = datetime.now(UTC)
            if isinstance(frame, Ping):
                await reply(Pong(nonce=frame.nonce))
            elif isinstance(frame, Hello):
                await reply(Error(code="bad_frame", message="already said hello", field="kind"))
            elif (refusal := _refusal(frame, now, hub.sequences.plausible(device.id, frame.seq))) is not None:
                await reply(refusal)
            elif not hub.accept(link, frame, now) and frame.seq <= hub.durable_seq(device.id):
                # a resend of something already durable: acknowledge again, store nothing
                await reply(Ack(upto=hub.durable_seq(device.id)))
    except (WebSocketDisconnect, _Unresponsive):
        pass
    except asyncio.CancelledError:
        if not ender.cancelled():
            raise
    finally:
        unwatch()
        hub.detach(link)


def _refusal(frame: SequencedFrame, now: datetime, plausible_seq: bool) -> Error | None:
    """The error for a well-formed frame the database must not get: a time outside the window around the
    server clock, a check-in due in the past or more than 12 h ahead, or a seq that jumps implausibly far
    ahead."""
    reason = check_time_window(frame.at, now)
    if reason is not None:
        return Error(code="bad_frame", message=f"`at` is {reason}", field="$.at", seq=frame.seq)
    if isinstance(frame, CheckIn) and (why := checkin_refusal(frame.next_due, now)) is not None:
        return Error(code="bad_frame", message=why, field="$.next_due", seq=frame.seq)
    if not plausible_seq:
        return Error(
            code="bad_frame",
            message=f"`seq` jumps more than {MAX_SEQ_JUMP} ahead of this device's frames",
            field="$.seq",
            seq=frame.seq,
        )
    return None


def _seq_of(raw: bytes) -> int | None:
    """The seq of a rejected frame, when it can be read, so the client knows which one failed."""

    class _Seq(msgspec.Struct):
        seq: int | None = None

    try:
        return msgspec.json.decode(raw, type=_Seq).seq
    except msgspec.DecodeError:
        return None


@websocket("/operator")
async def operator_socket(socket: WebSocket, services: NamedDependency[Services]) -> None:  # type: ignore[type-arg]
    hub = services.hub
    max_bytes = services.settings.max_frame_bytes
    await socket.accept()
    hello = await _hello(socket, services, operator_decoder)
    if hello is None:
        return
    principal, protocol = hello
    if principal.role not in OPERATOR_ROLES:
        await _fatal(socket, "forbidden", f"role {principal.role!r} may not watch the live picture", "token")
        return

    async def send(data: bytes) -> None:
        await socket.send_text(data.decode())

    ender = _Ender(socket)
    unwatch = ender.watch_session(principal, services)
    # register first, then snapshot: a change between the two arrives as a delta, never lost
    box = hub.add_operator(principal.visible_org_ids, send, principal.role)
    try:
        alerts = await hub.open_alerts(principal.visible_org_ids)
        extra = await hub.snapshot_extra(principal.visible_org_ids)
        await _send(
            socket,
            Snapshot(
                units=hub.visible_units(principal.visible_org_ids),
                alerts=alerts,
                server_time=datetime.now(UTC),
                protocol=protocol,
                **extra,
            ),
        )
        hub.activate(box)
        while True:
            raw = await _receive(socket)
            if len(raw) > max_bytes:
                await _send(socket, Error(code="too_large", message=f"frame larger than {max_bytes} bytes"))
                continue
            try:
                frame = operator_decoder.decode(raw)
            except msgspec.DecodeError as exc:
                message, field = describe_decode_error(exc)
                await _send(socket, Error(code="bad_frame", message=message, field=field))
                continue
            if isinstance(frame, Ping):
                await _send(socket, Pong(nonce=frame.nonce))
            elif isinstance(frame, AcknowledgeAlert):
                view = await hub.acknowledge_alert(
                    frame.alert_id, principal.account_id, principal.visible_org_ids
                )
                if view is None:
                    await _send(socket, Error(code="not_found", message="no such alert", field="alert_id"))
            else:
                await _send(socket, Error(code="bad_frame", message="already said hello", field="kind"))
    except WebSocketDisconnect:
        pass
    except asyncio.CancelledError:
        if not ender.cancelled():
            raise
    except Exception:
        log.exception("operator socket failed")
        raise
    finally:
        unwatch()
        hub.remove_operator(box)


router = Router(path="/ws", tags=["live"], route_handlers=[field_socket, operator_socket])
