"""The password policy: long enough, not the username, not a well-known one."""

from __future__ import annotations

import pytest

from backend.auth.password_policy import problem


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("kort-wacht", "minstens 12"),
        ("boa_a_de_boa", "gebruikersnaam"),
        ("BOA_A_DE_BOA", "gebruikersnaam"),
        ("Wachtwoord1234", "te bekend"),
        ("welkom 123456", "te bekend"),
        ("aaaaaaaaaaaaaaaa", "te eenvoudig"),
        ("abababababababab", "te eenvoudig"),
        ("x" * 201, "hoogstens 200"),
    ],
)
def test_refused_passwords_say_why(password: str, why: str) -> None:
    found = problem(password, "boa_a_de_boa")
    assert found is not None and why in found


@pytest.mark.parametrize("password", ["paard-batterij-nietje", "correct horse battery", "Gr0ene-Fiets-19"])
def test_a_long_uncommon_password_is_accepted(password: str) -> None:
    assert problem(password, "boa_a") is None
