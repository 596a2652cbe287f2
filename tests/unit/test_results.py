"""The committed results folder and the docs that quote it cannot drift apart.

`results/paper` is a published folder (`grokking-tickets publish`): its files must be as they
were published (sha256 in PUBLISHED.json), and the claims table in docs/claims.md and the
README's claims summary must be what `grokking-tickets report results/paper --assets docs
--readme README.md` writes from it, byte for byte.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from grokking_tickets.publish import check
from grokking_tickets.report.rebuild import README_BEGIN, README_END, write_assets
from grokking_tickets.report.table import summary_markdown

ROOT = Path(__file__).parents[2]
RESULTS = Path("results/paper")  # relative to ROOT, as the documented command names it


def test_the_results_folder_is_as_published():
    problems = check(ROOT / RESULTS)
    assert not problems, f"results/paper differs from its publication: {problems[:5]}"


def test_docs_claims_page_is_generated_from_the_results(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    claims = json.loads((RESULTS / "claims.json").read_text())
    out = tmp_path / "docs"
    (out / "figures").mkdir(parents=True)
    write_assets(RESULTS, out, claims)
    expected = (out / "claims.md").read_text().replace(out.as_posix(), "docs")
    assert (ROOT / "docs" / "claims.md").read_text() == expected, (
        "docs/claims.md is not what the results folder gives: run "
        "`grokking-tickets report results/paper --assets docs --readme README.md`"
    )


def test_readme_claims_summary_is_generated_from_the_results():
    claims = json.loads((ROOT / RESULTS / "claims.json").read_text())
    readme = (ROOT / "README.md").read_text()
    assert README_BEGIN in readme and README_END in readme
    block = readme.split(README_BEGIN, 1)[1].split(README_END, 1)[0]
    assert block == "\n" + summary_markdown(claims, "docs/claims.md"), (
        "the README's claims summary is not what results/paper gives: run "
        "`grokking-tickets report results/paper --assets docs --readme README.md`"
    )


@pytest.mark.parametrize("figure", sorted(p.name for p in (ROOT / RESULTS / "figures").glob("*.png")))
def test_every_result_figure_is_in_the_docs(figure):
    assert (ROOT / "docs" / "figures" / figure).exists(), f"docs/figures/{figure} missing: regenerate the assets"
    assert f"(figures/{figure})" in (ROOT / "docs" / "results.md").read_text(), f"docs/results.md does not show {figure}"


_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?:e-?\d+)?")
_CODE = re.compile(r"```.*?```|`[^`\n]*`|\]\([^)]*\)", re.DOTALL)  # code, and link targets


def numbers_missing(prose: str, source: str) -> list[str]:
    """The numbers quoted in ``prose`` (outside code and link targets) that ``source`` does not
    contain as a number of its own."""
    have = set(_NUMBER.findall(_CODE.sub(" ", source)))
    return sorted({n.rstrip(",.") for n in _NUMBER.findall(_CODE.sub(" ", prose))} - {n.rstrip(",.") for n in have})


def _section(text: str, heading: str) -> str:
    body = text.split(f"\n{heading}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def test_every_number_the_results_page_quotes_is_in_the_generated_claims_page():
    prose = _section((ROOT / "docs" / "results.md").read_text(), "## What the committed results say")
    missing = numbers_missing(prose, (ROOT / "docs" / "claims.md").read_text())
    assert not missing, f"docs/results.md quotes numbers docs/claims.md does not hold (drifted?): {missing}"


def test_the_number_check_can_fail():
    assert numbers_missing("the ticket at 567 steps, 36.5×", "ticket 567 | 4.73×") == ["36.5"]
    assert numbers_missing("`--seeds 0-7` and [x](a.md#c-2)", "") == []  # code and link targets are not quotes


def _planned_experiments() -> list[str]:
    """What `reproduce --scale paper` files, by label (tickets@transformer), in its order."""
    from grokking_tickets.experiments.base import experiment_label
    from grokking_tickets.experiments.plan import plan_configs

    return list(dict.fromkeys(experiment_label(e.name, cfg) for _, cfg, exps in plan_configs("paper") for e in exps))


def test_the_results_page_lists_every_experiment_not_yet_published():
    published = set(json.loads((ROOT / RESULTS / "PUBLISHED.json").read_text())["experiments"])
    expected = [e for e in _planned_experiments() if e not in published]
    section = _section((ROOT / "docs" / "results.md").read_text(), "## Not yet in the committed results")
    listed = re.findall(r"`([^`]+)`", section.split("\n\n")[1])
    assert listed == expected, "docs/results.md's list of what results/paper lacks has drifted from PUBLISHED.json"
