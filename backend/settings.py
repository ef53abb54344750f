"""Settings read from the environment, once, at the edge."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import msgspec

PDOK_TILES = "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None  # None: start the embedded PostgreSQL in data_dir
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    # live path
    flush_interval_s: float = 0.1  # position history is written at least this often ...
    flush_max_rows: int = 500  # ... or when this many rows are waiting (bounds ack latency under load)
    operator_tick_s: float = 0.5  # coalesced operator deltas at most once per tick
    stale_after_s: float = 120.0  # a unit whose last position is older is "stale"
    partners_apart_m: float = 250.0  # a duo whose devices are further apart raises "duo uit elkaar"
    max_frame_bytes: int = 64 * 1024
    # meldkamer console: background tiles (PDOK BRT achtergrondkaart); the console works when they fail
    tile_url: str = PDOK_TILES
    tile_attribution: str = "Kaartgegevens &copy; Kadaster (PDOK)"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build Settings from SCHAKEL_* variables; generate and keep a secret key in the data dir when unset."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("SCHAKEL_DATA_DIR", "data")).absolute()
    secret = env.get("SCHAKEL_SECRET_KEY") or _stored_secret(data_dir)
    return Settings(
        database_url=env.get("SCHAKEL_DATABASE_URL") or None,
        data_dir=data_dir,
        host=env.get("SCHAKEL_HOST", "127.0.0.1"),
        port=int(env.get("SCHAKEL_PORT", "8000")),
        secret_key=secret,
        tile_url=env.get("SCHAKEL_TILE_URL") or PDOK_TILES,
    )


def _stored_secret(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
