"""A griffe extension for the documentation site (mkdocs.yml): the docstrings cross-reference in
reST (``:func:`~posemoe.load```); shown by mkdocstrings as Markdown, a role becomes plain code."""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|obj|exc|const):`~?([^`]+)`")


class SphinxRoles(griffe.Extension):
    """Rewrite ``:role:`~a.b.c``` as ``c`` (with ``~``) or ``a.b.c`` in code, before rendering."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(_code, obj.docstring.value)


def _code(match: re.Match) -> str:
    target = match.group(1)
    short = match.group(0).split("`")[1].startswith("~")
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"
