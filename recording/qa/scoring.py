"""The score of one evaluation: a weighted average of the answers, 0-100, with critical items.

Each question ``q`` has an effective weight ``w_q`` (section weight x question weight) and its
answer a score ``s_q`` between 0 and 100 taken from the scale (``yes`` = 100, ``3`` of 1-5 = 50,
a custom point's ``score``). Questions answered N/A drop out of both sums::

    score = sum(w_q * s_q for answered q) / sum(w_q for answered q)       (0..100)

so N/A neither rewards nor punishes. If any *critical* question is answered with its 0 point
(``no``) the evaluation fails: ``score = 0`` and ``critical_failed = True``. An evaluation
where every question is N/A has no score and is refused.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from recording.qa.errors import ScoringError
from recording.qa.forms import Form

Answer = str | int


@dataclass(frozen=True, slots=True)
class ScoreResult:
    score: float
    critical_failed: bool
    failed_critical: tuple[str, ...]  # ids of the critical questions failed
    question_scores: dict[str, float | None]  # None: answered N/A
    answers: dict[str, str]  # normalised labels, as stored


def normalise_answers(form: Form, answers: Mapping[str, Answer]) -> dict[str, str]:
    """Answers as scale labels; every question answered, nothing else (or ScoringError)."""
    known = {q.id for q in form.questions}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise ScoringError(
            f"form '{form.name}' has no question {', '.join(repr(u) for u in unknown)}; "
            f"its questions are {', '.join(sorted(known))}")
    missing = [q.id for q in form.questions if q.id not in answers]
    if missing:
        raise ScoringError(f"question(s) {', '.join(repr(m) for m in missing)} of form "
                           f"'{form.name}' are not answered; answer every question (or 'na' "
                           "where the scale allows it)")
    out: dict[str, str] = {}
    for question in form.questions:
        value = answers[question.id]
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ScoringError(f"the answer to '{question.id}' must be one of "
                               f"{', '.join(question.scale.labels)}, not {value!r}")
        label = str(value)
        if label not in question.scale.labels:
            raise ScoringError(f"the answer to '{question.id}' must be one of "
                               f"{', '.join(question.scale.labels)}, not {label!r}")
        out[question.id] = label
    return out


def score(form: Form, answers: Mapping[str, Answer]) -> ScoreResult:
    """Score ``answers`` (question id -> label) on ``form``; see the module docstring."""
    labels = normalise_answers(form, answers)
    weighted = 0.0
    weights = 0.0
    per_question: dict[str, float | None] = {}
    failed: list[str] = []
    for question in form.questions:
        value = question.scale.score_of(labels[question.id])
        per_question[question.id] = value
        if value is None:
            continue
        if question.critical and value == 0:
            failed.append(question.id)
        weighted += question.weight * value
        weights += question.weight
    if failed:
        return ScoreResult(0.0, True, tuple(failed), per_question, labels)
    if weights == 0:
        raise ScoringError(f"every question of form '{form.name}' is answered 'na'; there is "
                           "nothing to score")
    return ScoreResult(round(weighted / weights, 2), False, (), per_question, labels)
