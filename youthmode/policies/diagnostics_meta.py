"""The catalogue's codes and wordings of the policy-level keys and of rules in force.

`[policy]` jurisdiction, in_force, status, languages, floors; `[age_assurance]`; a rule's
`in_force`, `status` and messages in extra languages (`validate_meta.py`), and the warnings
`youthmode check` adds about them (`in_force.py`). `diagnostics.CODES` lists these codes with the
others; each has its page in docs/errors like every code.
"""

from __future__ import annotations

from youthmode.policies.catalogue import COMPUTED, Code, Message, register

META_CODES: tuple[Code, ...] = (
    Code("invalid_jurisdiction", "a `jurisdiction` or `floors` key that is not an ISO 3166 code"),
    Code("invalid_in_force", "an `in_force` whose `from` is not before its `until`"),
    Code("unknown_age_method", "an `[age_assurance] methods` entry that is not an age method"),
    Code("undeclared_language", "a message in a language `[policy] languages` does not declare"),
    Code("unknown_floor", "`floors` names a policy that is not loaded"),
    Code("floor_cycle", "`floors` names the policy itself, or floors lead back to it"),
    Code(
        "missing_translation",
        "a rule's message lacks a language of `[policy] languages` (a warning)",
        "warning",
    ),
    Code(
        "floor_has_floors",
        "a floor pack has floors of its own, which do not apply (a warning)",
        "warning",
    ),
    Code("not_in_force", "a policy or rule whose status is not `in_force` (a warning)", "warning"),
    Code(
        "in_force_ended",
        "a policy or rule whose `in_force.until` has passed (a warning)",
        "warning",
    ),
    Code(
        "review_overdue",
        "a pack whose `reviewed` date is more than 6 months old (a warning)",
        "warning",
    ),
    Code(
        "unsourced_consent_age",
        "an entry of the consent-age table (data/consent-ages.toml) without a source (a warning)",
        "warning",
    ),
    Code(
        "in_force_far_ahead",
        "a policy or rule in force only from more than 5 years ahead (a warning)",
        "warning",
    ),
)
register(META_CODES)

# -- schema and cross-checks (schema.py, validate_meta.py) ----------------------------------------
IN_FORCE_ORDER = Message(
    "invalid_in_force",
    "`in_force` must start before it ends: `from` is {start}, `until` is {end}",
    hint="`until` is the first day the rule no longer binds (exclusive)",
)
INVALID_JURISDICTION = Message("invalid_jurisdiction", "{detail}")
UNKNOWN_AGE_METHOD = Message(
    "unknown_age_method", "`{method}` is not an age assurance method", hint=COMPUTED
)
UNDECLARED_LANGUAGE = Message(
    "undeclared_language",
    "message language `{language}` is not declared in [policy] languages",
    hint=COMPUTED,
)
UNKNOWN_FLOOR = Message(
    "unknown_floor", "floor `{floor}` for `{jurisdiction}` is not a loaded policy", hint=COMPUTED
)
FLOOR_IS_ITSELF = Message(
    "floor_cycle",
    "policy `{id}` names itself as a floor for `{jurisdiction}`",
    hint="a policy always applies to its own subjects; remove it from `floors`",
)
FLOOR_CYCLE = Message(
    "floor_cycle",
    "`floors` make a cycle: {cycle}",
    hint="a floor pack cannot name, directly or through others, the policy it is a floor of",
)

# -- warnings of `youthmode check` (in_force.py) --------------------------------------------------
MISSING_TRANSLATION = Message(
    "missing_translation",
    "rule `{rule}` has no `{language}` message; its en message is shown instead",
    hint='add {language} = "…" to the rule\'s message',
)
FLOOR_HAS_FLOORS = Message(
    "floor_has_floors",
    "floor `{floor}` of `{id}` has floors of its own; they do not apply through `{id}`",
    hint="name every pack that must apply in `{id}`'s own floors",
)
POLICY_NOT_IN_FORCE = Message(
    "not_in_force",
    "policy `{policy}` has status `{status}`: none of its rules are enforced",
    hint='set status = "in_force" once it binds',
)
RULE_NOT_IN_FORCE = Message(
    "not_in_force",
    "rule `{rule}` has status `{status}` and is not enforced",
    hint='set status = "in_force" once it binds',
)
IN_FORCE_ENDED = Message(
    "in_force_ended",
    "{what} is not in force since {until}: it is no longer enforced",
    hint="remove it, or correct `in_force.until`",
)
IN_FORCE_FAR_AHEAD = Message(
    "in_force_far_ahead",
    "{what} is in force only from {start}, more than 5 years ahead",
    hint="check the year of `in_force.from`",
)
REVIEW_OVERDUE = Message(
    "review_overdue",
    "policy `{policy}` was last reviewed on {reviewed}, more than {months} months ago",
    hint="check its sources, legal status and dates again, then set `reviewed` to today",
)
UNSOURCED_CONSENT_AGE = Message(
    "unsourced_consent_age",
    "the consent age of `{code}` has no `source`: nobody can check where it comes from",
    hint='add source = "the law and article, with a link", and verified = true once read',
)
