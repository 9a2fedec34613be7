"""The use cases: complete, refactor, diagnose, explain, and the workspace they work on.

Others use only what is named here.
"""

from indexer import BuildStats

from .workspace import FileDependencies, Workspace, WorkspaceSettings

__all__ = ["BuildStats", "FileDependencies", "Workspace", "WorkspaceSettings"]
