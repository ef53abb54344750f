"""Settings from the environment: every field settable, bad values stop the start naming the variable."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from backend.cli import main
from backend.settings import PDOK_TILES, Settings, SettingsError, load_settings, variable
from backend.signalen.sync import check_settings

SECRET = "a-secret-key-of-at-least-32-characters"
DB_URL = "postgresql://schakel:pw@db.example:5432/schakel"


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    base = {"SCHAKEL_DATA_DIR": str(tmp_path), "SCHAKEL_SECRET_KEY": SECRET}
    base.update({variable(name): value for name, value in values.items()})
    return base


def test_defaults_with_only_a_data_dir(tmp_path: Path) -> None:
    settings = load_settings({"SCHAKEL_DATA_DIR": str(tmp_path)})
    assert settings.database_url is None
    assert settings.data_dir == tmp_path.absolute()
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.tile_url == PDOK_TILES
    assert settings.flush_interval_s == Settings().flush_interval_s


def test_unset_secret_is_generated_once_and_kept_in_the_data_dir(tmp_path: Path) -> None:
    first = load_settings({"SCHAKEL_DATA_DIR": str(tmp_path)})
    second = load_settings({"SCHAKEL_DATA_DIR": str(tmp_path)})
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key == (tmp_path / "secret_key").read_text()
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


VALUES: dict[str, tuple[str, object]] = {
    "database_url": (DB_URL, DB_URL),
    "host": ("0.0.0.0", "0.0.0.0"),
    "port": ("9000", 9000),
    "secret_key": ("x" * 40, "x" * 40),
    "access_token_minutes": ("5", 5),
    "refresh_token_days": ("7", 7),
    "login_failures_per_account": ("3", 3),
    "login_failures_per_address": ("100", 100),
    "login_window_s": ("600", 600),
    "session_check_s": ("2.5", 2.5),
    "rooster_job_dead_s": ("30", 30.0),
    "flush_interval_s": ("0.25", 0.25),
    "flush_max_rows": ("1000", 1000),
    "operator_tick_s": ("1", 1.0),
    "stale_after_s": ("60.5", 60.5),
    "partners_apart_m": ("100", 100.0),
    "outside_min_s": ("90", 90.0),
    "outside_min_m": ("0", 0.0),
    "stale_min_s": ("30", 30.0),
    "apart_min_s": ("45.5", 45.5),
    "routine_clear_s": ("120", 120.0),
    "checkin_grace_s": ("10", 10.0),
    "max_frame_bytes": ("131072", 131072),
    "field_send_timeout_s": ("15", 15.0),
    "tile_url": ("https://tiles.example/{z}/{x}/{y}.png", "https://tiles.example/{z}/{x}/{y}.png"),
    "tile_attribution": ("© example", "© example"),
    "geocoder_url": ("http://127.0.0.1:8766/search/v3_1", "http://127.0.0.1:8766/search/v3_1"),
    "geocoder_timeout_s": ("0.5", 0.5),
    "geocoder_cache_s": ("0", 0.0),
    "geocoder_poll_s": ("2", 2.0),
    "geocoder_retry_s": ("60", 60.0),
    "rdw_url": ("http://127.0.0.1:8091", "http://127.0.0.1:8091"),
    "rdw_timeout_s": ("1.5", 1.5),
    "rdw_app_token": ("app-token", "app-token"),
    "signalen_url": ("http://127.0.0.1:8092", "http://127.0.0.1:8092"),
    "signalen_token_url": ("http://127.0.0.1:8092/oidc/token", "http://127.0.0.1:8092/oidc/token"),
    "signalen_client_id": ("schakel", "schakel"),
    "signalen_client_secret": ("geheim", "geheim"),
    "signalen_org": ("amsterdam", "amsterdam"),
    "signalen_source": ("Handhaving", "Handhaving"),
    "signalen_department": ("ASC", "ASC"),
    "signalen_poll_s": ("5", 5.0),
    "signalen_timeout_s": ("2.5", 2.5),
}


def test_the_geocoder_is_pdok_unless_set_and_an_empty_url_means_none(tmp_path: Path) -> None:
    assert load_settings(env(tmp_path)).geocoder_url == "https://api.pdok.nl/bzk/locatieserver/search/v3_1"
    assert load_settings(env(tmp_path, geocoder_url="")).geocoder_url == ""


def test_signalen_needs_its_token_endpoint_client_and_gemeente(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SCHAKEL_SIGNALEN_TOKEN_URL"):
        check_settings(load_settings(env(tmp_path, signalen_url="http://127.0.0.1:8092")))
    complete = {"signalen_url": "http://s", "signalen_token_url": "http://s/t", "signalen_client_id": "c",
                "signalen_client_secret": "x", "signalen_org": "amsterdam"}  # fmt: skip
    check_settings(load_settings(env(tmp_path, **complete)))


def test_every_field_has_a_case_here() -> None:
    fields = {f.name for f in msgspec.structs.fields(Settings)}
    assert fields - {"data_dir"} == set(VALUES)


@pytest.mark.parametrize("field", sorted(VALUES))
def test_every_field_is_read_from_its_variable(tmp_path: Path, field: str) -> None:
    text, expected = VALUES[field]
    settings = load_settings(env(tmp_path, **{field: text}))
    assert getattr(settings, field) == expected


def test_a_relative_data_dir_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"SCHAKEL_DATA_DIR": "state", "SCHAKEL_SECRET_KEY": SECRET})
    assert settings.data_dir == tmp_path / "state"
    assert settings.uploads_dir == tmp_path / "state" / "uploads"


@pytest.mark.parametrize("field", ["database_url", "host", "port", "flush_interval_s", "tile_url"])
def test_an_empty_variable_counts_as_unset(tmp_path: Path, field: str) -> None:
    settings = load_settings(env(tmp_path, **{field: ""}))
    assert getattr(settings, field) == getattr(Settings(), field)


BAD: list[tuple[str, str, str]] = [
    ("port", "0", ">= 1"),
    ("port", "65536", "<= 65535"),
    ("port", "http", "Expected `int`"),
    ("access_token_minutes", "0", ">= 1"),
    ("refresh_token_days", "-3", ">= 1"),
    ("flush_interval_s", "0", "> 0"),
    ("flush_interval_s", "soon", "Expected `float`"),
    ("flush_max_rows", "0", ">= 1"),
    ("operator_tick_s", "-0.5", "> 0"),
    ("stale_after_s", "nan", "> 0"),
    ("partners_apart_m", "0", "> 0"),
    ("max_frame_bytes", "1.5", "Expected `int`"),
]


@pytest.mark.parametrize(("field", "text", "problem"), BAD)
def test_a_bad_value_names_the_variable_and_the_value(
    tmp_path: Path, field: str, text: str, problem: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env(tmp_path, **{field: text}))
    message = str(caught.value)
    assert message.startswith(f"{variable(field)}={text!r} is invalid")
    assert problem in message


def test_an_empty_secret_key_is_an_error_not_a_generated_one(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="^SCHAKEL_SECRET_KEY is invalid: .*length >= 32"):
        load_settings(env(tmp_path, secret_key=""))
    assert not (tmp_path / "secret_key").exists()


def test_a_short_secret_key_is_refused_without_printing_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env(tmp_path, secret_key="short-secret"))
    assert "SCHAKEL_SECRET_KEY" in str(caught.value)
    assert "short-secret" not in str(caught.value)


def test_a_database_url_that_is_no_uri_is_refused_without_printing_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="^SCHAKEL_DATABASE_URL is invalid: .*postgres") as caught:
        load_settings(env(tmp_path, database_url="host=db dbname=schakel password=hunter2"))
    assert "hunter2" not in str(caught.value)


def test_a_truncated_stored_secret_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(
        SettingsError, match="secret_key \\(used because SCHAKEL_SECRET_KEY is unset\\) is invalid"
    ):
        load_settings({"SCHAKEL_DATA_DIR": str(tmp_path)})


def test_a_bad_value_does_not_create_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    with pytest.raises(SettingsError):
        load_settings({"SCHAKEL_DATA_DIR": str(data_dir), "SCHAKEL_PORT": "0"})
    assert not data_dir.exists()


def test_unrelated_schakel_variables_are_left_alone(tmp_path: Path) -> None:
    settings = load_settings(env(tmp_path) | {"SCHAKEL_BENCH": "1", "SCHAKEL_SERVER": "http://x"})
    assert settings.port == 8000


def test_the_command_line_reports_a_bad_value_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SCHAKEL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SCHAKEL_PORT", "eighty")
    assert main(["migrate"]) == 2
    assert "error: SCHAKEL_PORT='eighty' is invalid" in capsys.readouterr().err
