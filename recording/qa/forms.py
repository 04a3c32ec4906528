"""QA forms: the questions a reviewer answers about one call, as YAML in ``config/qa/``.

A form is a list of *sections* (opening, identification, resolution, closing...), each a list of
*questions*. Every question is answered on a *scale*: a few labelled points, each worth a share
of the question's marks (0-100). Questions carry a *weight* (multiplied by their section's
weight); a *critical* question that is failed fails the whole evaluation (score 0), whatever
the rest says: reading a customer's data to the wrong person is not offset by a warm greeting.

Built-in scales (a custom one is declared under ``scales:``)::

    yes_no          yes=100  no=0
    yes_no_na       yes=100  no=0   na (not applicable)
    one_to_five     1=0  2=25  3=50  4=75  5=100
    one_to_five_na  as one_to_five, plus na

A critical question must be on a *binary* scale (exactly two points, 0 and 100, N/A allowed):
failing it has to be a clear decision, not a 2 out of 5.

:func:`validate_form` turns one located YAML document into a :class:`Form` or adds located
diagnostics (``qa/standard-call.yaml:14:16: question 'greeting' uses the unknown scale ...``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from hotline.config.diagnostics import Diagnostic, Diagnostics, did_you_mean
from hotline.config.validation import StrictModel, validate_document
from hotline.config.yamlsource import YamlDocument, load_yaml

NA = "na"
IDENT = r"^[a-z0-9][a-z0-9_-]*$"


@dataclass(frozen=True, slots=True)
class ScalePoint:
    label: str
    score: float  # share of the question's marks, 0-100


@dataclass(frozen=True, slots=True)
class Scale:
    name: str
    points: tuple[ScalePoint, ...]
    allows_na: bool

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(p.label for p in self.points) + ((NA,) if self.allows_na else ())

    @property
    def binary(self) -> bool:
        return sorted(p.score for p in self.points) == [0.0, 100.0]

    def score_of(self, label: str) -> float | None:
        """The point's score, None for N/A; KeyError for a label not on the scale."""
        if label == NA and self.allows_na:
            return None
        for point in self.points:
            if point.label == label:
                return point.score
        raise KeyError(label)


def _points(*pairs: tuple[str, float]) -> tuple[ScalePoint, ...]:
    return tuple(ScalePoint(label, score) for label, score in pairs)


_YES_NO = _points(("yes", 100.0), ("no", 0.0))
_ONE_TO_FIVE = _points(("1", 0.0), ("2", 25.0), ("3", 50.0), ("4", 75.0), ("5", 100.0))
BUILTIN_SCALES: dict[str, Scale] = {
    "yes_no": Scale("yes_no", _YES_NO, False),
    "yes_no_na": Scale("yes_no_na", _YES_NO, True),
    "one_to_five": Scale("one_to_five", _ONE_TO_FIVE, False),
    "one_to_five_na": Scale("one_to_five_na", _ONE_TO_FIVE, True),
}


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: str
    section: str
    scale: Scale
    weight: float  # effective weight: section weight x question weight
    critical: bool


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    weight: float
    questions: tuple[Question, ...]


@dataclass(frozen=True, slots=True)
class Form:
    name: str
    version: str
    title: str
    sections: tuple[Section, ...]
    source: str  # the file it came from, for messages

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for section in self.sections for q in section.questions)

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def describe(self) -> dict[str, object]:
        """The form as JSON for an evaluation screen."""
        return {
            "name": self.name, "version": self.version, "title": self.title,
            "sections": [{
                "id": s.id, "title": s.title, "weight": s.weight,
                "questions": [{
                    "id": q.id, "text": q.text, "scale": q.scale.name,
                    "answers": list(q.scale.labels), "weight": q.weight,
                    "critical": q.critical,
                } for q in s.questions],
            } for s in self.sections],
        }


# --- the YAML schema ------------------------------------------------------------------------

class PointModel(StrictModel):
    label: str
    score: Annotated[float, Field(ge=0, le=100)]


class ScaleModel(StrictModel):
    points: list[PointModel]
    na: bool = False


class QuestionModel(StrictModel):
    id: Annotated[str, Field(pattern=IDENT)]
    text: str
    scale: str
    weight: float = 1.0
    critical: bool = False


class SectionModel(StrictModel):
    id: Annotated[str, Field(pattern=IDENT)]
    title: str
    weight: float = 1.0
    questions: list[QuestionModel]


class FormModel(StrictModel):
    kind: Literal["qa_form"]
    name: Annotated[str, Field(pattern=IDENT)]
    version: str | None = None
    title: str
    description: str = ""
    scales: dict[str, ScaleModel] = {}
    sections: list[SectionModel]


def validate_form(document: YamlDocument, diags: Diagnostics) -> Form | None:
    """Validate one ``kind: qa_form`` document.

    Every problem is added to ``diags`` as a located diagnostic (errors and warnings); the
    :class:`Form` is returned only when the document has no error.
    """
    model, problems = validate_document(FormModel, document)
    diags.extend(problems)
    if model is None:
        # still check what is well formed, so one run reports every mistake of the file
        partial = _well_formed_parts(document)
        if partial is not None:
            found: list[Diagnostic] = []
            _sections(partial, _custom_scales(partial, document, found), document, found)
            diags.extend(found)
        return None
    found = []
    scales = _custom_scales(model, document, found)
    sections = _sections(model, scales, document, found)
    used = {q.scale for s in model.sections for q in s.questions}
    for name in model.scales:
        if name not in used and name not in BUILTIN_SCALES:
            found.append(document.diagnostic(
                ("scales", name), f"scale '{name}' is defined but no question uses it",
                key=True, warning=True))
    diags.extend(found)
    if any(d.severity == "error" for d in found):
        return None
    return Form(name=model.name, version=model.version or _content_version(document),
                title=model.title, sections=tuple(sections), source=document.name)


def _well_formed_parts(document: YamlDocument) -> FormModel | None:
    """The scales, sections and questions of a form that pass the schema on their own.

    A part that does not is ``None`` in its place (its schema error is already reported), so
    positions stay those of the file. ``None`` when the file has no list of sections.
    """
    data = document.data
    if not isinstance(data, dict) or not isinstance(data.get("sections"), list):
        return None

    def valid(model: type[StrictModel], raw: object) -> Any:
        try:
            return model.model_validate(raw)
        except ValidationError:
            return None

    raw_scales = data.get("scales")
    scales = ({str(name): valid(ScaleModel, raw) for name, raw in raw_scales.items()}
              if isinstance(raw_scales, dict) else {})
    sections: list[SectionModel | None] = []
    for raw in data["sections"]:
        head = valid(SectionModel, {**raw, "questions": []}) if isinstance(raw, dict) else None
        raw_questions = raw.get("questions") if isinstance(raw, dict) else None
        if head is None or not isinstance(raw_questions, list):
            sections.append(None)
            continue
        sections.append(SectionModel.model_construct(
            id=head.id, title=head.title, weight=head.weight,
            questions=[valid(QuestionModel, q) for q in raw_questions]))
    return FormModel.model_construct(scales=scales, sections=sections)


def _content_version(document: YamlDocument) -> str:
    # Without an explicit version the content identifies the form: an evaluation stored
    # against it can always be matched with the exact questions it answered.
    text = json.dumps(document.data, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _custom_scales(model: FormModel, document: YamlDocument,
                   found: list[Diagnostic]) -> dict[str, Scale]:
    scales = dict(BUILTIN_SCALES)
    for name, spec in model.scales.items():
        if spec is None:  # not well formed; reported by the schema check
            continue
        where = ("scales", name)
        if name in BUILTIN_SCALES:
            found.append(document.diagnostic(
                where, f"scale '{name}' is built in; give the custom scale another name",
                key=True))
            continue
        ok = True
        if len(spec.points) < 2:
            found.append(document.diagnostic(
                (*where, "points"), f"scale '{name}' needs at least two points"))
            ok = False
        seen: set[str] = set()
        for index, point in enumerate(spec.points):
            label_at = (*where, "points", index, "label")
            if point.label == NA:
                found.append(document.diagnostic(
                    label_at, f"'{NA}' is reserved for 'not applicable'; set 'na: true' on "
                    f"scale '{name}' instead of listing it as a point"))
                ok = False
            elif point.label in seen:
                found.append(document.diagnostic(
                    label_at, f"point '{point.label}' appears twice in scale '{name}'"))
                ok = False
            seen.add(point.label)
        best = max((p.score for p in spec.points), default=0.0)
        if spec.points and best != 100:
            found.append(document.diagnostic(
                (*where, "points"), f"the best point of scale '{name}' scores {best:g}; one "
                "point must score 100 so that a perfect call can reach 100"))
            ok = False
        if ok:
            scales[name] = Scale(name, tuple(ScalePoint(p.label, p.score) for p in spec.points),
                                 spec.na)
    return scales


def _sections(model: FormModel, scales: dict[str, Scale], document: YamlDocument,
              found: list[Diagnostic]) -> list[Section]:
    if not model.sections:
        found.append(document.diagnostic(
            ("sections",), "the form has no sections; add at least one section with questions"))
    section_ids: dict[str, int] = {}
    question_ids: dict[str, int] = {}
    sections: list[Section] = []
    for s_index, spec in enumerate(model.sections):
        if spec is None:  # not well formed; reported by the schema check
            continue
        s_path = ("sections", s_index)
        _unique(spec.id, (*s_path, "id"), "section", section_ids, document, found)
        _positive(spec.weight, (*s_path, "weight"), f"section '{spec.id}'", document, found)
        if not spec.questions:
            found.append(document.diagnostic(
                (*s_path, "questions"),
                f"section '{spec.id}' has no questions; add at least one"))
        questions: list[Question] = []
        for q_index, q in enumerate(spec.questions):
            if q is None:
                continue
            q_path = (*s_path, "questions", q_index)
            _unique(q.id, (*q_path, "id"), "question", question_ids, document, found)
            _positive(q.weight, (*q_path, "weight"), f"question '{q.id}'", document, found)
            scale = scales.get(q.scale)
            if scale is None:
                if q.scale in model.scales:
                    continue  # the custom scale is broken; already reported where it is
                known = sorted(set(BUILTIN_SCALES) | set(model.scales))
                hint = did_you_mean(q.scale, known) or f"; known scales: {', '.join(known)}"
                found.append(document.diagnostic(
                    (*q_path, "scale"),
                    f"question '{q.id}' uses the unknown scale '{q.scale}'{hint}"))
                continue
            if q.critical and not scale.binary:
                found.append(document.diagnostic(
                    (*q_path, "critical"),
                    f"question '{q.id}' is critical but its scale '{scale.name}' is not a "
                    "pass/fail scale; a critical item needs exactly two points scoring 0 and "
                    "100 (use yes_no or yes_no_na)"))
                continue
            questions.append(Question(q.id, q.text, spec.id, scale, spec.weight * q.weight,
                                      q.critical))
        sections.append(Section(spec.id, spec.title, spec.weight, tuple(questions)))
    return sections


def _unique(value: str, path: tuple[object, ...], what: str, seen: dict[str, int],
            document: YamlDocument, found: list[Diagnostic]) -> None:
    if value in seen:
        found.append(document.diagnostic(
            path, f"{what} id '{value}' is used twice (first on line {seen[value]}); "
            f"{what} ids must be unique in a form"))
        return
    seen[value] = document.position(path)[0]


def _positive(weight: float, path: tuple[object, ...], what: str, document: YamlDocument,
              found: list[Diagnostic]) -> None:
    if weight <= 0:
        found.append(document.diagnostic(
            path, f"{what} has weight {weight:g}; a weight must be more than 0 (remove what "
            "should not count)"))


def collect_forms(documents: Iterable[YamlDocument], diags: Diagnostics) -> dict[str, Form]:
    """Validate every ``kind: qa_form`` document; form names must be unique across files."""
    forms: dict[str, Form] = {}
    for document in documents:
        if not isinstance(document.data, dict) or document.data.get("kind") != "qa_form":
            continue
        form = validate_form(document, diags)
        if form is None:
            continue
        if form.name in forms:
            diags.add(document.diagnostic(
                ("name",), f"form name '{form.name}' is also used by {forms[form.name].source}; "
                "form names must be unique"))
            continue
        forms[form.name] = form
    return forms


@dataclass(frozen=True, slots=True)
class FormCheck:
    """The result of checking files standalone (``hotline qa forms check``)."""

    forms: dict[str, Form]
    diagnostics: Diagnostics
    skipped: tuple[str, ...]  # YAML files of another kind


def check_paths(paths: Sequence[Path]) -> FormCheck:
    """Validate QA forms in the given folders (every ``*.yaml``/``*.yml``) and files."""
    diags = Diagnostics()
    documents: list[YamlDocument] = []
    skipped: list[str] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"})
        elif path.exists():
            files = [path]
        else:
            diags.add(Diagnostic(str(path), 0, 0, "no such file or folder"))
            continue
        for file in files:
            loaded = load_yaml(file, str(file))
            if isinstance(loaded, Diagnostic):
                diags.add(loaded)
                continue
            kind = loaded.data.get("kind") if isinstance(loaded.data, dict) else None
            if kind is None:
                diags.add(loaded.diagnostic(
                    (), "this file has no 'kind'; a QA form starts with 'kind: qa_form'"))
            elif kind != "qa_form":
                skipped.append(loaded.name)
            else:
                documents.append(loaded)
    forms = collect_forms(documents, diags)
    return FormCheck(forms, diags, tuple(skipped))
