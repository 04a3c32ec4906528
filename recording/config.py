"""The ``qa/`` section loader: the recording policy and the QA forms of a deployment.

Every YAML file in ``config/qa/`` says what it is with ``kind``: ``recording_policy`` (at most
one; see :mod:`recording.policy`) or ``qa_form`` (validated by :mod:`recording.qa.forms`).
:func:`load_section` validates each document with located errors and checks the policy
against the rest of the deployment: queues must exist in ``routing.yaml`` and flows in
``ivr/``, with a did-you-mean for typos. A deployment without a policy file records with the
defaults of :class:`~recording.policy.RecordingPolicy`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.config.diagnostics import Diagnostics, did_you_mean
from hotline.config.loader import Deployment
from hotline.config.validation import validate_document
from hotline.config.yamlsource import YamlDocument
from recording.policy import RecordingPolicy

KINDS = ("recording_policy", "qa_form")


@dataclass(slots=True)
class QaSection:
    """What ``deployment.sections["qa"]`` holds after loading."""

    policy: RecordingPolicy = field(default_factory=RecordingPolicy)
    policy_file: str | None = None
    forms: list[Any] = field(default_factory=list)  # recording.qa.forms.Form


def load_section(deployment: Deployment, documents: list[YamlDocument],
                 diags: Diagnostics) -> QaSection:
    section = QaSection()
    form_documents: list[YamlDocument] = []
    for document in documents:
        data = document.data
        if not isinstance(data, dict):
            diags.add(document.diagnostic((), "the file must be a block of keys and values "
                                              "starting with 'kind: recording_policy' or "
                                              "'kind: qa_form'"))
            continue
        kind = data.get("kind")
        if kind == "recording_policy":
            _policy(deployment, document, section, diags)
        elif kind == "qa_form":
            form_documents.append(document)
        elif kind is None:
            diags.add(document.diagnostic((), "the file is missing the required key 'kind'; "
                                              "start it with 'kind: recording_policy' or "
                                              "'kind: qa_form'", key=True))
        else:
            hint = did_you_mean(str(kind), KINDS) or f"; use one of {', '.join(KINDS)}"
            diags.add(document.diagnostic(("kind",), f"unknown kind {kind!r}{hint}"))
    if form_documents:
        from recording.qa.forms import collect_forms

        section.forms = list(collect_forms(form_documents, diags).values())
    return section


def _policy(deployment: Deployment, document: YamlDocument, section: QaSection,
            diags: Diagnostics) -> None:
    if section.policy_file is not None:
        diags.add(document.diagnostic(
            ("kind",), f"a second recording policy; the deployment already has one in "
                       f"{section.policy_file} (keep one file with kind: recording_policy)"))
        return
    policy, problems = validate_document(RecordingPolicy, document)
    diags.extend(problems)
    if policy is None:
        return
    section.policy, section.policy_file = policy, document.name
    if deployment.routing is not None:
        queues = deployment.routing.queues
        for name in policy.queues:
            if name not in queues:
                diags.add(document.diagnostic(
                    ("queues", name),
                    f"the policy names queue '{name}', which routing.yaml does not define"
                    f"{did_you_mean(name, queues) or '; queues: ' + ', '.join(sorted(queues))}",
                    key=True))
    flows = {Path(doc.name).stem for doc in deployment.documents.get("ivr", [])}
    if flows:
        for rule in ("always", "never"):
            for index, name in enumerate(getattr(policy.flows, rule)):
                if name not in flows:
                    diags.add(document.diagnostic(
                        ("flows", rule, index),
                        f"the policy names flow '{name}', which has no file in ivr/"
                        f"{did_you_mean(name, flows) or '; flows: ' + ', '.join(sorted(flows))}"))
    both = set(policy.flows.always) & set(policy.flows.never)
    for name in sorted(both):
        diags.add(document.diagnostic(
            ("flows", "never", policy.flows.never.index(name)),
            f"flow '{name}' is listed under both 'always' and 'never'; keep one"))
