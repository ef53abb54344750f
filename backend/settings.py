"""Settings read from the environment, once, at the edge.

Every field of `Settings` is read from `SCHAKEL_<FIELD>` and decoded and validated in one place by msgspec, so
a bad value stops the start with a message that names the variable instead of failing later, deep inside.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import msgspec

PDOK_TILES = "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png"
PDOK_LOCATIESERVER = "https://api.pdok.nl/bzk/locatieserver/search/v3_1"
PREFIX = "SCHAKEL_"

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
# asyncpg takes libpq URIs only; a plain "host=... dbname=..." string would fail later with a vaguer error
DatabaseUrl = Annotated[str, msgspec.Meta(pattern=r"^postgres(ql)?://")]
# an HS256 key shorter than its 256-bit hash is weak, and PyJWT warns about it
SecretKey = Annotated[str, msgspec.Meta(min_length=32)]
Host = Annotated[str, msgspec.Meta(min_length=1)]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: DatabaseUrl | None = None  # None: start the embedded PostgreSQL in data_dir
    data_dir: Path = Path("data")
    host: Host = "127.0.0.1"
    port: Port = 8000
    secret_key: SecretKey = ""  # load_settings always fills it; "" only in Settings() built by tests
    access_token_minutes: PositiveInt = 15
    refresh_token_days: PositiveInt = 30
    # login throttle: this many failed logins within the window lock an account (or a client address) out
    # until the oldest failure leaves the window (429 with Retry-After)
    login_failures_per_account: PositiveInt = 5
    login_failures_per_address: PositiveInt = 30
    login_window_s: PositiveInt = 300
    # how often an instance reads the sessions other instances (or an account change) ended
    session_check_s: PositiveFloat = 1.0
    # a rooster solve job whose instance stopped writing its heartbeat this long ago is failed ("mislukt")
    rooster_job_dead_s: PositiveFloat = 15.0
    # live path
    flush_interval_s: PositiveFloat = 0.1  # position history is written at least this often ...
    flush_max_rows: PositiveInt = 500  # ... or when this many rows wait (bounds ack latency under load)
    operator_tick_s: PositiveFloat = 0.5  # coalesced operator deltas at most once per tick
    stale_after_s: PositiveFloat = 120.0  # a unit whose last position is older is "stale"
    partners_apart_m: PositiveFloat = 250.0  # a duo whose devices are further apart raises "duo uit elkaar"
    # routine alerts (hysteresis): raised only when the condition lasts, resolved when it has been clear
    outside_min_s: NonNegativeFloat = 120.0  # outside the assigned beat continuously this long ...
    outside_min_m: NonNegativeFloat = 150.0  # ... or this far beyond its border
    stale_min_s: NonNegativeFloat = 60.0  # stale (see stale_after_s) for this long more before the alert
    apart_min_s: NonNegativeFloat = 60.0  # the duo apart continuously this long
    routine_clear_s: NonNegativeFloat = 60.0  # an open routine alert resolves after this long clear
    checkin_grace_s: NonNegativeFloat = 30.0  # a check-in this late counts as missed
    max_frame_bytes: PositiveInt = 64 * 1024
    # a frame to a tablet that has not gone out after this long: the tablet takes nothing (gone without a
    # goodbye, or not reading), and its socket is put out so the device no longer counts as connected
    field_send_timeout_s: PositiveFloat = 40.0
    # meldkamer console: background tiles (PDOK BRT achtergrondkaart); the console works when they fail
    tile_url: str = PDOK_TILES
    tile_attribution: str = "Kaartgegevens &copy; Kadaster (PDOK)"
    # addresses: the PDOK Locatieserver v3.1 (no key); "" = none (only the buurt is known). `schakel demo` and
    # the tests point it at the local simulator (backend/geocoding/simulator.py)
    geocoder_url: str = PDOK_LOCATIESERVER
    geocoder_timeout_s: PositiveFloat = 2.0  # per request: the console types into it
    geocoder_cache_s: NonNegativeFloat = 300.0  # answers are kept this long (addresses rarely move)
    geocoder_poll_s: PositiveFloat = 1.0  # the background filler looks for rows without an address this often
    geocoder_retry_s: PositiveFloat = 300.0  # a row the geocoder could not be asked for is tried again after
    # RDW open data (Socrata): the kenteken check (docs/partners.md)
    rdw_url: str = "https://opendata.rdw.nl"
    rdw_timeout_s: PositiveFloat = 3.0
    rdw_app_token: str = ""  # optional Socrata app token (a higher rate limit); the data is open without one
    # Signalen (the gemeente's melding system; docs/partners.md): off while signalen_url is empty
    signalen_url: str = ""  # the API root, e.g. https://api.meldingen.gemeente.nl (…/signals/v1/private/…)
    signalen_token_url: str = ""  # the OIDC token endpoint (client-credentials grant)
    signalen_client_id: str = ""
    signalen_client_secret: str = ""
    signalen_org: str = ""  # the code of the gemeente (organisations.code) whose Signalen it is
    signalen_source: str = "Schakel"  # the `source` of signals Schakel files (configured as a source there)
    signalen_department: str = ""  # only signals routed to this department code (empty: every department)
    signalen_poll_s: PositiveFloat = 30.0
    signalen_timeout_s: PositiveFloat = 10.0

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"


class SettingsError(ValueError):
    """A SCHAKEL_* variable (or the stored secret) has a value the service cannot start with."""


def variable(field: str) -> str:
    """The environment variable that sets a Settings field."""
    return PREFIX + field.upper()


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from SCHAKEL_* variables; generate and keep a secret key in the data dir when unset.

    An empty variable counts as unset (as for SCHAKEL_DATABASE_URL: empty means the embedded database), except
    SCHAKEL_GEOCODER_URL (empty: no geocoder, only the buurt) and SCHAKEL_SECRET_KEY: set but empty is almost
    always a missing secret in a deployment template, and quietly generating one per instance would make
    tokens from one instance invalid on the next.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    for field in msgspec.structs.fields(Settings):
        value = env.get(variable(field.name))
        if value is not None and (value != "" or field.name in _EMPTY_IS_A_VALUE):
            raw[field.name] = value
    sources = {name: variable(name) for name in raw}
    settings = _convert(raw, sources)
    if "secret_key" not in raw:
        # validate the rest first, so a bad value does not leave a data directory behind
        data_dir = settings.data_dir.absolute()
        raw["secret_key"] = _stored_secret(data_dir)
        sources["secret_key"] = f"{data_dir / 'secret_key'} (used because {variable('secret_key')} is unset)"
        settings = _convert(raw, sources)
    return msgspec.structs.replace(settings, data_dir=settings.data_dir.absolute())


# set but empty means "" here, not "unset": a missing secret (see load_settings); no geocoder at all
_EMPTY_IS_A_VALUE = frozenset({"secret_key", "geocoder_url"})
_ERROR_PATH = re.compile(r" - at `\$\.(\w+)`$")
_SECRET_FIELDS = frozenset(
    {"secret_key", "database_url", "signalen_client_secret"}
)  # a database URL may carry a password


def _convert(raw: dict[str, str], sources: dict[str, str]) -> Settings:
    try:
        return msgspec.convert(raw, Settings, strict=False, dec_hook=_decode_path)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = _ERROR_PATH.search(message)
        if match is None:  # not expected: every error in a flat struct has a field path
            raise SettingsError(f"invalid settings: {message}") from None
        field = match.group(1)
        problem = message[: match.start()]
        shown = "" if field in _SECRET_FIELDS else f"={raw[field]!r}"
        raise SettingsError(f"{sources[field]}{shown} is invalid: {problem}") from None


def _decode_path(type_: type, value: Any) -> Any:
    if type_ is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(type_)


def _stored_secret(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
