"""A decision as the API's JSON: exactly `Decision.model_dump_json()`, as UTF-8 bytes (what
a response and a decision log line are made of), written by the compiled stage
youthmode/_dump.c where it is built and sure of every value, else by pydantic.

pydantic's serializer walks the model's schema and calls back into Python for every sparse
field's `exclude_if` (twenty a decision): about 7 us, as much as a quarter of a batch item.
The compiled writer reads each response model's fields from a table made here, from the
models' own field definitions, so a field added to model.py is written without a change
there; a model this module cannot describe exactly (an alias, a custom serializer, a
serialization setting) gets no table and is always written by pydantic.
tests/test_dump_compiled.py holds the two writers to the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from youthmode import compiled
from youthmode.model import (
    ConsentAgeUsed,
    Decision,
    Facts,
    Obligation,
    PolicyRef,
    Reason,
    Remedy,
    _is_none,
)

# Every model a decision holds (its own fields' types): the ones given tables.
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    Decision,
    Reason,
    ConsentAgeUsed,
    Obligation,
    Remedy,
    Facts,
    PolicyRef,
)
ALWAYS, WHEN_NOT_NONE, WHEN_KEPT = 0, 1, 2  # how a field is left out (_dump.c's modes)
FieldSpec = tuple[str, int, Callable[[Any], bool] | None]


def field_table(cls: type[BaseModel]) -> tuple[FieldSpec, ...] | None:
    """``cls``'s fields in declaration order, each with how `model_dump_json` leaves it out;
    None when anything about the model could make pydantic write it differently."""
    decorators = cls.__pydantic_decorators__
    if decorators.field_serializers or decorators.model_serializers or decorators.computed_fields:
        return None
    if any(key.startswith("ser_") or key == "serialize_by_alias" for key in cls.model_config):
        return None
    table: list[FieldSpec] = []
    for name, field in cls.model_fields.items():
        if field.alias or field.serialization_alias or field.exclude:
            return None
        skip = field.exclude_if
        if skip is None:
            table.append((name, ALWAYS, None))
        elif skip is _is_none:
            table.append((name, WHEN_NOT_NONE, None))
        else:
            table.append((name, WHEN_KEPT, skip))
    return tuple(table)


def _compiled_dump() -> Callable[[BaseModel], bytes | None] | None:
    module = compiled.load("_dump")
    if module is None:
        return None
    tables = {cls: table for cls in RESPONSE_MODELS if (table := field_table(cls)) is not None}
    module.configure(tables, Decimal)
    dump: Callable[[BaseModel], bytes | None] = module.dump
    return dump


_dump = _compiled_dump()


def dumps(decision: Decision) -> bytes:
    """``decision.model_dump_json()`` in UTF-8, written the fast way when it can be (raises
    pydantic's PydanticSerializationError where pydantic would: a lone surrogate)."""
    if _dump is not None and (text := _dump(decision)) is not None:
        return text
    return decision.model_dump_json().encode("utf-8")
