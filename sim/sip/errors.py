"""Errors of the SIP traffic layer (pjsua2 user agents, load generator, softphone).

pjsua2 raises ``pjsua2.Error`` (a C++ exception wrapped by SWIG) and, worse, aborts the whole
process on some assertion failures (an account past the build's limit, an account without a
transport). This layer checks those limits itself and translates ``pjsua2.Error`` at exactly one
boundary (``sim.sip.useragent``), so callers only ever see the tree below::

    HotlineError
     └── SipError
          ├── SipUnavailable         pjsua2 is not installed (the optional extra ``sip``)
          ├── EndpointBusy           a second user agent in a process that already has one
          ├── SipLimitExceeded       accounts or calls past what one process can hold
          ├── SipOperationFailed     pjsua2 refused an operation (carries its status text)
          ├── UnknownCall            a call handle that is not (or no longer) live
          ├── UserAgentStopped       the user agent is closed or its event pump died
          ├── AudioFileError         a WAV file that is missing or not 16-bit mono PCM
          ├── LoadPlanError          a traffic plan or CLI option that makes no sense
          ├── LoadRunError           a worker process died or did not start in time
          └── PopListenerError       the screen-pop WebSocket refused us or spoke nonsense
"""

from __future__ import annotations

from hotline.errors import HotlineError


class SipError(HotlineError):
    """Root of the SIP traffic layer's errors."""

    error_id = "sip_error"


class SipUnavailable(SipError):
    """pjsua2 cannot be imported."""

    error_id = "sip_unavailable"


class EndpointBusy(SipError):
    """pjsua is a process-wide singleton: one user agent per process."""

    error_id = "sip_endpoint_busy"


class SipLimitExceeded(SipError):
    """More accounts or calls than the pjsua2 build allows in one process."""

    error_id = "sip_limit_exceeded"


class SipOperationFailed(SipError):
    """pjsua2 returned an error status for an operation."""

    error_id = "sip_operation_failed"


class UnknownCall(SipError):
    """The call handle does not name a live call."""

    error_id = "sip_unknown_call"


class UserAgentStopped(SipError):
    """The user agent is not running (closed, or its pump thread failed)."""

    error_id = "sip_user_agent_stopped"


class AudioFileError(SipError):
    """A WAV file cannot be played, recorded or analysed."""

    error_id = "sip_audio_file"


class LoadPlanError(SipError):
    """A call plan, or the options it is built from, is inconsistent."""

    error_id = "sip_load_plan"


class LoadRunError(SipError):
    """The load run could not be carried out (worker processes, responders)."""

    error_id = "sip_load_run"


class PopListenerError(SipError):
    """The agent-side screen-pop WebSocket could not be used."""

    error_id = "sip_pop_listener"
