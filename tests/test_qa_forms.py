"""QA forms: located validation messages, example forms, weighted scoring, critical items."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.config.diagnostics import Diagnostics
from hotline.config.yamlsource import YamlDocument, parse_yaml
from recording.qa.errors import ScoringError
from recording.qa.forms import Form, check_paths, collect_forms, validate_form
from recording.qa.scoring import score

CONFIG_QA = Path(__file__).resolve().parent.parent / "config" / "qa"


def document(text: str, name: str = "qa/form.yaml") -> YamlDocument:
    loaded = parse_yaml(textwrap.dedent(text), Path(name), name)
    assert isinstance(loaded, YamlDocument), loaded
    return loaded


def messages(text: str) -> tuple[Form | None, list[str]]:
    diags = Diagnostics()
    form = validate_form(document(text), diags)
    return form, [str(d) for d in diags]


SMALL = """\
    kind: qa_form
    name: small
    title: Small
    scales:
      empathy:
        points:
          - {label: acknowledged, score: 100}
          - {label: partly, score: 50}
          - {label: dismissed, score: 0}
    sections:
      - id: a
        title: A
        questions:
          - {id: q1, text: Greets, scale: yes_no}
          - {id: q2, text: Understands, scale: one_to_five, weight: 3}
          - {id: ident, text: Verifies identity, scale: yes_no_na, critical: true}
      - id: b
        title: B
        weight: 2
        questions:
          - {id: q3, text: Holds politely, scale: yes_no_na}
          - {id: q4, text: Empathy, scale: empathy}
    """


def small_form() -> Form:
    form, problems = messages(SMALL)
    assert problems == []
    assert form is not None
    return form


def test_example_forms_are_valid() -> None:
    result = check_paths([CONFIG_QA])
    assert [str(d) for d in result.diagnostics] == []
    assert {"standard-call", "complaints"} <= set(result.forms)
    standard = result.forms["standard-call"]
    assert standard.version == "2026.1"
    assert [q.id for q in standard.questions if q.critical] == ["identification"]
    # section weight x question weight
    assert standard.question("accuracy").weight == 6


def test_unknown_scale_zero_weight_duplicate_id_and_critical_on_a_graded_scale() -> None:
    form, problems = messages("""\
        kind: qa_form
        name: broken
        title: Broken
        sections:
          - id: opening
            title: Opening
            questions:
              - id: greeting
                text: Greets
                scale: yes_no_maybe
                weight: 0
              - id: greeting
                text: Greets again
                scale: one_to_five
                critical: true
        """)
    assert form is None
    assert problems == [
        "qa/form.yaml:10:16: question 'greeting' uses the unknown scale 'yes_no_maybe'; "
        "did you mean 'yes_no_na'?",
        "qa/form.yaml:11:17: question 'greeting' has weight 0; a weight must be more than 0 "
        "(remove what should not count)",
        "qa/form.yaml:12:13: question id 'greeting' is used twice (first on line 8); "
        "question ids must be unique in a form",
        "qa/form.yaml:15:19: question 'greeting' is critical but its scale 'one_to_five' is "
        "not a pass/fail scale; a critical item needs exactly two points scoring 0 and 100 "
        "(use yes_no or yes_no_na)",
    ]


def test_duplicate_section_empty_section_and_negative_section_weight() -> None:
    _, problems = messages("""\
        kind: qa_form
        name: broken
        title: Broken
        sections:
          - id: opening
            title: Opening
            questions:
              - {id: greeting, text: Greets, scale: yes_no}
          - id: opening
            title: Again
            weight: -1
            questions: []
        """)
    assert problems == [
        "qa/form.yaml:9:9: section id 'opening' is used twice (first on line 5); section ids "
        "must be unique in a form",
        "qa/form.yaml:11:13: section 'opening' has weight -1; a weight must be more than 0 "
        "(remove what should not count)",
        "qa/form.yaml:12:16: section 'opening' has no questions; add at least one",
    ]


def test_broken_custom_scales_and_an_unused_one() -> None:
    form, problems = messages("""\
        kind: qa_form
        name: scales
        title: Scales
        scales:
          yes_no:
            points: [{label: y, score: 100}, {label: n, score: 0}]
          tone:
            points:
              - {label: warm, score: 90}
              - {label: warm, score: 10}
              - {label: na, score: 0}
          unused:
            points: [{label: a, score: 100}, {label: b, score: 0}]
        sections:
          - id: s
            title: S
            questions:
              - {id: q, text: Q, scale: tone}
        """)
    assert form is None
    assert problems == [
        "qa/form.yaml:5:3: scale 'yes_no' is built in; give the custom scale another name",
        "qa/form.yaml:9:7: the best point of scale 'tone' scores 90; one point must score 100 "
        "so that a perfect call can reach 100",
        "qa/form.yaml:10:17: point 'warm' appears twice in scale 'tone'",
        "qa/form.yaml:11:17: 'na' is reserved for 'not applicable'; set 'na: true' on scale "
        "'tone' instead of listing it as a point",
        "qa/form.yaml:12:3: warning: scale 'unused' is defined but no question uses it",
    ]


def test_missing_and_misspelt_keys_and_empty_sections() -> None:
    _, problems = messages("""\
        kind: qa_form
        name: nosections
        titel: T
        """)
    assert problems == [
        "qa/form.yaml:1:1: the file is missing the required key 'title'",
        "qa/form.yaml:1:1: the file is missing the required key 'sections'",
        "qa/form.yaml:3:1: unknown key 'titel'; did you mean 'title'?",
    ]
    _, problems = messages("kind: qa_form\nname: empty\ntitle: T\nsections: []\n")
    assert problems == [
        "qa/form.yaml:4:11: the form has no sections; add at least one section with questions"
    ]


def test_a_schema_error_does_not_hide_the_other_mistakes_of_the_file() -> None:
    form, problems = messages("""\
        kind: qa_form
        name: mixed
        title: Mixed
        scales:
          broken: {points: oops}
        sections:
          - id: a
            title: A
            questions:
              - {id: q1, text: Greets, scale: yes_no, critical: maybe}
              - {id: q2, text: Understands, scale: one_to_fiv}
              - {id: q3, text: Rated, scale: broken}
              - {id: q2, text: Again, scale: yes_no, weight: 0}
          - {id: b, title: B, colour: red, questions: [{id: q9, text: X, scale: nope}]}
        """)
    assert form is None
    assert problems == [
        "qa/form.yaml:5:20: 'scales.broken.points' must be a list (lines starting with '- '), "
        "not 'oops'",
        "qa/form.yaml:10:57: 'sections[1].questions[1].critical' must be true or false, not "
        "'maybe'",
        "qa/form.yaml:11:44: question 'q2' uses the unknown scale 'one_to_fiv'; did you mean "
        "'one_to_five'?",
        "qa/form.yaml:13:14: question id 'q2' is used twice (first on line 11); question ids "
        "must be unique in a form",
        "qa/form.yaml:13:54: question 'q2' has weight 0; a weight must be more than 0 (remove "
        "what should not count)",
        # q3's scale is defined but broken: reported where the scale is, not as unknown;
        # section b has an unknown key, so its questions are not judged
        "qa/form.yaml:14:23: unknown key 'colour' in 'sections[2]'; allowed keys here: id, "
        "questions, title, weight",
    ]


def test_a_warning_alone_still_gives_a_form() -> None:
    text = SMALL.replace("    sections:", "      spare:\n        points: [{label: a, score: 100}, "
                         "{label: b, score: 0}]\n    sections:", 1)
    form, problems = messages(text)
    assert form is not None
    assert problems == ["qa/form.yaml:10:3: warning: scale 'spare' is defined but no question "
                        "uses it"]


def test_without_a_version_the_content_names_the_version() -> None:
    first, second = small_form(), small_form()
    assert first.version == second.version
    assert first.version.startswith("sha256:")
    changed, _ = messages(SMALL.replace("weight: 3", "weight: 4"))
    assert changed is not None and changed.version != first.version


def test_form_names_are_unique_across_files() -> None:
    diags = Diagnostics()
    forms = collect_forms([document(SMALL, "qa/a.yaml"), document(SMALL, "qa/b.yaml")], diags)
    assert list(forms) == ["small"]
    assert [str(d) for d in diags] == [
        "qa/b.yaml:2:7: form name 'small' is also used by qa/a.yaml; form names must be unique"
    ]


def test_weighted_score_leaves_na_out_of_the_denominator() -> None:
    form = small_form()
    result = score(form, {"q1": "yes", "q2": 4, "ident": "yes", "q3": "na", "q4": "partly"})
    # weights q1 1, q2 3, ident 1, q3 (N/A) -, q4 2: (100 + 3*75 + 100 + 2*50) / 7
    assert result.score == pytest.approx(round(525 / 7, 2))
    assert result.critical_failed is False
    assert result.question_scores["q3"] is None
    assert result.answers["q2"] == "4"


def test_a_failed_critical_item_fails_the_whole_evaluation() -> None:
    form = small_form()
    result = score(form, {"q1": "yes", "q2": "5", "ident": "no", "q3": "yes",
                          "q4": "acknowledged"})
    assert (result.score, result.critical_failed, result.failed_critical) == (0.0, True,
                                                                               ("ident",))
    not_applicable = score(form, {"q1": "yes", "q2": "5", "ident": "na", "q3": "yes",
                                  "q4": "acknowledged"})
    assert (not_applicable.score, not_applicable.critical_failed) == (100.0, False)


@pytest.mark.parametrize(("answers", "message"), [
    ({"q1": "yes", "q2": "5", "ident": "yes", "q3": "na"},
     "question(s) 'q4' of form 'small' are not answered; answer every question (or 'na' where "
     "the scale allows it)"),
    ({"q1": "yes", "q2": "5", "ident": "yes", "q3": "na", "q4": "partly", "q9": "yes"},
     "form 'small' has no question 'q9'; its questions are ident, q1, q2, q3, q4"),
    ({"q1": "na", "q2": "5", "ident": "yes", "q3": "na", "q4": "partly"},
     "the answer to 'q1' must be one of yes, no, not 'na'"),
    ({"q1": "yes", "q2": 6, "ident": "yes", "q3": "na", "q4": "partly"},
     "the answer to 'q2' must be one of 1, 2, 3, 4, 5, not '6'"),
    ({"q1": True, "q2": 5, "ident": "yes", "q3": "na", "q4": "partly"},
     "the answer to 'q1' must be one of yes, no, not True"),
])
def test_answers_that_do_not_fit_the_form_are_refused(answers: dict, message: str) -> None:
    with pytest.raises(ScoringError) as caught:
        score(small_form(), answers)
    assert str(caught.value) == message


def test_all_not_applicable_has_no_score() -> None:
    form, _ = messages("""\
        kind: qa_form
        name: tiny
        title: T
        sections:
          - id: s
            title: S
            questions:
              - {id: a, text: A, scale: yes_no_na}
              - {id: b, text: B, scale: one_to_five_na}
        """)
    assert form is not None
    with pytest.raises(ScoringError, match="every question of form 'tiny' is answered 'na'"):
        score(form, {"a": "na", "b": "na"})


FORM = small_form()
ANSWERS = st.fixed_dictionaries({q.id: st.sampled_from(q.scale.labels) for q in FORM.questions})


@given(ANSWERS)
def test_score_is_between_0_and_100_and_best_answers_score_100(answers: dict) -> None:
    result = score(FORM, answers)  # q1, q2 and q4 have no N/A: always something to score
    assert 0 <= result.score <= 100
    assert result.critical_failed == (answers["ident"] == "no")
    best = {q.id: max(q.scale.points, key=lambda p: p.score).label for q in FORM.questions}
    assert score(FORM, best).score == 100


@given(ANSWERS, st.sampled_from([q.id for q in FORM.questions]))
def test_a_better_answer_never_lowers_the_score(answers: dict, question_id: str) -> None:
    question = FORM.question(question_id)
    best = max(question.scale.points, key=lambda p: p.score).label
    answers = {**answers, "ident": "yes"}
    if answers[question_id] == "na":
        return  # N/A is not a worse answer; it takes the question out
    assert score(FORM, {**answers, question_id: best}).score >= score(FORM, answers).score
