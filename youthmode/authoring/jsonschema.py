"""`youthmode schema`: the JSON Schema of policy files, for editors (taplo, Even Better TOML).

The schema is generated from the pydantic models the loader validates with
(`youthmode.policies.schema`), then adjusted for TOML:

- durations, times of day and money are text in TOML (`"40m"`, `"22:00"`, `"50.00"`): their
  fields become strings with a pattern (money may also be a whole number);
- TOML has no null, so optional keys are simply optional, never `null`;
- single values are written `enum: [value]` rather than `const`, which validators that only
  know older drafts (taplo's among them) would ignore: rule kinds stay distinct for them too;
- a rule is checked against its kind's table by one `if kind is X then ...` branch per kind of
  the registry, not a `oneOf` of every kind: a validator then reports the mistake inside the
  branch (`'waivabel' was unexpected`, `"25:00" does not match ...`) instead of one "not valid
  under any of the schemas" per kind;
- names the cross-checks of `validate.py` enforce (ids, action names, tags, reason codes, day
  selectors and day types) get patterns and choices, so editors complete and flag them early;
- every key gets a one-line description for hover help.

The schema only helps while typing: `youthmode check` stays the authority (it also checks what a
schema cannot, such as bands covering every age or rules naming real bands).
`youthmode schema --tests` prints the schema of policy test files (`*_test.toml`) instead.
"""

from __future__ import annotations

import copy
import json
import typing
from collections.abc import Callable
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from youthmode.age_signals import METHODS
from youthmode.authoring.testing import CaseFile
from youthmode.model import DecisionRequest
from youthmode.policies import kinds, schema, windows
from youthmode.policies.validate import ACTION_PATTERN, CODE_PATTERN, ID_PATTERN

DRAFT = "https://json-schema.org/draft/2020-12/schema"
DURATION: dict[str, Any] = {
    "type": "string",
    "pattern": r"^\s*(?:\d+\s*[hms]\s*)+$",
    "description": 'a duration: whole numbers with h, m or s, e.g. "40m", "2h", "1h30m"',
}
TIME_OF_DAY: dict[str, Any] = {
    "type": "string",
    "pattern": r"^(?:(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?|24:00(?::00)?)$",
    "description": 'a 24-hour time of day, "HH:MM" or "HH:MM:SS", e.g. "22:00"; "24:00" ends a day',
}
MONEY: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*\d+(?:\.\d+)?\s*$"},
        {"type": "integer", "minimum": 0},
    ],
    "description": 'an amount in the policy currency, in quotes: "50.00" '
    "(whole numbers may go without quotes)",
}
DATE_OR_RANGE: dict[str, Any] = {
    "type": "string",
    "pattern": r"^\s*\d{4}-\d{2}-\d{2}\s*(?:\.\.\s*\d{4}-\d{2}-\d{2}\s*)?$",
    "description": "a date (2027-01-01) or a range in quotes, both ends included: "
    '"2027-02-05..2027-02-11"',
}
LOCAL_DATE: dict[str, Any] = {
    "type": "string",
    "pattern": r"^\s*\d{4}-\d{2}-\d{2}\s*$",
    "description": 'a local date of the policy\'s zone: 2027-01-01 or "2027-01-01"',
}
ACTION_SELECTOR: dict[str, Any] = {
    "type": "string",
    "pattern": rf"^(?:\*|{ACTION_PATTERN.pattern[1:-1]}(?:\.\*)?)$",
    "description": 'an action of the catalog, a prefix such as "game.*", or "*" for every action',
}


def _validator_of(alias: Any) -> Callable[..., Any]:
    """The function behind an `Annotated[..., BeforeValidator(f)]` alias of the schema module."""
    func: Callable[..., Any] = typing.get_args(alias)[1].func
    return func


# The value languages of `youthmode.units`, by the validator function that parses each.
TOML_TEXT: dict[Callable[..., Any], dict[str, Any]] = {
    _validator_of(schema.Duration): DURATION,
    _validator_of(schema.TimeOfDay): TIME_OF_DAY,
    _validator_of(schema.Money): MONEY,
    _validator_of(schema.DateSpec): DATE_OR_RANGE,
    _validator_of(schema.LocalDate): LOCAL_DATE,
}


class TomlJsonSchema(GenerateJsonSchema):
    """Pydantic's generator, adjusted to what TOML files hold."""

    def function_before_schema(
        self, schema: core_schema.BeforeValidatorFunctionSchema
    ) -> JsonSchemaValue:
        replacement = TOML_TEXT.get(schema["function"]["function"])
        if replacement is not None:
            return copy.deepcopy(replacement)
        return super().function_before_schema(schema)

    def literal_schema(self, schema: core_schema.LiteralSchema) -> JsonSchemaValue:
        out = super().literal_schema(schema)
        if "const" in out:  # `enum` means the same, and validators of drafts 4 to 7 know it
            out["enum"] = [out.pop("const")]
        return out

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])  # TOML has no null: the key is left out

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        out = super().default_schema(schema)
        if "default" in out and _has_null(out["default"]):
            del out["default"]  # TOML has no null to show as a default
        return out

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "title": "Category Exemptions" adds nothing to the key itself


def _has_null(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_null(v) for v in value)
    return value is None


# -- descriptions and checks the cross-validator enforces ---------------------------------------
CODE = {"type": "string", "pattern": CODE_PATTERN.pattern}
ID = {"type": "string", "pattern": ID_PATTERN.pattern}

# Keys every rule has; each kind's own keys are annotated by its registry entry (`kinds.py`).
RULE_KEYS: dict[str, dict[str, Any]] = {
    "id": {**ID, "description": "rule id, unique in the policy; decisions name it policy-id/id"},
    "kind": {"description": "what the rule does; see docs/policy-language.md#rule-kinds"},
    "bands": {
        "description": 'bands and groups the rule covers; "*" (the default) is every band',
    },
    "actions": {
        "items": ACTION_SELECTOR,
        "description": 'actions the rule covers: names, "game.*" prefixes, or "*"',
    },
    "tags": {"items": CODE, "description": "also covers every action with one of these tags"},
    "reason": {
        **CODE,
        "description": "the reason code decisions report (snake_case); each kind has a default",
    },
    "waivable": {"description": "a guardian may waive this rule (false for statutory rules)"},
    "category_exemptions": {
        "description": "skip for exempt app categories and apps a guardian exempted",
    },
    "override": {"description": "replaces the inherited rule with the same id"},
    "loosens": {
        "description": "why this override denies less than the rule it replaces (required "
        "then; a floor pack's rules can never be loosened)",
    },
    "message": {"description": 'what the person is shown: { zh-CN = "…", en = "…" }'},
    "description": {"description": "notes for people; the engine ignores it"},
    "source": {"description": "the regulation or decision behind the rule; ignored"},
    "in_force": {"description": "when the rule binds: { from = 2027-01-01, until = ... }"},
    "status": {"description": "in_force, or enjoined / proposed / repealed: never enforced"},
}

TABLE_KEYS: dict[str, dict[str, dict[str, Any]]] = {
    "PolicyDocument": {
        "policy": {"description": "who the policy is: id, version, time zone, calendar"},
        "calendar": {"description": "corrections and additions to the holiday calendar"},
        "bands": {"description": "age bands [from, to), covering every age from 0 up"},
        "groups": {
            "additionalProperties": {"items": {"type": "string"}},
            "description": "names for sets of bands, e.g. minors = [...]",
        },
        "catalog": {"description": "the actions apps ask about, and exempt app categories"},
        "rules": {"description": "the rules; each [[rules]] is one, chosen by `kind`"},
        "age_assurance": {"description": "the age-signal methods this policy accepts"},
    },
    "PolicyMeta": {
        "id": {**ID, "description": "the policy id, e.g. cn-baseline; unique among loaded files"},
        "version": {"description": "your version label, returned in every decision (required)"},
        "title": {"description": "a human title for listings"},
        "description": {"description": "notes for people; the engine ignores it"},
        "timezone": {"description": 'an IANA time zone, e.g. "Asia/Shanghai" (required)'},
        "calendar": {"description": 'country code of the official holiday calendar, e.g. "CN"'},
        "age_rollover": {"description": "when a birthday adds a year"},
        "currency": {
            "pattern": "^[A-Z]{3}$",
            "description": 'ISO 4217 code, e.g. "CNY" (the default)',
        },
        "default": {"description": "the policy used when a request names none"},
        "extends": {"description": "the id of a policy this one builds on"},
        "source": {"description": "where the policy comes from; ignored"},
        "jurisdiction": {"description": 'where its law applies: ISO 3166, e.g. "VN", "US-TX"'},
        "in_force": {"description": "when the whole pack binds (local dates; until exclusive)"},
        "status": {"description": "in_force, or enjoined / proposed / repealed: not enforced"},
        "languages": {
            "items": {"pattern": r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$"},
            "description": 'message languages besides zh-CN and en, e.g. ["vi"]',
        },
        "legal_status": {"description": "a note on the law's status and history; ignored"},
        "reviewed": {
            "description": "the local date the pack's sources were last checked; "
            "`youthmode check` warns when it is more than 6 months old",
        },
        "floors": {
            "description": 'packs that also apply by jurisdiction: { "VN" = "vn-decree-147" }',
        },
    },
    "InForce": {
        "from": {"description": "the first local date it binds (inclusive)"},
        "until": {"description": "the first local date it no longer binds (exclusive)"},
    },
    "AgeAssurance": {
        "methods": {
            "items": {"enum": list(METHODS)},
            "minItems": 1,
            "description": "accepted methods; signals with other methods are ignored",
        },
    },
    "CalendarOverrides": {
        "rest_days": {"description": "days off: each becomes a holiday"},
        "working_days": {"description": "working days: a weekend day becomes a makeup_workday"},
        "official_years": {"description": "years whose rest and working days are all listed"},
        "source": {"description": "where the dates come from; ignored"},
    },
    "Band": {
        "id": {**ID, "description": 'band id, e.g. "8-12"; `unknown` and `*` are reserved'},
        "from": {"description": "first age in the band, in whole years"},
        "to": {"description": "first age not in the band; leave out on the oldest band only"},
        "description": {"description": "notes for people; ignored"},
    },
    "Catalog": {
        "exempt_categories": {
            "description": "app categories that rules with category_exemptions skip",
        },
        "actions": {
            "propertyNames": {"pattern": ACTION_PATTERN.pattern},
            "description": 'one table per action: [catalog.actions."game.play"]',
        },
    },
    "ActionSpec": {
        "metered": {"description": "time in use counts against daily_budget rules"},
        "tags": {"items": CODE, "description": "labels rules can select by, e.g. game"},
        "spend": {"description": "makes this a spending action: the kind of spending"},
        "on_store_error": {"description": "decision for minors when the usage ledger is down"},
        "description": {"description": "notes for people; ignored"},
    },
    "Messages": {
        "zh-CN": {"description": "the message in Chinese"},
        "en": {"description": "the message in English"},
    },
    "Window": {
        "between": windows.KEYS["between"],
        "days": {**windows.KEYS["days"], "description": "days the window is on (default: all)"},
        "except_days": windows.KEYS["except_days"],
    },
}


# The annotations of every rule table, by model name: the common keys and the kind's own.
RULES: dict[str, dict[str, dict[str, Any]]] = {
    kind.model.__name__: {**RULE_KEYS, **kind.keys} for kind in kinds.KINDS
}


def _annotate(definitions: dict[str, Any]) -> None:
    """Add descriptions, patterns and choices to the generated definitions, in place."""
    for name, definition in definitions.items():
        keys = TABLE_KEYS.get(name) or RULES.get(name, {})
        for key, extra in keys.items():
            prop = definition.get("properties", {}).get(key)
            if prop is None:
                continue
            if "items" in extra and "items" in prop:
                prop["items"] = {**prop["items"], **extra["items"]}
            if "additionalProperties" in extra and "additionalProperties" in prop:
                prop["additionalProperties"] = {
                    **prop["additionalProperties"],
                    **extra["additionalProperties"],
                }
            prop.update({k: v for k, v in extra.items() if k not in prop or k == "description"})


def _rule_by_kind(definitions: dict[str, Any]) -> dict[str, Any]:
    """A rule table: `kind` is one of the registry's, and each kind's keys follow from it.

    One `if`/`then` per kind (JSON Schema draft 7, which taplo reads) rather than pydantic's
    `oneOf` with a discriminator: a `oneOf` fails as a whole, so validators report "not valid
    under any of the schemas listed" once per kind and never the key at fault.
    """
    names = [kind.name for kind in kinds.KINDS]
    for kind in kinds.KINDS:  # INVARIANT: every kind's table is among the generated definitions
        assert kind.model.__name__ in definitions, kind.name
    return {
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {
                "type": "string",
                "enum": names,
                "description": "what the rule does; see docs/policy-language.md#rule-kinds",
            },
        },
        "allOf": [
            {
                "if": {"properties": {"kind": {"enum": [kind.name]}}, "required": ["kind"]},
                "then": {"$ref": f"#/$defs/{kind.model.__name__}"},
            }
            for kind in kinds.KINDS
        ],
    }


def policy_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one policy file."""
    generated = schema.PolicyDocument.model_json_schema(
        by_alias=True, schema_generator=TomlJsonSchema
    )
    _annotate(generated.get("$defs", {}))
    _annotate({"PolicyDocument": generated})
    rules = generated["properties"]["rules"]
    rules["items"] = _rule_by_kind(generated["$defs"])
    return {
        "$schema": DRAFT,
        "title": "youthmode policy",
        "description": "A youthmode policy file (TOML). Reference: docs/policy-language.md; "
        "check files with `youthmode check`.",
        **{k: v for k, v in generated.items() if k not in ("title", "description")},
    }


def policy_tests_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one policy test file (`*_test.toml`)."""
    generated = CaseFile.model_json_schema(schema_generator=TomlJsonSchema)
    request = DecisionRequest.model_json_schema(schema_generator=TomlJsonSchema)
    definitions = {**generated.pop("$defs", {}), **request.pop("$defs", {})}
    definitions["DecisionRequest"] = request
    definitions["Case"]["properties"]["request"] = {
        "$ref": "#/$defs/DecisionRequest",
        "description": "a decision request, as in the API; `at` is required here",
    }
    return {
        "$schema": DRAFT,
        "title": "youthmode policy tests",
        "description": "A youthmode policy test file (*_test.toml): [[case]]s, each a request "
        "and the expected decision. Run with `youthmode test`.",
        **{k: v for k, v in generated.items() if k not in ("title", "description")},
        "$defs": dict(sorted(definitions.items())),
    }


def render(document: dict[str, Any]) -> str:
    """Stable text: the same schema always prints the same bytes."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
