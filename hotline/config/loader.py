"""Load a deployment folder: every file, every cross-reference, every error at once.

:func:`load_deployment` reads ``hotline.yaml``, ``routing.yaml`` and ``hours.yaml`` into typed
models, checks the references between them, and reads every YAML file under ``ivr/``, ``qa/``
and ``sim/``. Those folders' schemas belong to other packages: the caller passes *section
loaders* (``{"ivr": ivr.config.load_section, ...}``) that validate their documents against the
rest of the deployment and add their own diagnostics. This module imports none of them, so the
foundation stays at the bottom of the dependency graph; ``hotline.deployment`` wires them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from hotline.config.diagnostics import Diagnostic, Diagnostics, did_you_mean
from hotline.config.hours import Calendar, Hours
from hotline.config.routing import Agent, Queue, Routing, RoutingSettings
from hotline.config.settings import HotlineSettings, resolve_path
from hotline.config.validation import validate_document
from hotline.config.yamlsource import YamlDocument, load_yaml

SECTION_FOLDERS = ("ivr", "qa", "sim")

SectionLoader = Callable[["Deployment", list[YamlDocument], Diagnostics], Any]


@dataclass(slots=True)
class Deployment:
    """A loaded deployment. After a successful load every model is set."""

    root: Path
    settings: HotlineSettings | None = None
    routing: Routing | None = None
    hours: Hours | None = None
    calendars: dict[str, Calendar] = field(default_factory=dict)
    sources: dict[str, YamlDocument] = field(default_factory=dict)
    documents: dict[str, list[YamlDocument]] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict)
    diagnostics: Diagnostics = field(default_factory=Diagnostics)

    def path(self, value: str) -> Path:
        """A path from the YAML, relative to the deployment folder."""
        return resolve_path(self.root, value)

    @property
    def zone(self) -> ZoneInfo:
        """The deployment's time zone (UTC until hotline.yaml has been read)."""
        return ZoneInfo(self.settings.timezone if self.settings else "UTC")

    @property
    def data_dir(self) -> Path:
        settings = self.settings or HotlineSettings()
        return self.path(settings.paths.data_dir)

    @property
    def recordings_dir(self) -> Path:
        settings = self.settings or HotlineSettings()
        return self.path(settings.paths.recordings_dir)


def load_deployment(
    root: Path | str,
    sections: Mapping[str, SectionLoader] | None = None,
    *,
    raise_on_error: bool = True,
) -> Deployment:
    """Load and validate the deployment in ``root``.

    Raises :class:`~hotline.config.diagnostics.ConfigError` listing every error (and warning)
    unless ``raise_on_error`` is false, in which case the caller reads ``diagnostics``.
    """
    root = Path(root)
    deployment = Deployment(root=root)
    diags = deployment.diagnostics
    if not root.is_dir():
        problem = ("is a file, not a folder; name the folder that holds hotline.yaml"
                   if root.exists() else "does not exist")
        diags.add(Diagnostic(str(root), 0, 0, f"the deployment folder {problem}"))
        if raise_on_error:
            diags.raise_if_errors()
        return deployment

    settings_doc = _read(deployment, "hotline.yaml")
    routing_doc = _read(deployment, "routing.yaml")
    hours_doc = _read(deployment, "hours.yaml")

    if settings_doc is not None:
        deployment.settings = _validate(HotlineSettings, settings_doc, diags)
        if deployment.settings is not None:
            _check_settings(deployment.settings, settings_doc, diags)
    if routing_doc is not None:
        deployment.routing = _validate(Routing, routing_doc, diags)
        # Cross-references are checked even when some entries are broken, on the entries that
        # are whole, so one run shows every mistake.
        whole = deployment.routing or _partial_routing(routing_doc)
        if whole is not None:
            check_routing(whole, routing_doc, diags)
    if hours_doc is not None:
        deployment.hours = _validate(Hours, hours_doc, diags)
        if deployment.hours is not None:
            _check_hours(deployment.hours, hours_doc, diags)
            deployment.calendars = {
                name: Calendar.build(name, spec, deployment.hours.holidays)
                for name, spec in deployment.hours.calendars.items()
            }

    for folder in SECTION_FOLDERS:
        documents: list[YamlDocument] = []
        for path in sorted((root / folder).glob("*.y*ml")) if (root / folder).is_dir() else []:
            loaded = load_yaml(path, f"{folder}/{path.name}")
            if isinstance(loaded, Diagnostic):
                diags.add(loaded)
            else:
                documents.append(loaded)
        deployment.documents[folder] = documents

    for kind, loader in (sections or {}).items():
        deployment.sections[kind] = loader(deployment, deployment.documents.get(kind, []), diags)

    if raise_on_error:
        diags.raise_if_errors()
    return deployment


def _read(deployment: Deployment, name: str) -> YamlDocument | None:
    loaded = load_yaml(deployment.root / name, name)
    if isinstance(loaded, Diagnostic):
        if loaded.message == "the file does not exist":
            loaded = Diagnostic(
                name, 0, 0,
                f"the file is missing; every deployment needs {name} "
                f"(copy it from the example in config/)",
            )
        deployment.diagnostics.add(loaded)
        return None
    deployment.sources[name] = loaded
    return loaded


def _validate(model: type[Any], document: YamlDocument, diags: Diagnostics) -> Any:
    if not isinstance(document.data, dict):
        diags.add(document.diagnostic((), "the file must be a block of keys and values"))
        return None
    result, problems = validate_document(model, document)
    diags.extend(problems)
    return result


def _check_settings(settings: HotlineSettings, doc: YamlDocument, diags: Diagnostics) -> None:
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        diags.add(doc.diagnostic(
            ("timezone",),
            f"'{settings.timezone}' is not a known time zone; use a name like 'Europe/Berlin'",
        ))


def _partial_routing(doc: YamlDocument) -> Routing | None:
    """The valid parts of a ``routing.yaml`` that does not validate as a whole."""
    data = doc.data if isinstance(doc.data, dict) else {}
    skills = [s for s in data.get("skills") or [] if isinstance(s, str)]
    queues = {}
    for name, raw in (data.get("queues") or {}).items() if isinstance(data.get("queues"), dict) \
            else ():
        try:
            queues[name] = Queue.model_validate(raw)
        except ValidationError:
            # present but broken (already reported): it still exists for references
            queues[name] = Queue.model_construct(skills={}, escalation=[], channel="voice")
    agents = []
    for raw in data.get("agents") or [] if isinstance(data.get("agents"), list) else []:
        try:
            agents.append(Agent.model_validate(raw))
        except ValidationError:
            # keep the agent's position in the list so located messages stay right
            agents.append(Agent.model_construct(id="", name="", extension="", skills={},
                                                capacity={}))
    try:
        settings = RoutingSettings.model_validate(data.get("settings") or {})
    except ValidationError:
        settings = RoutingSettings()
    return Routing.model_construct(skills=skills, queues=queues, agents=agents, settings=settings)


def check_routing(routing: Routing, doc: YamlDocument, diags: Diagnostics) -> None:
    """Cross-references inside ``routing.yaml``."""
    skills = set(routing.skills)
    for name, count in Counter(routing.skills).items():
        if count > 1:
            index = len(routing.skills) - 1 - routing.skills[::-1].index(name)
            diags.add(doc.diagnostic(("skills", index), f"skill '{name}' is defined twice"))

    def unknown_skill(path: tuple[Any, ...], owner: str, skill: str) -> None:
        fix = did_you_mean(skill, skills) or "; add it to 'skills' at the top"
        diags.add(doc.diagnostic(path, f"{owner} '{skill}', which is not defined{fix}", key=True))

    for qname, queue in routing.queues.items():
        for skill in queue.skills:
            if skill not in skills:
                unknown_skill(("queues", qname, "skills", skill), f"queue '{qname}' requires skill",
                              skill)
        for index, step in enumerate(queue.escalation):
            base = ("queues", qname, "escalation", index)
            if index and step.after_s <= queue.escalation[index - 1].after_s:
                diags.add(doc.diagnostic(
                    (*base, "after_s"),
                    f"escalation steps must be in order of after_s; step {index + 1} of queue "
                    f"'{qname}' ({step.after_s:g} s) comes after "
                    f"{queue.escalation[index - 1].after_s:g} s",
                ))
            for key in ("relax", "also_accept"):
                for skill in getattr(step, key) or {}:
                    if skill not in skills:
                        unknown_skill((*base, key, skill),
                                      f"escalation step {index + 1} of queue '{qname}' names skill",
                                      skill)
                    elif (key == "relax" and skill not in queue.skills
                          and set(queue.skills) <= skills):
                        diags.add(doc.diagnostic(
                            (*base, key, skill),
                            f"escalation step {index + 1} of queue '{qname}' relaxes skill "
                            f"'{skill}', which the queue does not require; use also_accept to "
                            "let agents with another skill in",
                            key=True,
                        ))
            if step.overflow is not None:
                if step.overflow not in routing.queues:
                    diags.add(doc.diagnostic(
                        (*base, "overflow"),
                        f"queue '{qname}' overflows to queue '{step.overflow}', which is not "
                        f"defined{did_you_mean(step.overflow, routing.queues)}",
                    ))
                elif step.overflow == qname:
                    diags.add(doc.diagnostic((*base, "overflow"),
                                             f"queue '{qname}' overflows to itself"))

    default = routing.settings.default_queue
    if default is not None and default not in routing.queues:
        diags.add(doc.diagnostic(
            ("settings", "default_queue"),
            f"the default queue '{default}' is not defined{did_you_mean(default, routing.queues)}",
        ))

    seen_ids: dict[str, int] = {}
    seen_ext: dict[str, str] = {}
    for index, agent in enumerate(routing.agents):
        if not agent.id:  # an entry that failed validation; already reported
            continue
        if agent.id in seen_ids:
            diags.add(doc.diagnostic(
                ("agents", index, "id"),
                f"agent id '{agent.id}' is used twice (first for agent {seen_ids[agent.id] + 1})",
            ))
        seen_ids.setdefault(agent.id, index)
        if agent.extension in seen_ext:
            diags.add(doc.diagnostic(
                ("agents", index, "extension"),
                f"agent '{agent.id}' has extension {agent.extension}, which agent "
                f"'{seen_ext[agent.extension]}' already has; every agent needs their own",
            ))
        seen_ext.setdefault(agent.extension, agent.id)
        for skill in agent.skills:
            if skill not in skills:
                unknown_skill(("agents", index, "skills", skill), f"agent '{agent.id}' has skill",
                              skill)

    for qname, queue in routing.queues.items():
        if queue.skills and not any(can_serve(agent, queue) for agent in routing.agents):
            needed = ", ".join(f"{s} >= {lvl}" for s, lvl in queue.skills.items())
            diags.add(doc.diagnostic(
                ("queues", qname),
                f"no agent can take queue '{qname}' ({needed} on {queue.channel}); its callers "
                "will wait until an escalation step lets someone in",
                key=True, warning=True,
            ))


def can_serve(agent: Any, queue: Any) -> bool:
    """Whether ``agent`` may take ``queue``'s contacts before any escalation step."""
    if agent.capacity.get(queue.channel, 0) < 1:
        return False
    return all(agent.skills.get(skill, 0) >= level for skill, level in queue.skills.items())


def _check_hours(hours: Hours, doc: YamlDocument, diags: Diagnostics) -> None:
    for name, calendar in hours.calendars.items():
        for index, ref in enumerate(calendar.holidays):
            if ref not in hours.holidays:
                diags.add(doc.diagnostic(
                    ("calendars", name, "holidays", index),
                    f"calendar '{name}' uses holiday list '{ref}', which is not defined"
                    f"{did_you_mean(ref, hours.holidays)}",
                ))
    for list_name, days in hours.holidays.items():
        seen: set[Any] = set()
        for index, holiday in enumerate(days):
            if holiday.date in seen:
                diags.add(doc.diagnostic(
                    ("holidays", list_name, index, "date"),
                    f"{holiday.date} is listed twice in holiday list '{list_name}'",
                ))
            seen.add(holiday.date)
