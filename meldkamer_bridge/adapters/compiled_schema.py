"""A JSON Schema draft 4 check compiled once into Python closures: the fast yes/no in front of `jsonschema`.

`jsonschema` interprets the schema again for every document (for an EIDO: ~76 subschemas, 17 `$ref` lookups
through `referencing`, ~1 ms on a quiet machine, most of the cost of taking an incident in). Compiled, each
subschema is a closure made the first time a document reaches it (the NIEM components are far larger than
what an EIDO uses), and a `$ref` is resolved once. It only says valid or not: a document it refuses is checked
again by `jsonschema` for the reason, so the messages stay those of the reference implementation.

It compiles only the draft 4 keywords it knows, with `jsonschema`'s semantics (Draft4Validator without a
format checker: `format` is not checked, keywords it does not know are ignored, `$ref` hides its siblings).
A subschema using a draft 4 keyword it does not implement, or an `id`, raises `Unsupported` when first
reached, and the caller goes back to `jsonschema` for good: it never says yes where `jsonschema` says no.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from referencing._core import Resolver

Check = Callable[[Any], bool]

# draft 4 keywords this compiler does not implement (jsonschema's Draft4Validator has them)
_UNSUPPORTED = {"dependencies", "uniqueItems", "id"}


class Unsupported(Exception):
    """The schema uses a keyword the compiler does not implement: use `jsonschema` instead."""


def _is_integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,  # draft 4: 1.0 is not an integer
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _equal(a: Any, b: Any) -> bool:
    """jsonschema's `equal`: True is not 1, containers compared item by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return bool(a == b)


class Compiler:
    def __init__(self, resolver: Resolver[Any]) -> None:
        self.resolver = resolver
        self._done: dict[tuple[int, str], Check] = {}
        self._keep: list[Any] = []  # the schemas compiled: their id() stays theirs

    def compile(self, schema: Any, resolver: Resolver[Any] | None = None) -> Check:
        resolver = resolver or self.resolver
        key = (id(schema), str(getattr(resolver, "_base_uri", "")))  # no public name for the base
        found = self._done.get(key)
        if found is not None:
            return found
        compiled: Check | None = None

        def lazy(v: Any) -> bool:  # compiled on first use: cycles and unused NIEM parts cost nothing
            nonlocal compiled
            if compiled is None:
                compiled = self._build(schema, resolver)
            return compiled(v)

        self._done[key] = lazy
        self._keep.append(schema)
        return lazy

    def _build(self, schema: Any, resolver: Resolver[Any]) -> Check:
        if schema is True or schema == {}:
            return lambda v: True
        if schema is False:
            return lambda v: False
        if not isinstance(schema, dict):
            raise Unsupported(f"a schema that is not an object: {schema!r}"[:200])
        if "$ref" in schema:  # draft 4: the siblings of $ref are ignored
            resolved = resolver.lookup(schema["$ref"])
            return self.compile(resolved.contents, resolved.resolver)
        if _UNSUPPORTED & schema.keys():
            raise Unsupported(f"keyword {sorted(_UNSUPPORTED & schema.keys())}")
        if not isinstance(schema.get("required", []), list):
            raise Unsupported("required that is not a list")
        checks: list[Check] = []
        add = checks.append
        if "type" in schema:
            names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if any(n not in _TYPES for n in names):
                raise Unsupported(f"type {names}")
            tests = [_TYPES[n] for n in names]
            add(lambda v: any(t(v) for t in tests))
        if "enum" in schema:
            allowed = list(schema["enum"])
            add(lambda v: any(_equal(v, a) for a in allowed))
        self._objects(schema, resolver, add)
        self._arrays(schema, resolver, add)
        self._scalars(schema, add)
        if "allOf" in schema:
            every = [self.compile(s, resolver) for s in schema["allOf"]]
            add(lambda v: all(s(v) for s in every))
        if "anyOf" in schema:
            some = [self.compile(s, resolver) for s in schema["anyOf"]]
            add(lambda v: any(s(v) for s in some))
        if "oneOf" in schema:
            one = [self.compile(s, resolver) for s in schema["oneOf"]]
            add(lambda v: sum(1 for s in one if s(v)) == 1)
        if "not" in schema:
            negated = self.compile(schema["not"], resolver)
            add(lambda v: not negated(v))
        if not checks:
            return lambda v: True
        if len(checks) == 1:
            return checks[0]
        return lambda v: all(c(v) for c in checks)

    def _objects(self, schema: dict[str, Any], resolver: Resolver[Any], add: Callable[[Check], None]) -> None:
        props = {k: self.compile(s, resolver) for k, s in (schema.get("properties") or {}).items()}
        patterns = [
            (re.compile(p), self.compile(s, resolver))
            for p, s in (schema.get("patternProperties") or {}).items()
        ]
        extra = schema.get("additionalProperties", True)
        extra_check = None if extra is True or extra == {} else self.compile(extra, resolver)
        required = list(schema.get("required") or [])
        least, most = schema.get("minProperties"), schema.get("maxProperties")
        if not (props or patterns or extra_check or required or least is not None or most is not None):
            return

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            if any(r not in v for r in required):
                return False
            if (least is not None and len(v) < least) or (most is not None and len(v) > most):
                return False
            for k, item in v.items():
                matched = False
                sub = props.get(k)
                if sub is not None:
                    matched = True
                    if not sub(item):
                        return False
                for pattern, psub in patterns:
                    if pattern.search(k):
                        matched = True
                        if not psub(item):
                            return False
                if not matched and extra_check is not None and not extra_check(item):
                    return False
            return True

        add(check)

    def _arrays(self, schema: dict[str, Any], resolver: Resolver[Any], add: Callable[[Check], None]) -> None:
        items = schema.get("items", True)
        least, most = schema.get("minItems"), schema.get("maxItems")
        if isinstance(items, list):
            each = [self.compile(s, resolver) for s in items]
            extra = schema.get("additionalItems", True)
            rest = None if extra is True or extra == {} else self.compile(extra, resolver)

            def tuple_check(v: Any) -> bool:
                if not isinstance(v, list):
                    return True
                if not all(c(x) for c, x in zip(each, v, strict=False)):
                    return False
                return rest is None or all(rest(x) for x in v[len(each) :])

            add(tuple_check)
        elif not (items is True or items == {}):
            one = self.compile(items, resolver)
            add(lambda v: not isinstance(v, list) or all(one(x) for x in v))
        if least is not None or most is not None:
            lo, hi = least or 0, most

            def size(v: Any) -> bool:
                return not isinstance(v, list) or (len(v) >= lo and (hi is None or len(v) <= hi))

            add(size)

    def _scalars(self, schema: dict[str, Any], add: Callable[[Check], None]) -> None:
        if "pattern" in schema:
            pattern = re.compile(schema["pattern"])
            add(lambda v: not isinstance(v, str) or pattern.search(v) is not None)
        if "minLength" in schema or "maxLength" in schema:
            lo, hi = schema.get("minLength", 0), schema.get("maxLength")
            add(lambda v: not isinstance(v, str) or (len(v) >= lo and (hi is None or len(v) <= hi)))
        if "minimum" in schema:
            low, strict_low = schema["minimum"], bool(schema.get("exclusiveMinimum"))
            add(lambda v: not _is_number(v) or (v > low if strict_low else v >= low))
        if "maximum" in schema:
            high, strict_high = schema["maximum"], bool(schema.get("exclusiveMaximum"))
            add(lambda v: not _is_number(v) or (v < high if strict_high else v <= high))
        if "multipleOf" in schema:
            raise Unsupported("multipleOf")
