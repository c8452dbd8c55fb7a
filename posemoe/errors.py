"""Errors a user can act on. The CLI prints these as one line; anything else is a bug and keeps
its traceback."""

from __future__ import annotations

from collections.abc import Iterable


class UserError(ValueError):
    """Bad input, option or file: the message says what was expected and what was found."""


class MissingDependency(UserError, ImportError):
    """An optional dependency is not installed: the message says which extra brings it."""


def refuse_unknown(where: str, given: Iterable[str], known: Iterable[str]) -> None:
    """Refuse the names in ``given`` that are not ``known``: "<where>: unknown options [...];
    known: a, b" (a config table, model overrides, stored model configs)."""
    known = list(known)
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise UserError(f"{where}: unknown options {unknown}; known: {', '.join(known)}")
