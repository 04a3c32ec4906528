"""The recording policy: decisions, determinism, and the qa/ section loader's located errors."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from hotline.config.loader import load_deployment
from recording.config import QaSection, load_section
from recording.policy import RecordingPolicy, sample_draw


def policy(**data: object) -> RecordingPolicy:
    return RecordingPolicy.model_validate({"kind": "recording_policy", **data})


RULES = policy(
    defaults={"percent": 50, "retention_days": 90},
    queues={"complaints": {"always": True, "retention_days": 365},
            "sales": {"percent": 0}, "internal": {"never": True},
            "billing": {"percent": 100, "record_from": "queued", "split_legs": True}},
    flows={"always": ["escalation"], "never": ["payment"]},
)


def test_always_never_and_percentage_rules_in_order() -> None:
    complaint = RULES.decide("c1", "complaints", None)
    assert complaint.record and complaint.retention_days == 365
    assert "always" in complaint.reason
    assert not RULES.decide("c1", "internal", None).record
    assert not RULES.decide("c1", "sales", None).record
    assert RULES.decide("c1", "sales", "escalation").record  # an always flow beats a percent
    assert not RULES.decide("c1", "complaints", "payment").record  # never beats always
    assert not RULES.decide("c1", "internal", "escalation").record  # a never queue too
    billing = RULES.decide("c1", "billing", None)
    assert billing.record and billing.record_from == "queued" and billing.split_legs
    assert billing.retention_days == 90


def test_the_percentage_is_met_over_many_calls() -> None:
    recorded = sum(RULES.decide(f"17953520{i}.{i % 7}", "general", None).record
                   for i in range(4000))
    assert 1850 < recorded < 2150  # 50 % of 4000, within ~5 sigma


@given(st.text(min_size=1, max_size=30), st.floats(0, 100))
def test_decisions_are_a_function_of_the_call_id(call_id: str, percent: float) -> None:
    rules = policy(defaults={"percent": percent})
    first = rules.decide(call_id, "general", None)
    assert rules.decide(call_id, "general", None) == first  # a replay agrees
    assert first.record == (sample_draw(call_id) < percent)
    assert 0 <= sample_draw(call_id) < 100


def test_the_salt_reshuffles_which_calls_are_sampled() -> None:
    ids = [f"c{i}" for i in range(200)]
    plain = [sample_draw(i) < 50 for i in ids]
    salted = [sample_draw(i, "2027") < 50 for i in ids]
    assert plain != salted


def test_consent_prompt_per_queue() -> None:
    rules = policy(defaults={"consent_sound": "custom/notice"},
                   queues={"sales": {"consent_prompt": False}, "internal": {"never": True}})
    assert rules.consent_prompt_for("billing") == "custom/notice"
    assert rules.consent_prompt_for("sales") is None
    assert rules.consent_prompt_for("internal") is None  # never recorded: nothing to announce


# ---- the qa/ section loader ----

def load(root: Path):
    return load_deployment(root, {"qa": load_section}, raise_on_error=False)


def messages(deployment) -> list[str]:
    return [str(d) for d in deployment.diagnostics.errors]


def test_the_example_policy_loads(deployment_copy: Path) -> None:
    deployment = load(deployment_copy)
    assert messages(deployment) == []
    section = deployment.sections["qa"]
    assert isinstance(section, QaSection)
    assert section.policy_file == "qa/recording-policy.yaml"
    assert section.policy.decide("x", "complaints", None).record


def write_policy(root: Path, text: str) -> None:
    (root / "qa" / "recording-policy.yaml").write_text(text)


def test_unknown_queue_is_located_with_did_you_mean(deployment_copy: Path) -> None:
    write_policy(deployment_copy, "kind: recording_policy\nqueues:\n  complaints: {always: true}"
                                  "\n  biling: {percent: 10}\n")
    assert messages(load(deployment_copy)) == [
        "qa/recording-policy.yaml:4:3: the policy names queue 'biling', which routing.yaml "
        "does not define; did you mean 'billing'?"]


def test_bad_values_are_located(deployment_copy: Path) -> None:
    write_policy(deployment_copy, "kind: recording_policy\ndefaults:\n  percent: 120\n"
                                  "  record_fom: answer\nqueues:\n  sales: {always: true, "
                                  "never: true}\n")
    found = messages(load(deployment_copy))
    assert "qa/recording-policy.yaml:3:12: 'defaults.percent' must be at most 100.0, not 120" \
        in found
    assert any(m.startswith("qa/recording-policy.yaml:4:3: unknown key 'record_fom'")
               and "did you mean 'record_from'" in m for m in found)
    assert "qa/recording-policy.yaml:6:10: 'queues.sales' cannot be recorded both 'always' and " \
           "'never'; keep one of them" in found


def test_unknown_flow_is_checked_against_ivr_files(deployment_copy: Path) -> None:
    (deployment_copy / "ivr").mkdir(exist_ok=True)
    (deployment_copy / "ivr" / "payment.yaml").write_text("start: hello\n")
    write_policy(deployment_copy, "kind: recording_policy\nflows:\n  never: [paymnt]\n")
    assert messages(load(deployment_copy)) == [
        "qa/recording-policy.yaml:3:11: the policy names flow 'paymnt', which has no file in "
        "ivr/; did you mean 'payment'?"]


def test_kind_is_required_and_checked(deployment_copy: Path) -> None:
    (deployment_copy / "qa" / "extra.yaml").write_text("kind: recording_polcy\n")
    (deployment_copy / "qa" / "nokind.yaml").write_text("defaults: {}\n")
    found = messages(load(deployment_copy))
    assert "qa/extra.yaml:1:7: unknown kind 'recording_polcy'; did you mean " \
           "'recording_policy'?" in found
    assert any(m.startswith("qa/nokind.yaml:1:1: the file is missing the required key 'kind'")
               for m in found)


def test_a_second_policy_is_an_error(deployment_copy: Path) -> None:
    (deployment_copy / "qa" / "zz-more.yaml").write_text("kind: recording_policy\n")
    found = messages(load(deployment_copy))
    assert len(found) == 1 and found[0].startswith("qa/zz-more.yaml:1:7: a second recording "
                                                   "policy; the deployment already has one in "
                                                   "qa/recording-policy.yaml")


def test_qa_forms_go_to_the_form_validator(deployment_copy: Path) -> None:
    (deployment_copy / "qa" / "form.yaml").write_text("kind: qa_form\nname: 3\n")
    found = messages(load(deployment_copy))
    assert found and all(m.startswith("qa/form.yaml:") for m in found)


def test_form_names_are_unique_across_the_deployment(deployment_copy: Path) -> None:
    form = (deployment_copy / "qa" / "standard-call.yaml").read_text()
    (deployment_copy / "qa" / "zz-copy.yaml").write_text(form)
    deployment = load(deployment_copy)
    found = messages(deployment)
    assert len(found) == 1 and found[0].startswith("qa/zz-copy.yaml:")
    assert "is also used by qa/standard-call.yaml; form names must be unique" in found[0]
    assert sorted(f.source for f in deployment.sections["qa"].forms) == [
        "qa/complaints.yaml", "qa/standard-call.yaml"]
