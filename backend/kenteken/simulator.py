"""An RDW open data simulator: the Socrata JSON shape of m9d7-ebf2 and t49b-isb7 for a few made-up vehicles.

For the tests and the demo (`python -m backend.kenteken.simulator --port 8091`). Bad behaviours are switched
with `RdwSimulator.mode` (or `POST /_sim/mode/<mode>`): `ok`, `timeout` (answers after `delay_s`), `error`
(HTTP 503), `throttle` (HTTP 429), `malformed` (not JSON), `wrong_shape` (JSON, but not a list of records).
The field names and value formats are the RDW's (every value a string, dates YYYYMMDD and ISO floating
timestamps, "Ja"/"Nee"); the plates and vehicles are invented.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from litestar import Litestar, Request, get, post
from litestar.params import FromPath
from litestar.response import Response

MODES = ("ok", "timeout", "error", "throttle", "malformed", "wrong_shape")

VEHICLES: dict[str, dict[str, str]] = {
    "12ABC1": {
        "kenteken": "12ABC1", "voertuigsoort": "Bedrijfsauto", "merk": "VOLKSWAGEN",
        "handelsbenaming": "TRANSPORTER",
        "eerste_kleur": "WIT", "tweede_kleur": "Niet geregistreerd", "vervaldatum_apk": "20270312",
        "vervaldatum_apk_dt": "2027-03-12T00:00:00.000", "wam_verzekerd": "Ja",
        "openstaande_terugroepactie_indicator": "Nee", "datum_eerste_toelating": "20180312",
    },
    "G921GS": {
        "kenteken": "G921GS", "voertuigsoort": "Personenauto", "merk": "TOYOTA", "handelsbenaming": "YARIS",
        "eerste_kleur": "GRIJS", "tweede_kleur": "BLAUW", "vervaldatum_apk": "20250801",
        "vervaldatum_apk_dt": "2025-08-01T00:00:00.000", "wam_verzekerd": "Nee",
        "openstaande_terugroepactie_indicator": "Ja", "datum_eerste_toelating": "20190801",
    },
    "XX99XX": {
        "kenteken": "XX99XX", "voertuigsoort": "Bromfiets", "merk": "PIAGGIO", "handelsbenaming": "ZIP",
        "eerste_kleur": "ZWART", "wam_verzekerd": "Ja", "openstaande_terugroepactie_indicator": "Nee",
    },
}  # fmt: skip
RECALLS: dict[str, list[dict[str, str]]] = {
    "G921GS": [
        {"kenteken": "G921GS", "referentiecode_rdw": "RDW-2024-0042", "code_status": "O",
         "status": "Openstaande terugroepactie"},
        {"kenteken": "G921GS", "referentiecode_rdw": "RDW-2022-0007", "code_status": "P",
         "status": "Producent heeft herstel gemeld"},
    ],
}  # fmt: skip


class RdwSimulator:
    def __init__(self) -> None:
        self.mode = "ok"
        self.delay_s = 10.0
        self.requests: list[tuple[str, str]] = []  # (dataset, kenteken) asked
        self.app = self._app()

    async def _answer(self, dataset: str, kenteken: str) -> Response[Any]:
        self.requests.append((dataset, kenteken))
        if self.mode == "timeout":
            await asyncio.sleep(self.delay_s)
        if self.mode == "error":
            return Response(b"<html>Service Unavailable</html>", status_code=503, media_type="text/html")
        if self.mode == "throttle":
            return Response(b'{"message":"Too many requests"}', status_code=429, headers={"Retry-After": "2"})
        if self.mode == "malformed":
            return Response(b'[{"kenteken": "12AB', status_code=200, media_type="application/json")
        if self.mode == "wrong_shape":
            return Response({"error": True, "message": "query failed"}, status_code=200)
        table: dict[str, list[dict[str, str]]] = (
            {k: [v] for k, v in VEHICLES.items()} if dataset == "m9d7-ebf2" else RECALLS
        )
        return Response(table.get(kenteken.upper(), []), status_code=200)

    def _app(self) -> Litestar:
        sim = self

        @get("/resource/{dataset:str}")
        async def resource(dataset: FromPath[str], request: Request[Any, Any, Any]) -> Response[Any]:
            name = dataset.removesuffix(".json")
            if name not in ("m9d7-ebf2", "t49b-isb7"):
                return Response({"code": "not_found", "message": "dataset not found"}, status_code=404)
            return await sim._answer(name, request.query_params.get("kenteken", ""))

        @post("/_sim/mode/{mode:str}", status_code=200)
        async def set_mode(mode: FromPath[str]) -> dict[str, str]:
            if mode in MODES:
                sim.mode = mode
            return {"mode": sim.mode}

        return Litestar(route_handlers=[resource, set_mode], openapi_config=None)


def main() -> None:  # pragma: no cover - the demo's entry point
    import uvicorn

    parser = argparse.ArgumentParser(description="RDW open data simulator (loopback)")
    parser.add_argument("--port", type=int, default=8091)
    args = parser.parse_args()
    uvicorn.run(RdwSimulator().app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":  # pragma: no cover
    main()
