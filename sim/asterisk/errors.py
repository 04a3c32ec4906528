"""Errors raised by the Asterisk stand-in (``sim.asterisk``).

The stand-in reports protocol-level failures to its AMI clients as ``Response: Error`` messages,
exactly like Asterisk; the exceptions below are for the *test API* (the Python calls a test or
``hotline demo`` makes) and for failed FastAGI sessions::

    HotlineError                        (hotline.errors)
     └── SimError                       (sim.errors)
          └── StandinError              any misuse of the stand-in's test API
               ├── UnknownChannelError  no live channel by that name or Uniqueid
               ├── ActionFailed         an operation Asterisk would refuse (carries the AMI message)
               ├── WaitTimeout          world.wait_for() did not see its condition in time
               └── FastAgiError         the FastAGI server broke the protocol
"""

from __future__ import annotations

from sim.errors import SimError


class StandinError(SimError):
    """Root of every error raised by the Asterisk stand-in's test API."""

    error_id = "standin_error"


class UnknownChannelError(StandinError):
    """No live channel has that name or Uniqueid."""

    error_id = "standin_unknown_channel"


class ActionFailed(StandinError):
    """An operation Asterisk would refuse; ``str(err)`` is the AMI ``Message:`` it would send."""

    error_id = "standin_action_failed"


class WaitTimeout(StandinError):
    """A ``wait_for`` condition did not become true within its timeout."""

    error_id = "standin_wait_timeout"


class FastAgiError(StandinError):
    """The FastAGI server sent something that is not an AGI command line."""

    error_id = "standin_fastagi_error"
