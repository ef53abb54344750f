"""What a new password must be (pure): long enough, not the username, not a well-known one.

Length is what makes a password strong (NIST SP 800-63B): at least 12 characters, no composition rules. The
list below holds passwords that head every breach list, in English and Dutch; a check against a full breach
corpus (e.g. the k-anonymity range API of Have I Been Pwned) would need the network at every change and is
left to a deployment that allows it.
"""

from __future__ import annotations

MIN_LENGTH = 12
MAX_LENGTH = 200  # Argon2 takes any length; the bound keeps one request's hashing cheap

# compared in lower case, spaces removed
COMMON = frozenset(
    """
    123456789012 1234567890123 12345678901234 123456789123 111111111111 000000000000 123123123123
    password1234 password12345 password123456 passwordpassword passw0rd1234 p@ssw0rd1234 p@ssword1234
    qwertyuiop12 qwertyuiopas qwerty123456 qwertyqwerty 1qaz2wsx3edc 1q2w3e4r5t6y q1w2e3r4t5y6 asdfghjkl123
    iloveyou1234 letmein12345 welcome12345 welcome123456 administrator admin1234567 admin12345678
    changeme1234 trustno11234 football1234 baseball1234 sunshine1234 princess1234 dragon123456 monkey123456
    starwars1234 whatever1234 superman1234 michael12345 abcdefghijkl abc123456789 abcd12345678 aaaaaaaaaaaa
    wachtwoord12 wachtwoord123 wachtwoord1234 wachtwoordwachtwoord welkom123456 welkomwelkom welkom2024!!
    welkom2025!! welkom2026!! geheim123456 geheimgeheim voorjaar2026 zomer2026!!! winter2026!!! najaar2026!!
    amsterdam123 rotterdam123 nederland123 nederland1234 feyenoord123 ajaxajaxajax ajax12345678 psvpsvpsvpsv
    gemeente1234 gemeente2026 handhaving12 handhaving123 handhaving2026 boaboaboaboa schakel12345 schakel2026!
    meldkamer123 meldkamer2026 politie12345 politie2026! zomer2025!!! winter2025!!! lente2026!!! herfst2026!!
    """.split()
)


def problem(password: str, username: str) -> str | None:
    """Why this password may not be set (Dutch, for the user), or None when it may."""
    if len(password) < MIN_LENGTH:
        return f"het wachtwoord moet minstens {MIN_LENGTH} tekens lang zijn"
    if len(password) > MAX_LENGTH:
        return f"het wachtwoord mag hoogstens {MAX_LENGTH} tekens lang zijn"
    folded = "".join(password.lower().split())
    if username and folded == "".join(username.lower().split()):
        return "het wachtwoord mag niet gelijk zijn aan de gebruikersnaam"
    if folded in COMMON or len(set(folded)) <= 2:
        return "dit wachtwoord is te bekend of te eenvoudig; kies een ander"
    return None
