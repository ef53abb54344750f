"""The compiled EIDO schema check says what `jsonschema` says, document for document: the shipped samples,
what the bridge and the reference partner send, and each of them broken in many small ways (a field of the
wrong type, a field missing, a field too many, an empty list)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from meldkamer_bridge.adapters import compiled_schema, eido
from meldkamer_bridge.adapters.base import SCHEMAS, CodecError
from meldkamer_bridge.simulator import sample_incident

WRONG = [5, 1.5, "x", "", None, True, [], {}, [5], {"$ref": 5}]


def _documents() -> list[tuple[str, Any]]:
    docs: list[tuple[str, Any]] = [(f"sample {n}", json.loads(sample_incident(n)[1])) for n in (1, 2, 7)]
    docs.append(("exercise", json.loads(sample_incident(3, exercise="exercise")[1])))
    update = eido.IncidentUpdate(
        external_id="urn:x:1",
        agency="handhaving.amsterdam.nl",
        progress=eido.Progress.ASSIGNED,
        at=datetime(2026, 12, 1, 12, tzinfo=UTC),
        melding_id=4,
        units=("HH-01", "HH-02"),
        note="eenheid onderweg",
    )
    docs.append(("update", json.loads(eido.encode_update(update))))
    for path in sorted((SCHEMAS / "eido").glob("*eido*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and "$id" in doc and "incidentComponent" in doc:
            docs.append((path.name, doc))
    return docs


def _places(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _places(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _places(v, (*path, i))


def _mutants(doc: Any) -> Iterator[Any]:
    for path in _places(doc):
        if not path:
            continue
        *parent_path, last = path
        for value in WRONG:
            mutant = copy.deepcopy(doc)
            parent = mutant
            for step in parent_path:
                parent = parent[step]
            parent[last] = value
            yield mutant
        mutant = copy.deepcopy(doc)
        parent = mutant
        for step in parent_path:
            parent = parent[step]
        if isinstance(parent, dict):
            del parent[last]
            yield mutant
            extra = copy.deepcopy(doc)
            target = extra
            for step in parent_path:
                target = target[step]
            target["zzUnknownField"] = 1
            yield extra


@pytest.mark.parametrize(("name", "doc"), _documents(), ids=[n for n, _ in _documents()])
def test_the_compiled_check_agrees_with_jsonschema_on_every_variant(name: str, doc: Any) -> None:
    reference = eido._validator()
    check = compiled_schema.Compiler(eido._registry().resolver()).compile(eido._SCHEMA)
    assert reference.is_valid(doc) and check(doc)
    checked, refused, disagree = 0, 0, []
    for mutant in _mutants(doc):
        checked += 1
        expected = reference.is_valid(mutant)
        refused += not expected
        if check(mutant) != expected:
            disagree.append(json.dumps(mutant)[:500])
    assert not disagree, f"{len(disagree)} of {checked} variants judged differently, e.g. {disagree[0]}"
    assert refused > 0  # the variants include invalid documents, so both answers were tried


def test_a_refused_document_still_names_its_field() -> None:
    doc = json.loads(sample_incident(1)[1])
    doc["lastUpdateTimeStamp"] = 5
    with pytest.raises(CodecError) as refused:
        eido.validate_eido(doc)
    assert refused.value.field == "lastUpdateTimeStamp"
