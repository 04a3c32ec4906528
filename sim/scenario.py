"""Simulation scenarios: ``config/sim/*.yaml``, validated against the rest of the deployment.

A scenario is a planner's "what if": how many calls arrive over the day and the week, how long
they take, how patient callers are, how they answer the IVR's menus and who is on shift. It
names the deployment's own queues, IVR flow and agents, so the simulation runs the same routing
and IVR as production (see docs/planning.md, section Simulation, for every key)::

    description: One skill, constant rate, exponential service
    duration_h: 24
    queue: general                  # straight to a queue; or  ivr: {flow: main, choices: ...}
    arrivals: {calls_per_hour: 180}
    handling: {default: {distribution: exponential, mean_s: 180}}
    wrap_up_s: 0
    agents: {synthetic: {count: 10, skills: {general: 5}}}

:func:`load_section` is the section loader for the ``sim/`` folder (wired in
``hotline.deployment``): it validates every file with located errors and checks the
cross-references (queues, flows, IVR node ids and options, probabilities that must add up to 1,
agents and skills of shifts). :func:`compile_scenario` turns a validated scenario into the
:class:`~sim.plan.Plan` the simulator runs.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from hotline.config.diagnostics import Diagnostics, did_you_mean
from hotline.config.loader import Deployment
from hotline.config.validation import StrictModel, validate_document
from hotline.config.yamlsource import YamlDocument

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MENU_EXTRA = ("timeout", "invalid", "hangup")
GATHER_KEYS = ("valid", "invalid", "timeout", "hangup")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PROBABILITY_SLACK = 1e-6


class DistributionSpec(StrictModel):
    """A duration: ``exponential`` / ``constant`` (``mean_s``), ``lognormal`` (``mean_s``,
    ``sd_s``) or ``empirical`` (``file`` of a CSV sample, optional ``column``)."""

    distribution: Literal["exponential", "lognormal", "constant", "empirical"]
    mean_s: float | None = Field(None, gt=0)
    sd_s: float | None = Field(None, gt=0)
    file: str | None = None
    column: str | None = None

    @model_validator(mode="after")
    def _fields(self) -> DistributionSpec:
        kind = self.distribution
        if kind == "empirical":
            if self.file is None:
                raise ValueError("an empirical distribution needs 'file', a CSV of durations "
                                 "in seconds")
        elif self.mean_s is None:
            raise ValueError(f"a {kind} distribution needs 'mean_s'")
        if kind == "lognormal" and self.sd_s is None:
            raise ValueError("a lognormal distribution needs 'sd_s' as well as 'mean_s'")
        return self


class ArrivalSpec(StrictModel):
    """Poisson arrivals; the rate is ``calls_per_hour`` (or ``calls_per_month`` over a 30-day
    month) times the intraday factor times the weekly factor (each profile is normalised to a
    mean of 1). ``daily_cv`` > 0 multiplies each day's rate by a gamma factor of mean 1."""

    calls_per_hour: float | None = Field(None, gt=0)
    calls_per_month: float | None = Field(None, gt=0)
    intraday: list[float] = []
    weekly: list[float] = []
    daily_cv: float = Field(0.0, ge=0, le=2)

    @model_validator(mode="after")
    def _rate(self) -> ArrivalSpec:
        if (self.calls_per_hour is None) == (self.calls_per_month is None):
            raise ValueError("give exactly one of calls_per_hour or calls_per_month")
        if self.intraday and len(self.intraday) not in (24, 48, 96):
            raise ValueError(f"intraday has {len(self.intraday)} values; give 24 (hourly), "
                             "48 (half-hourly) or 96 (quarter-hourly)")
        if self.weekly and len(self.weekly) != 7:
            raise ValueError(f"weekly has {len(self.weekly)} values; give 7, Monday first")
        for name, values in (("intraday", self.intraday), ("weekly", self.weekly)):
            if any(v < 0 for v in values) or (values and sum(values) <= 0):
                raise ValueError(f"{name} factors must be >= 0 and not all 0")
        return self

    @property
    def mean_per_hour(self) -> float:
        if self.calls_per_hour is not None:
            return self.calls_per_hour
        return float(self.calls_per_month) / (30 * 24)  # type: ignore[arg-type]


class CustomerSpec(StrictModel):
    """Who calls: ``known`` share of callers have a customer record; lookups by phone find it
    with ``phone_match``; ``tiers`` (probabilities) and ``balance_known`` fill the record."""

    known: float = Field(0.6, ge=0, le=1)
    phone_match: float = Field(0.8, ge=0, le=1)
    tiers: dict[str, float] = {"standard": 1.0}
    balance_known: float = Field(0.9, ge=0, le=1)


class IvrSpec(StrictModel):
    """How simulated callers walk the IVR flow, and how long each step takes."""

    flow: str = "main"
    prompt_s: float = Field(3.0, ge=0)
    think_s: float = Field(2.0, ge=0)
    digit_s: float = Field(0.4, ge=0)
    say_s: float = Field(3.0, ge=0)
    lookup_s: float = Field(0.3, ge=0)
    choices: dict[str, dict[str | int, float]] = {}
    customers: CustomerSpec = CustomerSpec()


class HandlingSpec(StrictModel):
    default: DistributionSpec
    queues: dict[str, DistributionSpec] = {}


class RetrialSpec(StrictModel):
    probability: float = Field(ge=0, le=1)
    delay: DistributionSpec


class BreakSpec(StrictModel):
    after_h: float = Field(gt=0)
    minutes: float = Field(gt=0)


class ShiftSpec(StrictModel):
    """Agents working ``start`` (local time) for ``hours`` on ``days``; ``agents`` are ids of
    routing.yaml or ranges like ``a001-a010`` (positions in that list)."""

    name: str
    start: str
    hours: float = Field(gt=0, le=24)
    days: list[str] = list(DAYS)
    agents: list[str]
    breaks: list[BreakSpec] = []


class SyntheticAgents(StrictModel):
    count: int = Field(ge=1, le=5000)
    skills: dict[str, int]


class AgentsSpec(StrictModel):
    synthetic: SyntheticAgents | None = None
    shifts: list[ShiftSpec] = []

    @model_validator(mode="after")
    def _one(self) -> AgentsSpec:
        if (self.synthetic is None) == (not self.shifts):
            raise ValueError("give either 'synthetic' agents or 'shifts', not both or neither")
        return self


class ScenarioSpec(StrictModel):
    """The whole of one ``sim/*.yaml`` file."""

    description: str = ""
    start: str = "2026-11-02T00:00"
    duration_h: float = Field(gt=0, le=24 * 400)
    warmup_h: float = Field(0.0, ge=0)
    interval_minutes: Literal[15, 30, 60] = 60
    target_s: float | None = Field(None, gt=0)
    queue: str | None = None
    ivr: IvrSpec | None = None
    arrivals: ArrivalSpec
    handling: HandlingSpec
    wrap_up_s: float | None = Field(None, ge=0)
    patience: DistributionSpec | None = None
    retrials: RetrialSpec | None = None
    rona_probability: float = Field(0.0, ge=0, le=1)
    rona_ready_after_s: float = Field(60.0, ge=0)
    answer_s: float = Field(0.0, ge=0)
    callback_accept: float = Field(0.0, ge=0, le=1)
    agents: AgentsSpec

    @model_validator(mode="after")
    def _entry(self) -> ScenarioSpec:
        if (self.queue is None) == (self.ivr is None):
            raise ValueError("give either 'queue' (callers go straight to it) or 'ivr' "
                             "(callers walk an IVR flow), not both or neither")
        return self


class Scenario:
    """A validated scenario file together with the deployment it runs against."""

    __slots__ = ("deployment", "document", "name", "spec")

    def __init__(self, name: str, spec: ScenarioSpec, document: YamlDocument,
                 deployment: Deployment) -> None:
        self.name = name
        self.spec = spec
        self.document = document
        self.deployment = deployment

    def __repr__(self) -> str:
        return f"Scenario({self.name!r})"


def load_section(deployment: Deployment, documents: list[YamlDocument],
                 diags: Diagnostics) -> dict[str, Scenario]:
    """The ``sim/`` section loader: every scenario file, validated and cross-checked."""
    scenarios: dict[str, Scenario] = {}
    for document in documents:
        scenario = load_document(deployment, document, diags)
        if scenario is not None:
            scenarios[scenario.name] = scenario
    return scenarios


def load_document(deployment: Deployment, document: YamlDocument,
                  diags: Diagnostics) -> Scenario | None:
    """One scenario file; its problems go to ``diags``; ``None`` when it has errors."""
    if not isinstance(document.data, dict):
        diags.add(document.diagnostic((), "a scenario must be a block of keys and values"))
        return None
    spec, problems = validate_document(ScenarioSpec, document)
    diags.extend(problems)
    if spec is None:
        return None
    before = len(diags.errors)
    _Checker(deployment, document, diags).check(spec)
    if len(diags.errors) > before:
        return None
    return Scenario(Path(document.name).stem, spec, document, deployment)


class _Checker:
    def __init__(self, deployment: Deployment, document: YamlDocument, diags: Diagnostics):
        self.deployment = deployment
        self.doc = document
        self.diags = diags

    def error(self, path: tuple[Any, ...], message: str, *, key: bool = False) -> None:
        self.diags.add(self.doc.diagnostic(path, message, key=key))

    def check(self, spec: ScenarioSpec) -> None:
        routing = self.deployment.routing
        queues = routing.queues if routing is not None else {}
        if spec.queue is not None and routing is not None and spec.queue not in queues:
            self.error(("queue",), f"queue '{spec.queue}' is not defined in routing.yaml"
                       f"{did_you_mean(spec.queue, queues) or self._known(queues)}")
        for name in spec.handling.queues:
            if routing is not None and name not in queues:
                self.error(("handling", "queues", name),
                           f"handling times for queue '{name}', which is not defined in "
                           f"routing.yaml{did_you_mean(name, queues) or self._known(queues)}",
                           key=True)
        self._start(spec)
        self._distributions(spec)
        if spec.ivr is not None:
            self._ivr(spec.ivr)
        self._agents(spec.agents)

    @staticmethod
    def _known(names: Any) -> str:
        return "; known: " + ", ".join(sorted(names)) if names else ""

    def _start(self, spec: ScenarioSpec) -> None:
        import datetime as dt

        try:
            dt.datetime.fromisoformat(spec.start)
        except ValueError:
            self.error(("start",), f"start {spec.start!r} is not a date and time; write it like "
                       "'2026-11-02T00:00' (local time of the deployment)")

    def _distributions(self, spec: ScenarioSpec) -> None:
        found: list[tuple[tuple[Any, ...], DistributionSpec]] = [
            (("handling", "default"), spec.handling.default)]
        found += [(("handling", "queues", q), d) for q, d in spec.handling.queues.items()]
        if spec.patience is not None:
            found.append((("patience",), spec.patience))
        if spec.retrials is not None:
            found.append((("retrials", "delay"), spec.retrials.delay))
        for path, dist in found:
            if dist.file is not None:
                target = sample_path(self.deployment, self.doc, dist.file)
                if not target.is_file():
                    self.error((*path, "file"), f"the sample file '{dist.file}' does not exist "
                               f"(looked for {target})")

    def _ivr(self, ivr: IvrSpec) -> None:
        flows = self.deployment.sections.get("ivr")
        if flows is None or not hasattr(flows, "flows"):
            return  # the IVR section did not load; its own errors say why
        if ivr.flow not in flows.flows:
            self.error(("ivr", "flow"), f"there is no IVR flow '{ivr.flow}'"
                       f"{did_you_mean(ivr.flow, flows.flows) or self._known(flows.flows)}")
            return
        from ivr.flow import GatherNode, MenuNode

        for key, options in ivr.choices.items():
            path = ("ivr", "choices", key)
            flow_name, _, node_id = key.rpartition("/")
            flow_name = flow_name.rpartition("/")[2] or ivr.flow
            flow = flows.flows.get(flow_name)
            node = flow.nodes.get(node_id) if flow is not None else None
            if node is None:
                nodes = flow.nodes if flow is not None else {}
                self.error(path, f"choices for '{key}', but flow '{flow_name}' has no node "
                           f"'{node_id}'{did_you_mean(node_id, nodes)}; a node of a subflow is "
                           "written 'subflow/node', like 'account/ask'", key=True)
                continue
            if isinstance(node, MenuNode):
                allowed = [*map(str, node.options), *MENU_EXTRA]
            elif isinstance(node, GatherNode):
                allowed = list(GATHER_KEYS)
            else:
                self.error(path, f"node '{key}' is a {type(node).__name__.removesuffix('Node')}"
                           " node; choices apply to menu and gather nodes only", key=True)
                continue
            for option, probability in options.items():
                if str(option) not in allowed or isinstance(option, bool):
                    self.error((*path, option), f"'{option}' is not a choice of node '{key}'; "
                               f"choose among {', '.join(allowed)}", key=True)
                if not 0 <= probability <= 1:
                    self.error((*path, option), f"probability {probability} must be between "
                               "0 and 1")
            total = sum(options.values())
            if abs(total - 1.0) > _PROBABILITY_SLACK:
                self.error(path, f"the probabilities of '{key}' add up to {total:g}, not 1",
                           key=True)
        tiers = ivr.customers.tiers
        if tiers and abs(sum(tiers.values()) - 1.0) > _PROBABILITY_SLACK:
            self.error(("ivr", "customers", "tiers"),
                       f"the tier probabilities add up to {sum(tiers.values()):g}, not 1",
                       key=True)

    def _agents(self, agents: AgentsSpec) -> None:
        routing = self.deployment.routing
        if routing is None:
            return
        skills = set(routing.skills)
        if agents.synthetic is not None:
            for skill, level in agents.synthetic.skills.items():
                path = ("agents", "synthetic", "skills", skill)
                if skill not in skills:
                    self.error(path, f"synthetic agents have skill '{skill}', which routing.yaml "
                               f"does not define{did_you_mean(skill, skills)}", key=True)
                elif not 1 <= level <= 10:
                    self.error(path, f"level {level} for skill '{skill}' is impossible; levels "
                               "run 1 to 10")
        names: set[str] = set()
        for index, shift in enumerate(agents.shifts):
            base = ("agents", "shifts", index)
            if not _NAME.match(shift.name):
                self.error((*base, "name"), f"shift name {shift.name!r} must start with a "
                           "lower-case letter and use only a-z, 0-9 and '_'")
            if shift.name in names:
                self.error((*base, "name"), f"shift '{shift.name}' is defined twice")
            names.add(shift.name)
            if not _CLOCK.match(shift.start):
                self.error((*base, "start"), f"start {shift.start!r} must be a time like "
                           "'06:00' (24-hour clock)")
            for d_index, day in enumerate(shift.days):
                if day not in DAYS:
                    self.error((*base, "days", d_index), f"'{day}' is not a day; use "
                               f"{', '.join(DAYS)}")
            for b_index, pause in enumerate(shift.breaks):
                if pause.after_h * 60 + pause.minutes > shift.hours * 60:
                    self.error((*base, "breaks", b_index), f"a break {pause.after_h:g} h into "
                               f"shift '{shift.name}' ends after the shift's {shift.hours:g} h")
            for a_index, entry in enumerate(shift.agents):
                try:
                    expand_agents([entry], [a.id for a in routing.agents])
                except ValueError as exc:
                    self.error((*base, "agents", a_index), str(exc))


def expand_agents(entries: list[str], known: list[str]) -> list[str]:
    """``['a001-a003', 'a010']`` -> ``['a001', 'a002', 'a003', 'a010']`` (positions in
    ``known``); raises ValueError naming an unknown id or a backwards range."""
    position = {agent: i for i, agent in enumerate(known)}
    out: list[str] = []
    for entry in entries:
        first, dash, last = entry.partition("-") if entry not in position else (entry, "", "")
        for name in (first, last) if dash else (first,):
            if name not in position:
                raise ValueError(f"agent '{name}' is not in routing.yaml"
                                 f"{did_you_mean(name, known)}")
        if dash:
            lo, hi = position[first], position[last]
            if hi < lo:
                raise ValueError(f"range '{entry}' runs backwards; write '{last}-{first}'")
            out.extend(known[lo:hi + 1])
        else:
            out.append(first)
    return out


def sample_path(deployment: Deployment, document: YamlDocument, file: str) -> Path:
    """A sample file named in a scenario: relative to the scenario file's folder."""
    path = Path(file)
    if path.is_absolute():
        return path
    return (document.path.parent if document.path else deployment.root / "sim") / path


def normalised(values: list[float], size: int) -> list[float]:
    """Profile factors with mean 1 (``[1.0] * size`` when none are given)."""
    if not values:
        return [1.0] * size
    mean = math.fsum(values) / len(values)
    return [v / mean for v in values]


def load_scenario(name: str, config: Path | str | None = None) -> Scenario:
    """The scenario ``name`` (a file stem in ``<config>/sim/``, or a path to a YAML file) with
    its deployment loaded and validated; raises ConfigError listing every problem in the parts a
    simulation uses (settings, routing, hours, IVR flows, scenarios; not QA forms, say).

    ``config`` defaults to the folder holding the file's ``sim/`` folder, else ``config``.
    """
    from hotline.config.diagnostics import Diagnostic
    from hotline.config.loader import load_deployment
    from hotline.config.yamlsource import load_yaml
    from hotline.deployment import section_loaders
    from sim.errors import ScenarioError

    path = Path(name)
    is_file = path.suffix in (".yaml", ".yml")
    if config is None:
        config = path.resolve().parent.parent if is_file and path.parent.name == "sim" \
            else Path("config")
    root = Path(config)
    deployment = load_deployment(root, {**section_loaders(), "sim": load_section},
                                 raise_on_error=False)
    scenarios: dict[str, Scenario] = deployment.sections.get("sim") or {}
    found: Scenario | None = None
    if is_file:
        inside = path.resolve().parent == (root / "sim").resolve()
        if inside:
            found = scenarios.get(path.stem)
        else:
            document = load_yaml(path, str(path))
            if isinstance(document, Diagnostic):
                deployment.diagnostics.add(document)
            else:
                found = load_document(deployment, document, deployment.diagnostics)
    else:
        found = scenarios.get(name)
    used = [d for d in deployment.diagnostics.errors
            if d.file in ("hotline.yaml", "routing.yaml", "hours.yaml")
            or d.file.startswith(("ivr/", "sim/")) or d.file == str(path)]
    if used:
        from hotline.config.diagnostics import ConfigError

        raise ConfigError(used)
    if found is None:
        known = ", ".join(sorted(scenarios)) or "none"
        raise ScenarioError(f"there is no scenario '{name}' in {root / 'sim'} (scenarios: "
                            f"{known}); give a name or a path to a YAML file")
    return found
