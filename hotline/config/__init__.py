"""The deployment: a folder of YAML files, loaded and validated as one.

A deployment is what an administrator edits: ``hotline.yaml`` (where Hotline's servers are),
``routing.yaml`` (skills, queues, agents), ``hours.yaml`` (business-hours calendars) and the
folders ``ivr/``, ``qa/`` and ``sim/`` whose schemas belong to the packages that read them.
Every problem is reported as a :class:`~hotline.config.diagnostics.Diagnostic` that names
``file:line:column`` and says in one plain sentence what is wrong, all of a run together.
"""

from hotline.config.diagnostics import ConfigError, Diagnostic, Diagnostics
from hotline.config.yamlsource import YamlDocument, load_yaml

__all__ = ["ConfigError", "Diagnostic", "Diagnostics", "YamlDocument", "load_yaml"]
