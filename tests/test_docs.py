"""The README and docs/ stand alone: nothing points outside the repository, every local link exists."""

from __future__ import annotations

import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DOCS = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]


def test_docs_never_point_outside_the_repository():
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for outside in ("../shared", "/work/", "DESIGN.md", "REFERENCE.md", "REFERENCE-modernized.md"):
            assert outside not in text, f"{doc.name} refers to {outside}, which is not in the repository"


def test_every_local_link_and_path_named_in_the_docs_exists():
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+://", target):
                continue
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which does not exist"
        for path in re.findall(r"`((?:docs|runbooks|stacks|playbooks|benchmarks|policy|templates|asrctl)/[\w./-]+)`",
                               text):
            if "*" in path or "<" in path:
                continue
            assert (PROJECT / path).exists(), f"{doc.name} names {path}, which does not exist"
