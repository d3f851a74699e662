"""The one rule for text and JSON that people and agents send: what a database can keep.

PostgreSQL refuses NUL in any text or jsonb value, no engine encodes a lone surrogate (a JSON
body can send both as \\u escapes) and no JSON column keeps NaN or Infinity, so the insert — or
even the lookup — would fail with a 500. Every free-text input (API schemas, the plan payload
schema, every HTML form) goes through `storable_text`, and every JSON value a caller hands in
through `json_problem`, with a maximum length for each, so bad input is a clear 4xx that writes
nothing.

Imports no app of the project: every app may import it.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from pydantic import BeforeValidator, StringConstraints

from config.errors import DomainError

REASON_MAX = 2_000  # a reason, a note, a comment's one-line cousin
COMMENT_MAX = 10_000
SUMMARY_MAX = 20_000
DIFF_MAX_BYTES = 256 * 1024  # a ticket's diff preview, as JSON


def text_problem(value: str) -> str | None:
    """Why `value` can't be stored, or None."""
    if "\x00" in value:
        return "may not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "may not contain lone surrogates (not valid UTF-8)"
    return None


def storable_text(value: Any) -> Any:
    """A pydantic validator: `value`, or a ValueError that says what is wrong with it. It runs
    before the type's own checks (which would refuse a lone surrogate in less helpful words);
    what is not a string is left to them."""
    problem = text_problem(value) if isinstance(value, str) else None
    if problem:
        raise ValueError(problem)
    return value


def validate_storable_text(value: str) -> None:
    """The same rule as a Django validator (forms and model fields)."""
    problem = text_problem(str(value))
    if problem:
        raise ValidationError(f"This text {problem}.", code="unstorable")


class StorableTextField(forms.CharField):
    """A form's free-text field under the same rule (give it a max_length)."""

    default_validators = [validate_storable_text]


# For every free-text field and path parameter of the API and the plan payload (a failure is a
# 422 that names the field). Lengths go beside it: Field(max_length=...).
StorableText = Annotated[str, BeforeValidator(storable_text)]


def BoundedStorableText(*, max_length: int, min_length: int = 0):  # noqa: N802 (a type)
    """StorableText with its lengths inside the type, for a field where Field(max_length=...)
    can't reach the string — an optional one (`BoundedStorableText(max_length=120) | None`):
    there the length would apply to the union, checked as a generic "at most N items". Here
    pydantic-core checks it on the string itself: "at most N characters"."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        BeforeValidator(storable_text),
    ]


def json_problem(value: Any, *, max_bytes: int | None = None) -> str | None:
    """Why the JSON value `value` can't be stored (NUL, lone surrogates, NaN/Infinity, too big),
    or None."""
    try:
        text = json.dumps(value, allow_nan=False, cls=DjangoJSONEncoder, ensure_ascii=False)
    except (TypeError, ValueError):
        return "must be plain JSON (no NaN or Infinity)"
    if "\\u0000" in text:
        return "may not contain NUL characters"
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        return "may not contain lone surrogates (not valid UTF-8)"
    if max_bytes is not None and len(encoded) > max_bytes:
        return f"is {len(encoded):,} bytes as JSON; at most {max_bytes:,}"
    return None


def clean_text(value: str | None, *, name: str, max_length: int) -> str:
    """A person's free text (a reason, a comment), trimmed; a DomainError naming `name` when it
    can't be kept."""
    value = (value or "").strip()
    problem = text_problem(value)
    if problem is None and len(value) > max_length:
        problem = f"is at most {max_length:,} characters ({len(value):,} sent)"
    if problem:
        raise DomainError(f"The {name} {problem}.", code="invalid_text", fields={name: [problem]})
    return value
