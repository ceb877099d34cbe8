"""The documentation holds together: every relative link in README.md and docs/*.md reaches a
file that exists and, with a #fragment, a heading in it (GitHub's anchors); the README stays a
front door that links every page; docs/design.md maps every module."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 250
# Packages whose every module docs/design.md names, in the section headed by the package's path.
MAPPED_PACKAGES = (
    "tuning_provider", "tuning_provider/cli", "tuning_provider/emulator", "tuning_provider/emulator/http",
    "tuning_provider/emulator/vertex", "stacks",
)

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: its rendered text lowercased, punctuation other than
    '-' and '_' dropped, spaces made hyphens (code spans and links count by their text)."""
    text = _CODE_SPAN.sub(lambda m: m.group(2), heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("*", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a Markdown page, a repeated heading numbered as GitHub does."""
    seen: dict[str, int] = {}
    for _, line in prose_lines(page.read_text()):
        match = _HEADING.match(line)
        if match:
            anchor = github_anchor(match.group(2))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            if count:
                seen[f"{anchor}-{count}"] = 1
    return set(seen)


def relative_links(page: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link to a file of the repository, code left out."""
    found = []
    for number, line in prose_lines(page.read_text()):
        for match in _LINK.finditer(_CODE_SPAN.sub("", line)):
            target = match.group(1)
            if not _EXTERNAL.match(target):
                found.append((number, target))
    return found


def broken(page: Path, target: str) -> str | None:
    """Why a relative link from `page` does not resolve, or None."""
    path, _, fragment = target.partition("#")
    linked = (page.parent / path).resolve() if path else page
    if not linked.exists():
        return f"{path} does not exist"
    if fragment:
        if linked.suffix != ".md":
            return f"#{fragment} points into {path}, which is not a Markdown page"
        if fragment not in anchors(linked):
            return f"{linked.relative_to(ROOT)} has no heading with anchor #{fragment}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    problems = [
        f"{page.relative_to(ROOT)}:{number}: ({target}) {why}"
        for number, target in relative_links(page)
        if (why := broken(page, target)) is not None
    ]
    assert not problems, "\n".join(problems)


def test_the_link_checker_sees_links_and_anchors() -> None:
    # The checks above would pass vacuously if the patterns found nothing.
    readme = ROOT / "README.md"
    assert any(target.startswith("docs/") for _, target in relative_links(readme))
    assert "the-serving-promise" in anchors(readme)
    assert github_anchor("When `pulumi up` is interrupted") == "when-pulumi-up-is-interrupted"
    assert github_anchor("The library (`tuning_provider/`)") == "the-library-tuning_provider"
    assert broken(readme, "docs/no-such-page.md") is not None
    assert broken(readme, "#no-such-heading") is not None


def test_readme_is_a_front_door() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


def test_readme_links_every_page_of_the_docs() -> None:
    linked = {target.partition("#")[0] for _, target in relative_links(ROOT / "README.md")}
    unlinked = [p.name for p in PAGES[1:] if f"docs/{p.name}" not in linked]
    assert not unlinked, f"README.md links no docs/{unlinked}"


def _section(text: str, package: str) -> str:
    """The lines under the heading of design.md that names `package/` in a code span."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#") and f"`{package}/`" in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return "\n".join(lines[start:end])


@pytest.mark.parametrize("package", MAPPED_PACKAGES)
def test_design_maps_every_module(package: str) -> None:
    section = _section((ROOT / "docs" / "design.md").read_text(), package)
    modules = sorted(p.name for p in (ROOT / package).glob("*.py"))
    assert modules
    missing = [name for name in modules if f"`{name}`" not in section]
    assert not missing, f"docs/design.md does not say what {package}/{missing} do"
