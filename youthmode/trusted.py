"""Response models the engine builds from its own values, without validating them again.

Pydantic validation is for what comes in; checking the engine's own values costs more than
deciding. See `trusted`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)
_TEMPLATES: dict[type[BaseModel], dict[str, Any]] = {}
_REQUIRED = object()  # stands for a required value the caller forgot: it cannot serialise
_set = object.__setattr__


def trusted(cls: type[Model], values: dict[str, Any]) -> Model:
    """A response model built from values the engine made itself, without validating them.

    Validation is for what comes in; the engine's own values already have the declared
    types, and checking them again costs more than deciding. `model_construct` would skip it
    too but is slower still (it walks every field in Python). What this sets is what
    `model_construct` sets, in declaration order (pydantic writes JSON in `__dict__` order).
    tests/test_engine.py checks that decisions validate back to themselves, so a wrongly
    typed or missing value cannot hide here.
    """
    template = _TEMPLATES.get(cls)
    if template is None:
        if any(f.default_factory is not None for f in cls.model_fields.values()):
            raise TypeError(f"{cls.__name__} has default factories; validate it instead")
        template = _TEMPLATES[cls] = {
            name: _REQUIRED if field.is_required() else field.default
            for name, field in cls.model_fields.items()
        }
    fields = template.copy()
    fields.update(values)  # an update keeps each key where the template put it
    obj = cls.__new__(cls)
    _set(obj, "__dict__", fields)
    _set(obj, "__pydantic_fields_set__", set(values))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def trusted_update(model: Model, updates: dict[str, Any]) -> Model:
    """``model`` with ``updates``, as `model.model_copy(update=updates)` makes it, for a model
    that forbids extra fields and updates of the declared types (nothing is validated).

    `model_copy` goes through `__copy__`, copying the extra and private parts one by one and
    asking the model's config for each update; a decision filled from the ledger paid that
    on every request.
    """
    if model.__pydantic_extra__ is not None or model.__pydantic_private__ is not None:
        return model.model_copy(update=updates)
    obj = model.__class__.__new__(model.__class__)
    fields = model.__dict__.copy()
    fields.update(updates)
    _set(obj, "__dict__", fields)
    _set(obj, "__pydantic_fields_set__", model.__pydantic_fields_set__ | updates.keys())
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def trusted_complete(cls: type[Model], values: dict[str, Any]) -> Model:
    """`trusted` for values that name every field of ``cls``, as `cls(**values)` would set
    them (default factories, which `trusted` refuses, are then never called)."""
    names = cls.model_fields.keys()
    if values.keys() != names:
        raise TypeError(f"{cls.__name__} needs every field: {sorted(names ^ values.keys())}")
    obj = cls.__new__(cls)
    _set(obj, "__dict__", {name: values[name] for name in names})  # declaration order
    _set(obj, "__pydantic_fields_set__", set(names))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj
