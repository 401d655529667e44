"""Every table the portal writes has a retention rule, and the README's table lists them all."""

from __future__ import annotations

import math
import re
from pathlib import Path

from django.apps import apps
from django.conf import settings

from deletions.gdpr.retention_rules import RULES

README = Path(settings.BASE_DIR) / "README.md"


def every_model_label() -> set[str]:
    """Every model of every installed app, the many-to-many tables Django makes included."""
    return {m._meta.label for m in apps.get_models(include_auto_created=True)}


def readme_rows() -> dict[str, tuple[str, str]]:
    """The README's retention table: label -> (setting, default)."""
    text = README.read_text()
    section = text.split("## Retention", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`") and cells[0] != "`table`":
            rows[cells[0].strip("`")] = (cells[2].strip("`"), cells[3].strip("`"))
    return rows


def test_every_model_of_every_installed_app_has_a_rule():
    missing = sorted(every_model_label() - RULES.keys())
    assert missing == [], f"no retention rule in deletions/gdpr/retention_rules.py: {missing}"


def test_every_rule_names_a_real_model():
    assert sorted(RULES.keys() - every_model_label()) == []


def test_every_period_is_a_setting_with_a_whole_number():
    for label, rule in RULES.items():
        if rule.setting:
            assert isinstance(getattr(settings, rule.setting, None), int), (label, rule.setting)
        else:
            assert rule.text.startswith("Kept "), label


def test_the_readme_lists_every_rule_once_with_its_setting_and_default():
    rows = readme_rows()
    source = (Path(settings.BASE_DIR) / "portal" / "settings.py").read_text()
    assert sorted(rows) == sorted(RULES)
    for label, rule in RULES.items():
        setting, default = rows[label]
        assert setting == (rule.setting or "—"), label
        if rule.setting:
            # The default the README gives is the one settings.py falls back to.
            found = re.search(rf'env\.int\("{rule.setting}", default=([^)]+)\)', source)
            assert found, rule.setting
            factors = (int(n) for n in found.group(1).split("*"))
            assert math.prod(factors) == int(default.replace(",", "")), label
