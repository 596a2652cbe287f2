"""The documentation (README.md and every docs/*.md page, read as one text) documents what the
code holds: every setting, and every name in every registry; and its links lead somewhere.

Names and keys are read from the code (the config dataclasses, the registries), so a new
setting, task, model, pruning method, experiment or preset fails here until a page says what it
is; and a key the documentation names must exist. Each check is a function of the text, and the
last tests feed those functions text that must fail, so a check cannot pass vacuously.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from pathlib import Path

import pytest

from grokking_tickets import config
from grokking_tickets.catalog import catalog

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOCS = "\n".join(p.read_text() for p in PAGES)

_KEY = re.compile(r"`((?:task|model|optim|train|ticket)\.[a-z_0-9]+)")
# [text](target) and ![alt](target); a target ends at whitespace or the closing parenthesis
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
_CODE = re.compile(r"`[^`\n]*`")  # inline code: `[text](path)` there is an example, not a link


def _keys_in_code() -> set[str]:
    return {f"{s}.{f.name}" for s, cls in config.SECTIONS.items() for f in dataclasses.fields(cls)}


def _undocumented(names, text: str) -> list[str]:
    return sorted(n for n in names if f"`{n}`" not in text)


def _unknown_keys(text: str) -> tuple[set[str], list[str]]:
    named = set(_KEY.findall(text))
    return named, sorted(named - _keys_in_code())


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def _anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in _FENCE.sub("", text).splitlines():
        m = re.match(r"#{1,6}\s+(.*)", line)
        if m:
            slug = _slug(m.group(1))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def _broken_links(page: Path, text: str) -> list[str]:
    """Every relative link of `text` (the page at `page`) that does not reach a file, or names an
    anchor its target page does not have. http(s) and mailto links are not followed."""
    broken = []
    for target in _LINK.findall(_CODE.sub("", _FENCE.sub("", text))):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.is_file():
            broken.append(f"{target} (no such file)")
        elif anchor and dest.suffix == ".md":
            body = text if dest == page else dest.read_text()
            if anchor not in _anchors(body):
                broken.append(f"{target} (no such heading)")
    return broken


def test_the_documentation_is_the_readme_and_every_docs_page():
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert {"README.md", "docs/configuration.md", "docs/experiments.md"} <= names, names


def test_every_setting_is_documented():
    missing = _undocumented(_keys_in_code(), DOCS)
    assert not missing, f"settings no page names (in backticks): {missing}"


def test_every_setting_the_documentation_names_exists():
    named, unknown = _unknown_keys(DOCS)
    assert named, "the documentation names no settings: the pattern is out of date"
    assert not unknown, f"the documentation names settings the code does not have: {unknown}"


@pytest.mark.parametrize("kind", list(catalog()))
def test_every_registered_name_is_documented(kind):
    missing = _undocumented(catalog()[kind], DOCS)
    assert not missing, f"{kind}: names no page mentions (in backticks): {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    broken = _broken_links(page, page.read_text())
    assert not broken, f"{page.relative_to(ROOT)}: broken links {broken}"


def test_the_checks_can_fail():
    # a documentation without a setting, a registered name or a real key fails the checks
    text = DOCS.replace("`task.p`", "task.p")
    assert "task.p" in _undocumented(_keys_in_code(), text)
    name = next(iter(next(names for kind, names in catalog().items() if kind.startswith("experiments"))))
    assert _undocumented([name], DOCS.replace(f"`{name}`", name)) == [name]
    assert _unknown_keys(DOCS + " `task.no_such_key`")[1] == ["task.no_such_key"]
    # a link to a missing file, or to a missing heading, is reported; a good one is not
    page = ROOT / "README.md"
    assert _broken_links(page, "[a](docs/no-such-page.md) [b](https://example.org/x)") == [
        "docs/no-such-page.md (no such file)"
    ]
    assert _broken_links(page, "[a](docs/statistics.md#no-such-heading)") == [
        "docs/statistics.md#no-such-heading (no such heading)"
    ]
    assert _broken_links(page, "# A heading\n[a](#a-heading) [b](docs/statistics.md#the-three-seed-floor)") == []
    assert _slug("The transformer's plateau") == "the-transformers-plateau"
    assert _slug("Grokfast and the grokking ticket (`accelerators`)") == "grokfast-and-the-grokking-ticket-accelerators"


def unshown_figures(text: str, names: list[str]) -> list[str]:
    """The figure files (names) that no page shows or names."""
    return [n for n in names if n not in text]


def test_every_figure_under_docs_is_shown_by_a_page():
    names = sorted(p.name for p in (ROOT / "docs" / "figures").glob("*.png"))
    assert names and unshown_figures(DOCS, names) == []  # a figure no page shows is left over: delete it
    assert unshown_figures("![a](figures/a.png)", ["a.png", "b.png"]) == ["b.png"]  # the check can fail
