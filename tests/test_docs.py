"""The project documents itself: docs/ stands on its own, and what it quotes of the
program is what the program says."""

from __future__ import annotations

import re
from pathlib import Path

from tests.help_text import options_of

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = (
    *("README.md", "events.md", "figures.md", "currencies.md", "commands.md", "auditing.md"),
    *("limits.md", "lifecycle.md", "history.md"),
)


def test_every_page_is_there_and_no_page_points_outside_the_repository() -> None:
    for name in (*PAGES, "decisions.md", "template.csv"):
        assert (DOCS / name).is_file(), name
    readme = (DOCS.parent / "README.md").read_text()
    for text in (readme, *((DOCS / page).read_text() for page in PAGES)):
        assert "../shared" not in text and "SPEC.md" not in text


def test_every_link_between_pages_reaches_a_page() -> None:
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.(?:md|csv))(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).is_file(), f"{page.name} links {target}"


def test_the_help_quoted_in_the_command_reference_is_the_programs() -> None:
    text = (DOCS / "commands.md").read_text()
    blocks = re.findall(r"```text\n(Usage: arr [^\n]*\n.*?)\n```", text, flags=re.S)
    assert len(blocks) >= 17
    for block in blocks:
        words = block.splitlines()[0].split()[2:]
        command = [w for w in words if re.fullmatch(r"[a-z][a-z-]*", w)]
        assert block == options_of(command), f"docs/commands.md: arr {' '.join(command)}"
