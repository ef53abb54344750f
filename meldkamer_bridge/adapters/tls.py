"""Mutual TLS for partner connections: our certificate and key, the CA partners' certificates chain to.

Both ways CERT_REQUIRED: a notifier (server) asks every subscriber for a client certificate from the CA and
checks the name in it; a subscriber (client) checks the server's certificate and host name and presents its
own. In production the CA is PKIoverheid (the "Private Services" hierarchy issues server and client
certificates for government systems); tests make a throwaway CA.
"""

from __future__ import annotations

import ssl
from typing import Any

import msgspec

# --- mutual TLS -------------------------------------------------------------------------------------------


class TlsConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Our certificate and key, and the CA bundle partners' certificates must chain to (PKIoverheid in
    production: the "Private Services" root and its intermediate for server and client certificates)."""

    cert: str
    key: str
    ca: str
    peer_name: str = ""  # the name the partner's certificate must carry (CN or DNS SAN); "" = partner name


def server_context(tls: TlsConfig) -> ssl.SSLContext:
    """The notifier's TLS: our certificate, and a client certificate from the CA required (CERT_REQUIRED)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(tls.cert, tls.key)
    context.load_verify_locations(tls.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(tls: TlsConfig) -> ssl.SSLContext:
    """The subscriber's TLS: the partner's server certificate checked (host name too), ours presented."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(tls.cert, tls.key)
    context.load_verify_locations(tls.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    return context


def certificate_names(cert: dict[str, Any] | None) -> set[str]:
    """The subject CN and DNS subjectAltNames of a peer certificate (`SSLSocket.getpeercert()`)."""
    if not cert:
        return set()
    names = {value for rdn in cert.get("subject", ()) for key, value in rdn if key == "commonName"}
    names |= {value for key, value in cert.get("subjectAltName", ()) if key == "DNS"}
    return names
