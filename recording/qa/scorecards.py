"""An agent's scorecard: QA scores per ISO week, the trend, and the questions to coach.

The scorecard covers the last ``weeks`` ISO weeks up to the week of ``now`` (weeks without an
evaluation are listed, empty). Per week: number of evaluations, mean and lowest score, and
critical fails. The *trend* is the least-squares slope of the weekly means, in points per
week, over the weeks that have evaluations (``None`` with fewer than two). *Coaching points*
are the questions with the lowest mean answer score over the whole span (N/A left out), from
the forms still known. Calibration evaluations are left out: they score the evaluators, not
the agent.

Pure: evaluations and ``now`` are arguments.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from recording.qa.evaluations import Evaluation
from recording.qa.forms import Form


@dataclass(frozen=True, slots=True)
class WeekScore:
    week: str
    evaluations: int
    mean: float | None
    lowest: float | None
    critical_fails: int


@dataclass(frozen=True, slots=True)
class CoachingPoint:
    form: str
    question: str
    text: str
    mean: float
    answered: int


@dataclass(frozen=True, slots=True)
class Scorecard:
    agent_id: str
    weeks: tuple[WeekScore, ...]
    evaluations: int
    mean: float | None
    trend_per_week: float | None
    coaching: tuple[CoachingPoint, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "agent_id": self.agent_id, "evaluations": self.evaluations, "mean": self.mean,
            "trend_per_week": self.trend_per_week,
            "weeks": [{"week": w.week, "evaluations": w.evaluations, "mean": w.mean,
                       "lowest": w.lowest, "critical_fails": w.critical_fails}
                      for w in self.weeks],
            "coaching": [{"form": c.form, "question": c.question, "text": c.text,
                          "mean": c.mean, "answered": c.answered} for c in self.coaching],
        }

    def render(self) -> str:
        lines = [f"QA scorecard for {self.agent_id}: {self.evaluations} evaluation(s), "
                 f"mean {_num(self.mean)}, trend {_signed(self.trend_per_week)} points/week",
                 "", f"{'week':<10} {'evals':>5} {'mean':>6} {'lowest':>6} {'critical':>8}"]
        lines += [f"{w.week:<10} {w.evaluations:>5} {_num(w.mean):>6} {_num(w.lowest):>6} "
                  f"{w.critical_fails:>8}" for w in self.weeks]
        if self.coaching:
            lines += ["", "coaching points (lowest mean answer):"]
            lines += [f"  {c.mean:5.1f}  {c.form}/{c.question}: {c.text} ({c.answered}x)"
                      for c in self.coaching]
        return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def iso_week(moment: dt.datetime, tz: ZoneInfo) -> str:
    year, week, _ = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def window_start(now: dt.datetime, weeks: int, tz: ZoneInfo) -> dt.datetime:
    """Monday 00:00 (in ``tz``) of the first week of the window, as UTC."""
    local = now.astimezone(tz).date()
    monday = local - dt.timedelta(days=local.weekday() + 7 * (weeks - 1))
    return dt.datetime.combine(monday, dt.time(), tz).astimezone(dt.UTC)


def build_scorecard(agent_id: str, evaluations: Sequence[Evaluation], *, weeks: int,
                    now: dt.datetime, tz: ZoneInfo, forms: Mapping[str, Form] | None = None,
                    coaching_points: int = 3) -> Scorecard:
    start = window_start(now, weeks, tz)
    labels = [iso_week(start + dt.timedelta(days=7 * i, hours=12), tz) for i in range(weeks)]
    kept = [e for e in evaluations
            if e.calibration is None and start <= e.created_at <= now and e.agent_id == agent_id]
    grouped: dict[str, list[Evaluation]] = defaultdict(list)
    for evaluation in kept:
        grouped[iso_week(evaluation.created_at, tz)].append(evaluation)
    rows = []
    for label in labels:
        scores = [e.score for e in grouped.get(label, [])]
        rows.append(WeekScore(
            week=label, evaluations=len(scores),
            mean=round(float(np.mean(scores)), 2) if scores else None,
            lowest=min(scores) if scores else None,
            critical_fails=sum(e.critical_failed for e in grouped.get(label, [])),
        ))
    points = [(i, w.mean) for i, w in enumerate(rows) if w.mean is not None]
    trend = None
    if len(points) >= 2:
        xs, ys = np.array(points, dtype=np.float64).T
        trend = round(float(np.polyfit(xs, ys, 1)[0]), 2)
    return Scorecard(
        agent_id=agent_id, weeks=tuple(rows), evaluations=len(kept),
        mean=round(float(np.mean([e.score for e in kept])), 2) if kept else None,
        trend_per_week=trend, coaching=_coaching(kept, forms or {}, coaching_points),
    )


def _coaching(evaluations: Sequence[Evaluation], forms: Mapping[str, Form],
              limit: int) -> tuple[CoachingPoint, ...]:
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for evaluation in evaluations:
        form = forms.get(evaluation.form)
        if form is None or form.version != evaluation.form_version:
            continue  # the form changed since; its questions may mean something else now
        for question in form.questions:
            label = evaluation.answers.get(question.id)
            value = question.scale.score_of(label) if label in question.scale.labels else None
            if value is not None:
                values[(form.name, question.id)].append(value)
    means = sorted(
        (float(np.mean(v)), name, qid, len(v)) for (name, qid), v in values.items()
    )
    return tuple(
        CoachingPoint(name, qid, forms[name].question(qid).text, round(mean, 1), count)
        for mean, name, qid, count in means[:limit] if mean < 100
    )
