"""The one error refactors raise: its message is what the user reads."""


class RefactorError(ValueError):
    """A refactor was refused (bad name, clash, nothing to rename) or failed validation; nothing was applied."""
