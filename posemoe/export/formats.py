"""The registry of result formats, and how a result with several people is split into files.

A format is a function ``(result, out_dir) -> {path: (write, binary)}`` that says which files it
writes and how (:data:`~posemoe.export.results.FileWriter`); :func:`posemoe.export.write_result`
writes every file of every asked format together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from posemoe.errors import UserError
from posemoe.export.results import FileWriter, csv_file, json_file, npz_file
from posemoe.inference.result import PersonResult, Result

Format = Callable[["Result", Path], dict[Path, FileWriter]]
FORMATS: dict[str, Format] = {"npz": npz_file, "json": json_file, "csv": csv_file}


def register_format(name: str, fmt: Format) -> None:
    FORMATS[name] = fmt


def per_person(result: Result) -> list[Result]:
    """``result`` itself for one person of id 0 (or none); otherwise one view per person named
    ``<name>_person<id>`` (every format then writes one file per person, each whole on its own), so
    that lifting another id of the same video (``--track``) never replaces the first's files."""
    if not result.people or (
        len(result.people) == 1 and (result.people[0].track == 0 or "people" in result.extra)
    ):
        return [
            result
        ]  # one person of id 0, or a view already split off (marked by "people": idempotent)
    ids = [p.track for p in result.people]
    return [
        replace(
            result,
            name=person_name(result.name, p.track),
            people=[p],
            extra={**result.extra, "people": ids},
        )
        for p in result.people
    ]


def files_per_person(
    result: Result,
    out: Path,
    suffix: str,
    what: str,
    writer: Callable[[PersonResult, Path], FileWriter],
) -> dict[Path, FileWriter]:
    """``out/<name>.<suffix>`` (one person) or ``out/<name>_person<id>.<suffix>`` (several, see
    :func:`per_person`), each written by ``writer(person, path)``; a result without people is
    refused, saying it has no person to write as ``what``."""
    if not result.people:
        raise UserError(f"{result.name}: no person to write as {what}")
    paths = [(view.people[0], out / f"{view.name}.{suffix}") for view in per_person(result)]
    return {path: writer(person, path) for person, path in paths}


def person_name(name: str, track: int) -> str:
    """``<name>_person<id>``: the stem of one person's files (see :func:`per_person`)."""
    return f"{name}_person{track}"


def output_name(result: Result) -> str:
    """The stem of files that hold all of ``result``'s people at once (renderings): its name, or
    ``<name>_person<id>`` for one person whose id is not 0, as :func:`per_person` names it."""
    views = per_person(result)
    return views[0].name if len(views) == 1 else result.name
