"""Errors raised by the ``sim`` package (capacity planning and simulation).

Every expected failure in ``sim`` is a :class:`SimError`, itself a
:class:`hotline.errors.HotlineError`, so the command line prints its one-line message
without a traceback. Messages name the offending value and, where it is obvious, the fix::

    HotlineError                        (hotline.errors)
     └── SimError                       any failure in sim/
          ├── AnalyticsInputError       a parameter of an Erlang formula is out of range
          ├── StaffingError             a staffing target cannot be met within the search limit
          ├── ForecastError             an intraday forecast CSV is malformed (file:line: ...)
          └── ScenarioError             a simulation scenario cannot be run (unknown name, bad
                                        sample file, a deployment with errors)
"""

from __future__ import annotations

from hotline.errors import HotlineError


class SimError(HotlineError):
    """Root of every error raised by ``sim``."""

    error_id = "sim_error"


class AnalyticsInputError(SimError):
    """A rate, time, agent count or target given to the Erlang analytics is out of range."""

    error_id = "analytics_input_error"


class StaffingError(SimError):
    """No agent count up to the search limit meets the requested targets."""

    error_id = "staffing_error"


class ForecastError(SimError):
    """An intraday forecast file is unreadable or a row is invalid; the message starts file:line."""

    error_id = "forecast_error"


class ScenarioError(SimError):
    """A simulation scenario is missing, invalid, or names data that cannot be read."""

    error_id = "scenario_error"
