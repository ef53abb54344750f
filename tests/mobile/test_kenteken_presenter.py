"""The tablet's kenteken check without a window: the boa sees the RDW facts (APK, WAM, recall flagged in red),
never an owner, the backend's cached answer marked as such, and offline the tablet's own last answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from tests.mobile.conftest import KIVY_MISSING

pytest.importorskip("kivy", reason=KIVY_MISSING)

from mobile.api import Api  # noqa: E402
from mobile.presenters.kenteken import KentekenPresenter  # noqa: E402
from shared.kenteken import NO_OWNER_DATA, KentekenAnswer, Vehicle  # noqa: E402

FETCHED = datetime(2026, 11, 30, 13, 5, tzinfo=UTC)
CAR = KentekenAnswer(
    kenteken="G921GS",
    found=True,
    vehicle=Vehicle(
        merk="TOYOTA",
        handelsbenaming="YARIS",
        voertuigsoort="Personenauto",
        kleur="GRIJS / BLAUW",
        apk_vervaldatum=date(2025, 8, 1),
        wam_verzekerd=False,
        open_terugroepactie=True,
        terugroepacties=["RDW-2024-0042"],
    ),
    fetched_at=FETCHED,
)


class Backend:
    """The backend's side of `GET /api/kenteken/...` as the tablet sees it over HTTP."""

    def __init__(self) -> None:
        self.answer: KentekenAnswer | None = CAR
        self.down = False
        self.asked: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("no route to host")
        self.asked.append((request.url.path, request.url.params.get("purpose", "")))
        return httpx.Response(200, content=msgspec.json.encode(self.answer))


def presenter(tmp_path: Path, backend: Backend) -> tuple[KentekenPresenter, list[asyncio.Task[Any]]]:
    api = Api("http://backend.test", transport=httpx.MockTransport(backend))
    tasks: list[asyncio.Task[Any]] = []

    def spawn(coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        tasks.append(task)
        return task

    p = KentekenPresenter(
        api.kenteken, spawn=spawn, store=tmp_path / "kenteken.json", today=lambda: date(2026, 12, 1)
    )
    return p, tasks


async def ask(p: KentekenPresenter, tasks: list[asyncio.Task[Any]], plate: str, purpose: str) -> None:
    p.plate, p.purpose = plate, purpose
    p.check()
    await asyncio.gather(*tasks)
    tasks.clear()


async def test_the_answer_flags_an_expired_apk_no_insurance_and_an_open_recall_and_never_an_owner(
    tmp_path: Path,
) -> None:
    backend = Backend()
    p, tasks = presenter(tmp_path, backend)
    await ask(p, tasks, "g-921-gs", "controle foutparkeerder")
    assert backend.asked == [("/api/kenteken/G921GS", "controle foutparkeerder")]
    assert p.heading.startswith("G-921-GS") and "TOYOTA YARIS" in p.heading
    rows = {r["label"]: r for r in p.rows}
    assert rows["Kleur"]["value"] == "GRIJS / BLAUW"
    assert rows["APK geldig tot"]["value"] == "01-08-2025  VERLOPEN" and rows["APK geldig tot"]["alarm"]
    assert rows["WAM-verzekerd"]["alarm"] and "niet verzekerd" in rows["WAM-verzekerd"]["value"]
    assert (
        rows["Open terugroepactie"]["value"] == "Ja (RDW-2024-0042)" and rows["Open terugroepactie"]["alarm"]
    )
    assert p.notice == NO_OWNER_DATA and p.source.startswith("RDW") and not p.stale


async def test_input_is_checked_before_anything_is_asked(tmp_path: Path) -> None:
    backend = Backend()
    p, tasks = presenter(tmp_path, backend)
    await ask(p, tasks, "12-ABC", "controle foutparkeerder")
    assert "zes letters en cijfers" in p.error
    await ask(p, tasks, "12ABC1", "kort")
    assert "doel" in p.error and backend.asked == []


async def test_the_backends_cache_and_the_tablets_own_copy_are_marked_as_not_fresh(tmp_path: Path) -> None:
    backend = Backend()
    p, tasks = presenter(tmp_path, backend)
    backend.answer = msgspec.structs.replace(CAR, source="cache", message="de RDW antwoordde niet op tijd")
    await ask(p, tasks, "G921GS", "controle foutparkeerder")
    assert p.stale and "niet op tijd" in p.source and p.rows

    backend.down = True  # a dead zone: the answer kept on this tablet, even after an app restart
    again, tasks = presenter(tmp_path, backend)
    await ask(again, tasks, "G921GS", "controle foutparkeerder")
    assert again.stale and again.source.startswith("Offline: bewaard op deze tablet")
    assert "TOYOTA" in again.heading and again.error == ""
    await ask(again, tasks, "12ABC1", "controle foutparkeerder")  # never asked on this tablet
    assert "Geen verbinding" in again.error and again.rows == [] and again.heading == ""


async def test_a_kenteken_the_rdw_does_not_know_says_so(tmp_path: Path) -> None:
    backend = Backend()
    backend.answer = KentekenAnswer(kenteken="99ZZZ9", found=False, fetched_at=FETCHED)
    p, tasks = presenter(tmp_path, backend)
    await ask(p, tasks, "99-ZZZ-9", "controle foutparkeerder")
    assert "niet gevonden" in p.heading and p.rows == [] and p.notice == NO_OWNER_DATA
