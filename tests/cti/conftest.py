"""Fixtures of the cti tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ami_replay import Replay, replay_transcript


@pytest.fixture
def replay() -> Callable[[str], Replay]:
    return replay_transcript
