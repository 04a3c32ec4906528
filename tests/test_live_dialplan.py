"""The shipped dialplan and the code agree on channel variables and contexts."""

from __future__ import annotations

import re
from pathlib import Path

from cti.tracker import TrackerConfig

REPO = Path(__file__).resolve().parent.parent
DIALPLAN = (REPO / "config" / "asterisk" / "extensions_hotline.conf").read_text()


def ivr_sets() -> set[str]:
    source = (REPO / "ivr" / "fastagi.py").read_text()
    return set(re.findall(r'\.set\(\s*"(HOTLINE_[A-Z_]+)"', source))


def test_every_hotline_variable_the_dialplan_reads_is_written_by_someone():
    code = "\n".join(line.split(";", 1)[0] for line in DIALPLAN.splitlines())
    read = set(re.findall(r"\$\{(HOTLINE_[A-Z_]+)\}", code))
    written = set(re.findall(r"Set\((HOTLINE_[A-Z_]+)=", code)) | ivr_sets()
    assert read, "the dialplan reads no HOTLINE_* variable"
    assert read <= written, f"read but never set: {sorted(read - written)}"
    assert {"HOTLINE_OUTCOME", "HOTLINE_QUEUE", "HOTLINE_TRANSFER"} <= ivr_sets()


def test_the_contexts_the_engine_uses_exist():
    config = TrackerConfig()
    contexts = set(re.findall(r"^\[([a-z\-]+)\]", DIALPLAN, re.MULTILINE))
    assert {config.wait_context, config.connect_context, "hotline-inbound",
            "hotline-transfer"} <= contexts
    from cti.offers import OfferOptions
    assert OfferOptions().callback_context in contexts
    assert "UserEvent(HotlineCallback," in DIALPLAN and "DialStatus: ${DIALSTATUS}" in DIALPLAN
    assert f"Set({config.contact_variable}=${{UNIQUEID}})" in DIALPLAN
    assert "UserEvent(HotlineRona," in DIALPLAN and "UserEvent(HotlineQueued," in DIALPLAN
