"""What every adapter shares: the one codec error and a hardened XML parser."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
MAX_MESSAGE_BYTES = 1 << 20  # 1 MiB: no legitimate CAP or EIDO message comes near it


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
