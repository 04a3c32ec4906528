"""The only module that subclasses pjsua2 types; imported lazily, on the pump thread only.

Each subclass forwards its callback to the ``UserAgent``'s pump-side ``_Core`` with plain Python
values, inside ``_guarded`` so that a bug in our code becomes a recorded fault instead of a
Python exception unwinding through SWIG's C++ director (which prints and carries on, silently).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import pjsua2 as pj

PJ = pj

PHASES = {
    pj.PJSIP_INV_STATE_CALLING: "calling",
    pj.PJSIP_INV_STATE_INCOMING: "incoming",
    pj.PJSIP_INV_STATE_EARLY: "early",
    pj.PJSIP_INV_STATE_CONNECTING: "connecting",
    pj.PJSIP_INV_STATE_CONFIRMED: "confirmed",
    pj.PJSIP_INV_STATE_DISCONNECTED: "disconnected",
}

DTMF_METHODS = {pj.PJSUA_DTMF_METHOD_RFC2833: "rfc4733", pj.PJSUA_DTMF_METHOD_SIP_INFO: "info"}

# pjlib levels: 1 error, 2 warning, 3 info, 4-6 increasingly chatty debug.
_LEVELS = {0: logging.CRITICAL, 1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO}


class Core(Protocol):
    """What the pump-side core of the user agent offers to the callbacks."""

    def fault(self, error: BaseException) -> None: ...
    def on_reg_state(self, account: int, code: int, reason: str, expires: int) -> None: ...
    def on_incoming_call(self, account: int, pj_call_id: int, whole_msg: str) -> None: ...
    def on_call_state(self, handle: int, info: pj.CallInfo) -> None: ...
    def on_call_media(self, handle: int, call: SipCall) -> None: ...
    def on_dtmf(self, handle: int, digit: str, method: int) -> None: ...


def _guarded(core: Core, action: Callable[[], None]) -> None:
    try:
        action()
    except Exception as error:  # reported to the owner as UserAgentFailed, never lost
        core.fault(error)


class LogBridge(pj.LogWriter):
    """Routes pjsua's log lines (from any pjlib thread) into ``logging``."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        self._logger = logger

    def write(self, entry: pj.LogEntry) -> None:
        level = _LEVELS.get(entry.level, logging.DEBUG)
        if self._logger.isEnabledFor(level):
            self._logger.log(level, "%s", entry.msg.rstrip())


class SipAccount(pj.Account):
    def __init__(self, core: Core, handle: int) -> None:
        super().__init__()
        self.core = core
        self.handle = handle

    def onRegState(self, prm: pj.OnRegStateParam) -> None:
        _guarded(
            self.core,
            lambda: self.core.on_reg_state(self.handle, prm.code, prm.reason, prm.expiration),
        )

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        _guarded(
            self.core,
            lambda: self.core.on_incoming_call(self.handle, prm.callId, prm.rdata.wholeMsg),
        )


class SipCall(pj.Call):
    def __init__(self, core: Core, account: SipAccount, handle: int, pj_call_id: int) -> None:
        super().__init__(account, pj_call_id)
        self.core = core
        self.handle = handle

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        _guarded(self.core, lambda: self.core.on_call_state(self.handle, self.getInfo()))

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        _guarded(self.core, lambda: self.core.on_call_media(self.handle, self))

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        _guarded(self.core, lambda: self.core.on_dtmf(self.handle, prm.digit, prm.method))


def active_audio(call: SipCall) -> pj.AudioMedia | None:
    """The call's active audio stream as a conference port, or None while there is none."""
    info = call.getInfo()  # keep it alive: ``media`` is a view into it, not a copy
    for media in info.media:
        if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
            return call.getAudioMedia(media.index)
    return None
