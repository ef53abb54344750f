"""The bridge's link settings from arguments and the environment: NENA partners, exercise links, TLS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from meldkamer_bridge.__main__ import links, parse_args
from meldkamer_bridge.adapters.nena_conveyance import NenaConveyance
from meldkamer_bridge.simulator.store import SqliteStore


def test_nena_partners_exercise_links_and_tls_from_the_environment() -> None:
    env = {
        "BRIDGE_PARTNERS": "gms=wss://gms.example.nl/#secret,psap=nena+wss://eido.psap.example.nl/?listen=0.0.0.0:9443",
        "BRIDGE_EXERCISE": "psap=test",
        "BRIDGE_TLS_CERT": "/etc/schakel/bridge.pem",
        "BRIDGE_TLS_KEY": "/etc/schakel/bridge.key",
        "BRIDGE_TLS_CA": "/etc/schakel/pkioverheid.pem",
    }
    partners, tls = links(parse_args([], env))
    assert [(p.name, p.exercise) for p in partners] == [("gms", ""), ("psap", "test")]
    assert partners[1].url == "nena+wss://eido.psap.example.nl/?listen=0.0.0.0:9443"
    assert tls is not None and tls.ca == "/etc/schakel/pkioverheid.pem"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--exercise", "nobody"], "bad --exercise"),
        (["--exercise", "gms=drill"], "bad --exercise"),
        (["--tls-cert", "a.pem"], "all three"),
        (["--partners", "gms=ftp://x/"], "must start with one of ws, wss, nena+ws, nena+wss"),
    ],
)
def test_bad_link_settings_stop_the_start_with_a_reason(argv: list[str], says: str) -> None:
    with pytest.raises(SystemExit, match=re.escape(says)):
        links(parse_args(["--partners", "gms=ws://127.0.0.1:8765/", *argv], {}))


def test_a_nena_partner_over_wss_without_tls_or_a_public_notifier_without_tls_is_refused_at_the_start(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    with pytest.raises(ValueError, match="needs mutual TLS"):
        NenaConveyance("nena+wss://eido.psap.example.nl/", store, me="schakel", peer="psap")
    with pytest.raises(ValueError, match="needs mutual TLS"):
        NenaConveyance("nena+ws://127.0.0.1:1/?listen=0.0.0.0:9443", store, me="schakel", peer="psap")
    NenaConveyance("nena+ws://127.0.0.1:1/?listen=127.0.0.1:9443", store, me="schakel", peer="psap")  # demo
    store.close()
