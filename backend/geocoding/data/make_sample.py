"""Makes `amsterdam_sample.json`, the small address sample the Locatieserver simulator answers from.

Run it from the repository root (`python -m backend.geocoding.data.make_sample`) after changing STREETS. Street
names are real streets of Amsterdam's old centre; house numbers are spread evenly along a hand-drawn line of
each street, so positions are approximate (within some tens of metres). The buurtcode of each address is the
CBS buurt (2014 edition, backend/demo/data) its position falls in; addresses outside every shipped buurt are
left out. Postcodes and BAG-style ids are derived deterministically here: plausible in form, not BAG records.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from shapely.geometry import Point, shape

ROOT = Path(__file__).resolve().parents[3]
BUURTEN = ROOT / "backend" / "demo" / "data" / "amsterdam_cbs_buurten_2014_wgs84.geojson"
OUT = Path(__file__).with_name("amsterdam_sample.json")

# street, postcode digits, (lat, lon) start, (lat, lon) end, house numbers
STREETS: list[tuple[str, str, tuple[float, float], tuple[float, float], list[int]]] = [
    ("Dam", "1012", (52.37340, 4.89160), (52.37300, 4.89440), [1, 2, 5, 8, 11, 14, 17, 20]),
    ("Damrak", "1012", (52.37390, 4.89380), (52.37760, 4.89820), [1, 10, 20, 30, 40, 50, 62, 70, 80, 93]),
    ("Damstraat", "1012", (52.37270, 4.89450), (52.37220, 4.89650), [1, 6, 12, 18, 24, 30]),
    ("Warmoesstraat", "1012", (52.37600, 4.89880), (52.37330, 4.89500), [1, 20, 40, 60, 80, 100, 120, 140, 160]),
    ("Nieuwmarkt", "1011", (52.37300, 4.89990), (52.37210, 4.90090), [1, 4, 8, 12, 16, 20, 24]),
    ("Zeedijk", "1012", (52.37620, 4.90030), (52.37290, 4.89980), [1, 15, 30, 45, 60, 75, 90, 105, 120]),
    ("Oudezijds Voorburgwal", "1012", (52.37610, 4.89850), (52.36930, 4.89440),
     [14, 40, 72, 100, 130, 160, 187, 215, 240, 272, 300]),
    ("Oudezijds Achterburgwal", "1012", (52.37440, 4.89950), (52.36900, 4.89560),
     [6, 30, 60, 91, 120, 150, 185, 215, 237]),
    ("Kalverstraat", "1012", (52.37250, 4.89220), (52.36730, 4.89300), [1, 22, 48, 72, 92, 118, 142, 170, 200, 226]),
    ("Rokin", "1012", (52.37210, 4.89330), (52.36770, 4.89370), [9, 28, 49, 65, 84, 102, 121, 140]),
    ("Nieuwendijk", "1012", (52.37680, 4.89440), (52.37370, 4.89240), [1, 25, 50, 75, 100, 125, 150, 175, 200]),
    ("Nieuwezijds Voorburgwal", "1012", (52.37700, 4.89310), (52.36930, 4.89040),
     [2, 40, 80, 120, 160, 182, 220, 260, 300]),
    ("Geldersekade", "1011", (52.37600, 4.90110), (52.37320, 4.90120), [1, 20, 40, 60, 80, 100]),
    ("Sint Antoniesbreestraat", "1011", (52.37190, 4.90110), (52.37050, 4.90230), [1, 20, 40, 60, 80]),
    ("Spui", "1012", (52.36870, 4.89000), (52.36830, 4.89230), [1, 10, 21, 30]),
]


def _digits(text: str, n: int) -> str:
    return str(int(hashlib.sha256(text.encode()).hexdigest(), 16))[-n:]


def _letters(text: str) -> str:
    h = hashlib.sha256(text.encode()).digest()
    alphabet = "ABCEGHJKLMNPRSTVWXZ"  # PostNL leaves out F, I, O, Q, U, Y and SA, SD, SS
    return alphabet[h[0] % len(alphabet)] + alphabet[h[1] % len(alphabet)]


def main() -> None:
    buurten = [(f["properties"], shape(f["geometry"])) for f in json.loads(BUURTEN.read_text())["features"]]
    docs = []
    for street, pc, start, end, numbers in STREETS:
        street_id = "0363300000" + _digits(street, 6)
        postcode = pc + _letters(street)
        for i, number in enumerate(numbers):
            t = i / max(1, len(numbers) - 1)
            lat = round(start[0] + (end[0] - start[0]) * t, 6)
            lon = round(start[1] + (end[1] - start[1]) * t, 6)
            found = next((p for p, s in buurten if s.contains(Point(lon, lat))), None)
            if found is None:
                continue
            key = f"{street} {number}"
            docs.append(
                {
                    "id": "adr-" + hashlib.md5(key.encode()).hexdigest(),  # noqa: S324  # an id, not a secret
                    "type": "adres",
                    "straatnaam": street,
                    "huisnummer": number,
                    "huis_nlt": str(number),
                    "postcode": postcode,
                    "woonplaatsnaam": "Amsterdam",
                    "gemeentenaam": "Amsterdam",
                    "gemeentecode": "0363",
                    "provincienaam": "Noord-Holland",
                    "weergavenaam": f"{street} {number}, {postcode} Amsterdam",
                    "nummeraanduiding_id": "0363200000" + _digits("na" + key, 6),
                    "adresseerbaarobject_id": "0363010000" + _digits("vbo" + key, 6),
                    "openbareruimte_id": street_id,
                    "buurtcode": found["buurtcode"],
                    "buurtnaam": found["buurtnaam"],
                    "centroide_ll": f"POINT({lon} {lat})",
                }
            )
    OUT.write_text(json.dumps({"docs": docs}, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(docs)} addresses -> {OUT}")


if __name__ == "__main__":
    main()
