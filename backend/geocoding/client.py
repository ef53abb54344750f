"""A client for the PDOK Locatieserver v3.1 (the Dutch government's free BAG/NWB geocoder; no key).

Four endpoints under the base URL (setting `geocoder_url`, e.g. https://api.pdok.nl/bzk/locatieserver/search/v3_1):
`/suggest` (autocomplete: ids, weergavenaam, highlighting), `/lookup?id=` (one object in full), `/free?q=`
(classic geocoding) and `/reverse?lat=&lon=` (nearest objects to a point). Each answers Solr-style:
``{"response": {"numFound": n, "docs": [...]}, "highlighting": {...}}``.

Short timeouts and a small cache: the console types into it, the background filler asks it per registration.
Whatever goes wrong (no URL, unreachable, timeout, 5xx, a body that is not the documented shape) raises
GeocoderUnavailable with a Dutch message the UI shows as is; callers fall back to the buurt.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict

import httpx
import msgspec

UNAVAILABLE = "adres onbekend — geocoder niet bereikbaar"
ADDRESS_FIELDS = (
    "id,type,weergavenaam,straatnaam,huis_nlt,postcode,woonplaatsnaam,buurtcode,buurtnaam,"
    "adresseerbaarobject_id,nummeraanduiding_id,centroide_ll"
)
_POINT = re.compile(r"^POINT\(\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s*\)$")


class GeocoderUnavailable(Exception):
    """The geocoder could not answer; the message is Dutch, for the operator."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"{UNAVAILABLE} ({reason})")
        self.reason = reason


class Suggestion(msgspec.Struct, frozen=True, kw_only=True):
    id: str  # the Locatieserver id to look up ("adr-…")
    type: str  # adres, weg, buurt, …
    weergavenaam: str
    highlight: str = ""  # the name with <b>…</b> around what matched (from `highlighting`)


class Address(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    type: str
    weergavenaam: str  # "Damrak 1, 1012LG Amsterdam"
    lon: float
    lat: float
    bag_id: str | None = None  # adresseerbaarobject_id (the verblijfsobject), else the nummeraanduiding
    nummeraanduiding_id: str | None = None
    buurtcode: str | None = None  # CBS, "BU03630000"
    buurtnaam: str | None = None
    distance_m: float | None = None  # reverse only: "afstand" from the asked point


class _Doc(msgspec.Struct, kw_only=True):
    id: str
    type: str = ""
    weergavenaam: str = ""
    centroide_ll: str | None = None
    adresseerbaarobject_id: str | None = None
    nummeraanduiding_id: str | None = None
    buurtcode: str | None = None
    buurtnaam: str | None = None
    afstand: float | None = None


class _Response(msgspec.Struct, kw_only=True):
    numFound: int = 0  # noqa: N815  # the Solr field name
    docs: list[_Doc] = []


class _Envelope(msgspec.Struct, kw_only=True):
    response: _Response
    highlighting: dict[str, dict[str, list[str]]] = {}


class Geocoder:
    def __init__(
        self, base_url: str, *, timeout_s: float = 2.0, cache_s: float = 300.0, cache_size: int = 1024
    ):
        self.base_url = base_url.rstrip("/")
        self.cache_s = cache_s
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, _Envelope]] = (
            OrderedDict()
        )
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 1.0)))

    @property
    def configured(self) -> bool:
        return bool(self.base_url)

    async def close(self) -> None:
        await self._http.aclose()

    async def suggest(self, text: str, rows: int = 8) -> list[Suggestion]:
        body = await self._get("suggest", {"q": text, "rows": str(rows), "fq": "type:adres"})
        out = []
        for doc in body.response.docs:
            marked = body.highlighting.get(doc.id, {}).get("suggest", [])
            out.append(
                Suggestion(
                    id=doc.id,
                    type=doc.type,
                    weergavenaam=doc.weergavenaam,
                    highlight=marked[0] if marked else "",
                )
            )
        return out

    async def lookup(self, object_id: str) -> Address | None:
        body = await self._get("lookup", {"id": object_id, "fl": ADDRESS_FIELDS})
        return _first(body)

    async def free(self, text: str) -> Address | None:
        body = await self._get("free", {"q": text, "rows": "1", "fq": "type:adres", "fl": ADDRESS_FIELDS})
        return _first(body)

    async def reverse(self, lon: float, lat: float) -> Address | None:
        """The nearest address to the point, or None when there is none near."""
        params = {
            "lat": f"{lat:.6f}",
            "lon": f"{lon:.6f}",
            "rows": "1",
            "type": "adres",
            "fl": ADDRESS_FIELDS + ",afstand",
        }
        return _first(await self._get("reverse", params))

    async def _get(self, endpoint: str, params: dict[str, str]) -> _Envelope:
        if not self.base_url:
            raise GeocoderUnavailable("geen geocoder ingesteld")
        key = (endpoint, tuple(sorted(params.items())))
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.cache_s:
            self._cache.move_to_end(key)
            return hit[1]
        try:
            r = await self._http.get(f"{self.base_url}/{endpoint}", params=params)
        except httpx.TimeoutException:
            raise GeocoderUnavailable("geen antwoord binnen de tijd") from None
        except httpx.HTTPError:
            raise GeocoderUnavailable("geen verbinding") from None
        if r.status_code >= 500:
            raise GeocoderUnavailable(f"storing bij de geocoder, HTTP {r.status_code}")
        if r.status_code >= 400:  # our request was refused: not the operator's fault either
            raise GeocoderUnavailable(f"verzoek geweigerd, HTTP {r.status_code}")
        try:
            body = msgspec.json.decode(r.content, type=_Envelope)
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise GeocoderUnavailable("onleesbaar antwoord") from None
        self._cache[key] = (now, body)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return body


def _first(body: _Envelope) -> Address | None:
    for doc in body.response.docs:
        point = _point(doc.centroide_ll)
        if point is None:
            continue
        return Address(
            id=doc.id,
            type=doc.type,
            weergavenaam=doc.weergavenaam,
            lon=point[0],
            lat=point[1],
            bag_id=doc.adresseerbaarobject_id or doc.nummeraanduiding_id,
            nummeraanduiding_id=doc.nummeraanduiding_id,
            buurtcode=doc.buurtcode,
            buurtnaam=doc.buurtnaam,
            distance_m=doc.afstand,
        )
    return None


def _point(wkt: str | None) -> tuple[float, float] | None:
    match = _POINT.match(wkt.strip()) if wkt else None
    return None if match is None else (float(match.group(1)), float(match.group(2)))
