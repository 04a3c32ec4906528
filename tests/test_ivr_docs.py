"""The complete example of docs/ivr.md is a working flow: it validates and its own test passes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ivr_helpers import CONFIG

from ivr.loader import load_flows
from ivr.tester import run_tests

DOC = CONFIG.parent / "docs" / "ivr.md"


def test_the_complete_example_in_the_docs_validates_and_passes_its_tests(tmp_path: Path) -> None:
    example = re.search(r"## A complete example\n.*?```yaml\n(.*?)```", DOC.read_text(),
                        re.DOTALL)
    assert example is not None, "docs/ivr.md lost its complete example"
    root = tmp_path / "config"
    shutil.copytree(CONFIG, root)
    (root / "ivr" / "example.yaml").write_text(example.group(1))
    flows, _ = load_flows(root)  # raises with located errors if the example went stale
    reports = run_tests(flows, ["example"])
    assert reports and all(r.passed for r in reports), [r.problems for r in reports]
