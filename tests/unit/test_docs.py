"""The README documents what the code holds: every setting, and every name in every registry.

Names and keys are read from the code (the config dataclasses, the registries), so a new
setting, task, model, pruning method, experiment or preset fails here until the README says
what it is; and a key the README names must exist.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from grokking_tickets import config
from grokking_tickets.catalog import catalog

README = (Path(__file__).parents[2] / "README.md").read_text()


def _keys_in_code() -> set[str]:
    return {f"{s}.{f.name}" for s, cls in config.SECTIONS.items() for f in dataclasses.fields(cls)}


def test_every_setting_is_documented():
    missing = sorted(k for k in _keys_in_code() if f"`{k}`" not in README)
    assert not missing, f"settings the README does not name (in backticks): {missing}"


def test_every_setting_the_readme_names_exists():
    named = set(re.findall(r"`((?:task|model|optim|train|ticket)\.[a-z_0-9]+)", README))
    assert named, "the README names no settings: the pattern is out of date"
    unknown = sorted(named - _keys_in_code())
    assert not unknown, f"the README names settings the code does not have: {unknown}"


@pytest.mark.parametrize("kind", list(catalog()))
def test_every_registered_name_is_documented(kind):
    missing = sorted(n for n in catalog()[kind] if f"`{n}`" not in README)
    assert not missing, f"{kind}: names the README does not mention (in backticks): {missing}"
