"""The Asterisk stand-in: AMI server, emulated Hotline dialplan, FastAGI client, scripted world.

A test and demo harness, not a PBX (ARCHITECTURE.md, decision 4). See docs/standin.md.
"""

from sim.asterisk.clock import ScaledClock
from sim.asterisk.errors import (
    ActionFailed,
    FastAgiError,
    StandinError,
    UnknownChannelError,
    WaitTimeout,
)
from sim.asterisk.fastagi import AgiChannelInfo, AgiSessionResult, CallerInput, FastAgiClient
from sim.asterisk.mixmonitor import Recording
from sim.asterisk.pbx import Pbx
from sim.asterisk.standin import AsteriskStandin
from sim.asterisk.world import (
    AgentScript,
    CallerScript,
    SimulatedAgent,
    SimulatedCaller,
    World,
    WorldEvent,
)

__all__ = [
    "ActionFailed", "AgentScript", "AgiChannelInfo", "AgiSessionResult", "AsteriskStandin",
    "CallerInput", "CallerScript", "FastAgiClient", "FastAgiError", "Pbx", "Recording",
    "ScaledClock", "SimulatedAgent", "SimulatedCaller", "StandinError", "UnknownChannelError",
    "WaitTimeout", "World", "WorldEvent",
]
