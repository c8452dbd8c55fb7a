"""Errors a user can act on. The CLI prints these as one line; anything else is a bug and keeps
its traceback."""

from __future__ import annotations


class UserError(ValueError):
    """Bad input, option or file: the message says what was expected and what was found."""


class MissingDependency(UserError, ImportError):
    """An optional dependency is not installed: the message says which extra brings it."""
