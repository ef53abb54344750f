"""What a team lead may write about a boa or a unit: phone numbers, domains, qualifications, hours (pure)."""

from __future__ import annotations

import re

from shared.registrations import FieldError

# Digits with the usual separators, an optional leading + (06-12345678, 020 555 1234, +31 6 1234 5678).
_PHONE = re.compile(r"^\+?[0-9(][0-9 ()\-]*[0-9]$")

# The qualifications the team page offers (others may be typed: lower-case words).
KNOWN_QUALIFICATIONS = (
    "geweldsmiddelen",
    "handboeien",
    "wapenstok",
    "pepperspray",
    "anpr",
    "bhv",
    "ehbo",
    "bodycam",
    "rijbewijs_b",
)
_QUALIFICATION = re.compile(r"^[a-z0-9_\-]{1,30}$")
MAX_DOMAINS = 2  # a boa works in at most two domains (I-VI)


def phone(value: str | None, field: str) -> str | None:
    """A phone number as typed (trimmed), or None for empty; a FieldError when it is not one."""
    if value is None or not value.strip():
        return None
    text = " ".join(value.split())
    digits = sum(c.isdigit() for c in text)
    if len(text) > 40 or not _PHONE.match(text) or not 10 <= digits <= 15:
        raise FieldError(field, "geen geldig telefoonnummer (10 tot 15 cijfers, bijv. 06-12345678)")
    return text


def portofoon(value: str | None, field: str = "portofoon") -> str | None:
    """A portofoon number or talk group as typed (trimmed), or None for empty."""
    if value is None or not value.strip():
        return None
    text = " ".join(value.split())
    if len(text) > 40 or "\x00" in text:
        raise FieldError(field, "portofoon: hoogstens 40 tekens")
    return text


def domains(values: list[int]) -> list[int]:
    found = sorted(set(values))
    if not found:
        raise FieldError("domains", "kies minstens één domein (I tot VI)")
    if len(found) > MAX_DOMAINS:
        raise FieldError("domains", "een boa werkt in hoogstens twee domeinen")
    if any(d < 1 or d > 6 for d in found):
        raise FieldError("domains", "domein moet I tot VI zijn (1 tot 6)")
    return found


def qualifications(values: list[str]) -> list[str]:
    found = sorted({v.strip().lower() for v in values if v.strip()})
    for value in found:
        if not _QUALIFICATION.match(value):
            raise FieldError(
                "qualifications", f"onbekende schrijfwijze {value!r}: kleine letters, cijfers, _"
            )
    return found


def contract_hours(value: float | None) -> float | None:
    if value is None:
        return None
    if not 0 <= value <= 60:
        raise FieldError("contract_hours", "contracturen moeten tussen 0 en 60 liggen")
    if abs(round(value * 10) - value * 10) > 1e-9:
        raise FieldError("contract_hours", "contracturen in hele of halve uren (één decimaal)")
    return value
