"""C and C++: ``#include`` spellings to header files.

``"x.h"`` is looked up relative to the including file's directory first, as compilers do; then,
since include paths are build settings the indexer does not read, any file whose path ends with
``/x.h`` (leading ``../`` dropped) stands in for an include-path match: the shortest path wins,
then the lexicographically first. ``<x.h>`` gets only that suffix match, so system headers, absent
from the repository, resolve to nothing, as do computed includes (``#include MACRO``).
"""

from __future__ import annotations

import posixpath

from ..model import Import
from . import ImportTargets, RepoLayout, files_by_name, join, normalize, parent

importer_key = parent  # a quoted include is looked up from the importer's directory


def resolve(layout: RepoLayout, importer: str, imp: Import) -> ImportTargets:
    """Resolve one ``#include`` spelling, with its quotes or angle brackets."""
    spec = imp.module.strip()
    if len(spec) < 3 or spec[0] + spec[-1] not in ('""', "<>"):
        return ImportTargets()
    path = spec[1:-1].strip()
    if spec[0] == '"':
        local = normalize(join(parent(importer), path))
        if local in layout.files:
            return ImportTargets(modules=(local,))
    suffix = posixpath.normpath(path)
    while suffix.startswith("../"):
        suffix = suffix[3:]
    for candidate in files_by_name(layout).get(posixpath.basename(suffix), ()):
        if candidate == suffix or candidate.endswith("/" + suffix):
            return ImportTargets(modules=(candidate,))
    return ImportTargets()
