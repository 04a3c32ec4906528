"""What gets recorded: the recording policy from ``config/qa/recording-policy.yaml``.

A contact center records some calls and not others: every complaint, half of the billing
calls for QA sampling, never the payment line where callers read out card numbers. The policy
says so per queue and per IVR flow::

    kind: recording_policy
    defaults: {percent: 100, record_from: answer, split_legs: true, retention_days: 90}
    queues:
      complaints: {always: true, retention_days: 365}
      sales: {percent: 20}
    flows: {always: [complaints], never: [payment]}

:meth:`RecordingPolicy.decide` answers "record this call?" for a call id, its queue and flow.
The percentage is decided by hashing the call id (with ``sample_salt``), never by a random
draw, so every process, a replay and a re-run of the simulator agree on the same call. Order
of the rules: a ``never`` (flow, then queue) beats an ``always`` (flow, then queue), which
beats the percentage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, model_validator

from hotline.config.validation import StrictModel

RecordFrom = Literal["answer", "queued", "call_start"]
QueueRecordFrom = Literal["answer", "queued"]


class Defaults(StrictModel):
    percent: float = Field(100.0, ge=0, le=100)
    # answer: from the agent's answer; queued: also the wait; call_start: also the IVR
    record_from: RecordFrom = "answer"
    split_legs: bool = False  # caller and agent on separate stereo channels
    consent_prompt: bool = True
    consent_sound: str = "hotline/recording-consent"
    retention_days: int = Field(90, ge=1, le=36500)
    agents_may_play_own: bool = False


class QueueRule(StrictModel):
    percent: float | None = Field(None, ge=0, le=100)
    always: bool = False
    never: bool = False
    record_from: QueueRecordFrom | None = None
    split_legs: bool | None = None
    consent_prompt: bool | None = None
    retention_days: int | None = Field(None, ge=1, le=36500)

    @model_validator(mode="after")
    def _exclusive(self) -> QueueRule:
        if self.always and self.never:
            raise ValueError("cannot be recorded both 'always' and 'never'; keep one of them")
        return self


class FlowRules(StrictModel):
    always: list[str] = []
    never: list[str] = []


class StorageSettings(StrictModel):
    # The recording root as Asterisk sees it (a different mount on the PBX); default: the same
    # folder as paths.recordings_dir in hotline.yaml.
    asterisk_root: str | None = None


class RecordingPolicy(StrictModel):
    """The whole recording policy document."""

    kind: Literal["recording_policy"] = "recording_policy"
    sample_salt: str = ""
    defaults: Defaults = Defaults()
    queues: dict[str, QueueRule] = {}
    flows: FlowRules = FlowRules()
    storage: StorageSettings = StorageSettings()

    def decide(self, call_id: str, queue: str | None, flow: str | None) -> RecordingDecision:
        """Whether and how to record call ``call_id`` in ``queue`` entered through ``flow``."""
        rule = self.queues.get(queue or "", QueueRule())
        record, reason = self._record(call_id, queue, flow, rule)
        record_from: RecordFrom = rule.record_from or self.defaults.record_from
        return RecordingDecision(
            record=record,
            reason=reason,
            record_from=record_from,
            split_legs=self.defaults.split_legs if rule.split_legs is None else rule.split_legs,
            consent_prompt=(self.defaults.consent_prompt if rule.consent_prompt is None
                            else rule.consent_prompt),
            retention_days=rule.retention_days or self.defaults.retention_days,
        )

    def _record(self, call_id: str, queue: str | None, flow: str | None,
                rule: QueueRule) -> tuple[bool, str]:
        if flow is not None and flow in self.flows.never:
            return False, f"flow '{flow}' is never recorded"
        if rule.never:
            return False, f"queue '{queue}' is never recorded"
        if flow is not None and flow in self.flows.always:
            return True, f"flow '{flow}' is always recorded"
        if rule.always:
            return True, f"queue '{queue}' is always recorded"
        percent = self.defaults.percent if rule.percent is None else rule.percent
        draw = sample_draw(call_id, self.sample_salt)
        chosen = draw < percent
        where = f"queue '{queue}'" if queue else "calls without a queue"
        return chosen, (f"{where} records {percent:g}% of calls; this call drew {draw:.2f}"
                        f" ({'recorded' if chosen else 'not recorded'})")

    def consent_prompt_for(self, queue: str | None) -> str | None:
        """The sound to play to the caller before the call may be recorded, or None."""
        rule = self.queues.get(queue or "", QueueRule())
        enabled = self.defaults.consent_prompt if rule.consent_prompt is None \
            else rule.consent_prompt
        return self.defaults.consent_sound if enabled and not rule.never else None


@dataclass(frozen=True, slots=True)
class RecordingDecision:
    record: bool
    reason: str
    record_from: RecordFrom
    split_legs: bool
    consent_prompt: bool
    retention_days: int


def sample_draw(call_id: str, salt: str = "") -> float:
    """A number in [0, 100) fixed by the call id: the call is sampled when it is < percent."""
    digest = hashlib.sha256(f"{salt}\x00{call_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100
