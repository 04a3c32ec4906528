"""Errors of the IVR package.

Configuration mistakes in flow files are not exceptions: they are located diagnostics collected
by :mod:`ivr.loader` (and raised together as :class:`hotline.config.diagnostics.ConfigError`).
The exceptions below are the expected failures of running flows::

    HotlineError
     └── IvrError
          ├── ExpressionError      (an expression does not parse; carries the column)
          ├── FlowRuntimeError     (a step failed while a caller was in it: bad data, a type
          │                         mismatch in an expression; the interpreter takes the fallback)
          ├── UnknownFlowError     (a request names a flow the FlowSet does not have)
          ├── AgiProtocolError     (bytes from Asterisk that are not FastAGI)
          ├── CallerHungUp         (the channel hung up while the runtime talked to it)
          └── CustomerFileError    (the --customers CSV cannot be read)
"""

from __future__ import annotations

from hotline.errors import HotlineError


class IvrError(HotlineError):
    """Root of the IVR package's errors."""

    error_id = "ivr_error"


class ExpressionError(IvrError):
    """An expression that does not parse; ``column`` is 1-based inside the expression text."""

    error_id = "ivr_expression"

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message, details={"column": column})
        self.column = column


class FlowRuntimeError(IvrError):
    """A step could not run for a caller (bad data, type mismatch); the fallback is taken."""

    error_id = "ivr_runtime"


class UnknownFlowError(IvrError):
    error_id = "ivr_unknown_flow"
    status = 404


class AgiProtocolError(IvrError):
    error_id = "ivr_agi_protocol"


class CallerHungUp(IvrError):
    error_id = "ivr_caller_hung_up"


class CustomerFileError(IvrError):
    error_id = "ivr_customer_file"
