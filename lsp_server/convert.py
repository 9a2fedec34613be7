"""agent's plain data <-> LSP wire types: locations, ranges, and WorkspaceChange -> WorkspaceEdit."""

from __future__ import annotations

from lsprotocol import types as t

from agent import WorkspaceChange

from .positions import range_to_wire

CONFIRM_ANNOTATION = "wholerepo.confirm"
SEVERITY = {
    "error": t.DiagnosticSeverity.Error,
    "warning": t.DiagnosticSeverity.Warning,
    "information": t.DiagnosticSeverity.Information,
    "hint": t.DiagnosticSeverity.Hint,
}


def location(ls, found) -> t.Location:
    """An agent Location (path relative to the root, range in code points)."""
    return t.Location(ls.uri(found.path), range_to_wire(ls.lines(found.path), found.range, ls.encoding))


def workspace_edit(ls, change: WorkspaceChange) -> t.WorkspaceEdit:
    """One WorkspaceEdit with document versions; multi-file changes carry an annotation that asks for
    confirmation (editors show the label and let the user review each file)."""
    annotation = CONFIRM_ANNOTATION if change.needs_confirmation or len(change.files) > 1 else None
    documents: list = []
    for file in change.files:
        uri = ls.uri(file.path)
        lines = [] if file.create else ls.lines(file.path)
        if file.create:
            documents.append(t.CreateFile(uri=uri, annotation_id=annotation))
        edits = [
            t.AnnotatedTextEdit(
                range=range_to_wire(lines, e.range, ls.encoding), new_text=e.new_text, annotation_id=annotation
            )
            if annotation
            else t.TextEdit(range_to_wire(lines, e.range, ls.encoding), e.new_text)
            for e in file.edits
        ]
        version = None if file.create else file.version
        documents.append(t.TextDocumentEdit(t.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version), edits))
    annotations = None
    if annotation:
        description = f"{change.edit_count} edits in {len(change.files)} files"
        annotations = {annotation: t.ChangeAnnotation(change.label, needs_confirmation=True, description=description)}
    return t.WorkspaceEdit(document_changes=documents, change_annotations=annotations)


def diagnostic(ls, finding) -> t.Diagnostic:
    lines = ls.lines(finding.path)
    return t.Diagnostic(
        range=range_to_wire(lines, finding.range, ls.encoding),
        message=finding.message,
        severity=SEVERITY.get(finding.severity, t.DiagnosticSeverity.Warning),
        code=finding.code,
        source="wholerepo",
        data={"fix": finding.fix is not None},
    )


def change_summary(change: WorkspaceChange) -> dict[str, object]:
    return {
        "label": change.label,
        "files": change.paths,
        "edits": change.edit_count,
        "needs_confirmation": change.needs_confirmation,
    }
