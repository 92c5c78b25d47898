"""The README's settings table is generated from the settings object, so it cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

from recsys.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def settings_table() -> str:
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{var}` | `{default}` | {doc} |" for var, default, doc in Settings.describe()]
    return "\n".join(rows)


def test_readme_settings_table_is_current() -> None:
    text = README.read_text()
    found = re.search(r"<!-- settings:start -->\n(.*?)\n<!-- settings:end -->", text, re.S)
    assert found, "README lost its settings markers"
    assert found.group(1) == settings_table(), (
        "README settings table is stale: run `python -m tests.unit.test_readme` to rewrite it"
    )


def test_readme_names_the_two_commands_ci_runs() -> None:
    text = README.read_text()
    assert "scripts/demo" in text and "scripts/test" in text
    assert "scripts/test" in (README.parent / ".ci" / "run").read_text()


if __name__ == "__main__":
    text = README.read_text()
    new = re.sub(r"(<!-- settings:start -->\n).*?(\n<!-- settings:end -->)",
                 lambda m: m.group(1) + settings_table() + m.group(2), text, flags=re.S)  # fmt: skip
    README.write_text(new)
