"""The map of the beat: polygons drawn from the beats' GeoJSON (no tiles needed) and the tablet's position.

`layout(width, height)` projects everything into widget pixels (equirectangular around the beat's centre,
metres-true at that latitude), so the view only draws lines and a dot. An optional tile URL (e.g. PDOK's
BRT-Achtergrondkaart) adds background tiles when online; the polygons alone are always enough.
"""

from __future__ import annotations

import math
from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty

from mobile.i18n import t
from mobile.presenters.ports import LocationSource

PDOK_TILES = "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png"


def _rings(geometry: dict[str, Any]) -> list[list[tuple[float, float]]]:
    if geometry.get("type") == "Polygon":
        polygons = [geometry["coordinates"]]
    elif geometry.get("type") == "MultiPolygon":
        polygons = geometry["coordinates"]
    else:
        return []
    return [[(float(x), float(y)) for x, y, *_ in ring] for polygon in polygons for ring in polygon[:1]]


class MapPresenter(EventDispatcher):  # type: ignore[misc]
    selected = ListProperty([])  # beat ids of this shift
    lines = ListProperty([])  # [flat [x0, y0, x1, y1, ...] per ring of the selected beats], in pixels
    other_lines = ListProperty([])  # the neighbouring beats, drawn faint
    labels = ListProperty([])  # [(x, y, name)]
    marker = ListProperty([])  # [x, y] of the own position, [] without a fix
    partner_markers = ListProperty([])  # [[x, y], ...] of the duo partner's devices (from the server)
    colleague_markers = ListProperty([])  # [[x, y], ...] of colleagues with an unanswered alarm
    task_marker = ListProperty([])  # [x, y] of the task shown on the map, [] when none
    task_caption = StringProperty("")  # "Taak: Nieuwmarkt 4 (oranje) · u (rood) · partner (blauw)"
    accuracy_px = NumericProperty(0.0)
    track = ListProperty([])  # flat pixels of the recent track
    caption = StringProperty(t("map.no_beat"))
    tiles_url = StringProperty("")
    tiles = ListProperty([])  # [(x, y, width, height, url)] background tiles, only when online and configured
    has_beat = BooleanProperty(False)
    online = BooleanProperty(False)  # tiles are fetched only online
    fix_label = StringProperty(t("map.no_fix"))  # how good the own position is

    def __init__(self, location: LocationSource, *, tiles_url: str = "", **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._location = location
        self.beats: list[dict[str, Any]] = []  # [{"id", "name", "rings"}]
        self._partners: list[tuple[float, float]] = []
        self._colleagues: list[tuple[float, float]] = []
        self._task: tuple[float, float] | None = None
        self._size = (0.0, 0.0)
        self.tiles_url = tiles_url
        location.bind(lon=self._relayout, lat=self._relayout, track=self._relayout)
        location.bind(has_fix=self._fix_label, accuracy_m=self._fix_label)
        self.bind(online=self._relayout)

    def _fix_label(self, *_: object) -> None:
        loc = self._location
        self.fix_label = t("map.accuracy", metres=int(loc.accuracy_m)) if loc.has_fix else t("map.no_fix")

    def set_beats(self, collection: dict[str, Any]) -> None:
        self.beats = [
            {
                "id": f["id"],
                "name": f.get("properties", {}).get("name", ""),
                "rings": _rings(f.get("geometry") or {}),
            }
            for f in collection.get("features", [])
        ]
        self._relayout()

    def set_partners(self, fixes: list[tuple[float, float]]) -> None:
        """Where the duo partner's devices are (lon, lat), as the server last said."""
        self._partners = list(fixes)
        self._relayout()

    def set_colleagues(self, where: list[tuple[float, float]]) -> None:
        """Colleagues whose alarm the meldkamer has not answered (lon, lat): drawn as pulsing red rings."""
        self._colleagues = list(where)
        self._relayout()

    def show_task(self, lon: float | None, lat: float | None, where: str) -> bool:
        """The place of a task (an orange square), kept in view with the own and the partner's position.
        False when the task has no place (then nothing changes)."""
        if lon is None or lat is None:
            return False
        self._task = (lon, lat)
        self.task_caption = t("map.task", where=where or f"{lat:.5f}, {lon:.5f}")
        self._relayout()
        return True

    def clear_task(self) -> None:
        self._task = None
        self.task_caption = ""
        self._relayout()

    def names(self, beat_ids: list[int]) -> list[str]:
        return [b["name"] for b in self.beats if b["id"] in beat_ids]

    def selected_ring(self) -> list[tuple[float, float]]:
        """The outline of the first chosen beat (the simulated GPS walks along it)."""
        for beat in self.beats:
            if beat["id"] in self.selected and beat["rings"]:
                return list(beat["rings"][0])
        return []

    def select(self, beat_ids: list[int]) -> None:
        self.selected = list(beat_ids)
        names = self.names(beat_ids)
        self.caption = ", ".join(names) or t("map.no_beat")
        self.has_beat = bool(names)
        self._relayout()

    def layout(self, width: float, height: float) -> None:
        self._size = (width, height)
        self._relayout()

    def _frame(self) -> tuple[float, float, float] | None:
        """(centre lon, centre lat, pixels per degree of latitude) to fit the selected beats, the fix and the
        colleagues with an unanswered alarm."""
        width, height = self._size
        points = [p for b in self.beats if b["id"] in self.selected for ring in b["rings"] for p in ring]
        loc = self._location
        if loc.has_fix:
            points.append((loc.lon, loc.lat))
        points += self._colleagues  # a colleague in trouble is always in view
        if self._task is not None:  # a task shown on the map: it, the boa and the partner in one view
            points += [self._task, *self._partners]
        if not points or width <= 0 or height <= 0:
            return None
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        clon, clat = (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2
        k = math.cos(math.radians(clat))
        span_x = max((max(lons) - min(lons)) * k, 0.002)
        span_y = max(max(lats) - min(lats), 0.002)
        scale = 0.9 * min(width / span_x, height / span_y)
        return clon, clat, scale

    def to_px(self, lon: float, lat: float) -> tuple[float, float] | None:
        frame = self._frame()
        if frame is None:
            return None
        clon, clat, scale = frame
        width, height = self._size
        k = math.cos(math.radians(clat))
        return width / 2 + (lon - clon) * k * scale, height / 2 + (lat - clat) * scale

    def _relayout(self, *_: object) -> None:
        frame = self._frame()
        if frame is None:
            self.lines, self.other_lines, self.labels, self.marker, self.track = [], [], [], [], []
            self.partner_markers = []
            self.colleague_markers = []
            self.task_marker = []
            return
        clon, clat, scale = frame
        width, height = self._size
        k = math.cos(math.radians(clat))

        def px(lon: float, lat: float) -> tuple[float, float]:
            return width / 2 + (lon - clon) * k * scale, height / 2 + (lat - clat) * scale

        def flat(ring: list[tuple[float, float]]) -> list[float]:
            return [c for p in ring for c in px(*p)]

        mine, others, labels = [], [], []
        for beat in self.beats:
            rings = [flat(r) for r in beat["rings"]]
            if beat["id"] in self.selected:
                mine += rings
                if beat["rings"]:
                    ring = beat["rings"][0]
                    cx = sum(p[0] for p in ring) / len(ring)
                    cy = sum(p[1] for p in ring) / len(ring)
                    labels.append((*px(cx, cy), beat["name"]))
            else:
                visible = [
                    r
                    for r in rings
                    if any(0 <= r[i] <= width and 0 <= r[i + 1] <= height for i in range(0, len(r), 2))
                ]
                others += visible
        self.lines, self.other_lines, self.labels = mine, others, labels
        loc = self._location
        self.marker = list(px(loc.lon, loc.lat)) if loc.has_fix else []
        self.partner_markers = [list(px(lon, lat)) for lon, lat in self._partners]
        self.colleague_markers = [list(px(lon, lat)) for lon, lat in self._colleagues]
        self.task_marker = list(px(*self._task)) if self._task is not None else []
        self.accuracy_px = max(loc.accuracy_m, 0.0) / 111_320.0 * scale if loc.has_fix else 0.0
        self.track = [c for p in loc.track for c in px(*p)]
        self.tiles = self._tiles(clon, clat, scale) if self.tiles_url and self.online else []

    def _tiles(self, clon: float, clat: float, scale: float) -> list[tuple[float, float, float, float, str]]:
        """Web-Mercator tiles covering the widget, placed with the same projection as the polygons."""
        width, height = self._size
        k = math.cos(math.radians(clat))
        zoom = max(6, min(19, math.ceil(math.log2(max(360 * k * scale / 256, 1)))))  # tiles drawn <= 256 px
        n = 2**zoom

        def lon_lat(px_x: float, px_y: float) -> tuple[float, float]:
            return clon + (px_x - width / 2) / (k * scale), clat + (px_y - height / 2) / scale

        def tile_xy(lon: float, lat: float) -> tuple[int, int]:
            lat_r = math.radians(max(-85.0, min(85.0, lat)))
            return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(lat_r)) / math.pi) / 2 * n)

        def corner(x: int, y: int) -> tuple[float, float]:
            lon = x / n * 360 - 180
            lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
            return width / 2 + (lon - clon) * k * scale, height / 2 + (lat - clat) * scale

        x0, y0 = tile_xy(*lon_lat(0, height))  # top left
        x1, y1 = tile_xy(*lon_lat(width, 0))  # bottom right
        tiles = []
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                left, top = corner(x, y)
                right, bottom = corner(x + 1, y + 1)
                url = self.tiles_url.format(z=zoom, x=x, y=y)
                tiles.append((left, bottom, right - left, top - bottom, url))
        return tiles[:64]
