"""Errors of the CTI core (AMI bridge, call tracking, live engine, customer records).

Every expected failure of ``cti`` is one of these; third-party and socket exceptions are
translated at the AMI client boundary (``cti.ami.client``) and nowhere else::

    HotlineError
     └── CtiError
          ├── AmiError                        (anything on the AMI link)
          │    ├── AmiProtocolError           (bytes that are not AMI)
          │    │    ├── AmiParseError         (a malformed line or message)
          │    │    ├── AmiEventError         (an event lacks a field its type needs)
          │    │    └── AmiEncodeError        (an action value would break framing: CR/LF)
          │    ├── AmiActionError             (Asterisk answered Response: Error/Failure)
          │    │    └── AmiAuthError          (Login refused: wrong username or secret)
          │    ├── AmiActionTimeout           (no complete answer within the action's timeout)
          │    ├── AmiConnectionError         (cannot connect, or the connection was lost)
          │    │    └── AmiKeepaliveTimeout   (Ping unanswered: half-open connection)
          │    └── AmiNotConnected            (action sent while no session is logged in)
          ├── CustomerError                   (customer records: cti.customers, cti.crm)
          │    ├── CustomerImportError        (a CSV file that cannot be imported)
          │    └── CustomerLookupError        (the customer source could not answer)
          │         └── CrmError              (the CRM did not give a usable answer)
          │              ├── CrmTimeout       (no answer in time)
          │              └── CrmResponseError (an HTTP error, or not a customer as JSON)
          └── ApiError                        (the HTTP/WebSocket API: cti.api.errors)
"""

from __future__ import annotations

from pathlib import Path

from hotline.errors import HotlineError

MAX_REPORTED = 20  # import problems listed in the message; all of them are in details


class CtiError(HotlineError):
    """Root of the CTI core's errors."""

    error_id = "cti_error"
    status = 502


class AmiError(CtiError):
    """A failure on the Asterisk Manager Interface link."""

    error_id = "ami_error"


class AmiProtocolError(AmiError):
    """Bytes received from (or about to be sent to) Asterisk that are not valid AMI."""

    error_id = "ami_protocol_error"


class AmiParseError(AmiProtocolError):
    """A line or message that cannot be parsed; the parser has skipped past it."""

    error_id = "ami_parse_error"


class AmiEventError(AmiProtocolError):
    """An event lacks (or has a malformed) field that its typed form requires."""

    error_id = "ami_event_error"


class AmiEncodeError(AmiProtocolError):
    """An action field that cannot be serialised (a CR or LF would split the message)."""

    error_id = "ami_encode_error"


class AmiActionError(AmiError):
    """Asterisk refused an action (``Response: Error`` or ``Failure``).

    ``action`` and ``action_id`` name the request, ``reason`` is Asterisk's ``Message``.
    """

    error_id = "ami_action_failed"

    def __init__(self, action: str, action_id: str, reason: str) -> None:
        super().__init__(
            f"AMI action {action} ({action_id}) failed: {reason}",
            details={"action": action, "action_id": action_id, "reason": reason},
        )
        self.action = action
        self.action_id = action_id
        self.reason = reason


class AmiAuthError(AmiActionError):
    """Login refused: check the AMI username and secret (manager.conf)."""

    error_id = "ami_auth_failed"


class AmiActionTimeout(AmiError):
    """An action got no complete answer in time."""

    error_id = "ami_action_timeout"
    status = 504

    def __init__(self, action: str, action_id: str, timeout: float) -> None:
        super().__init__(
            f"AMI action {action} ({action_id}) got no answer within {timeout:g} s",
            details={"action": action, "action_id": action_id, "timeout": timeout},
        )
        self.action = action
        self.action_id = action_id
        self.timeout = timeout


class AmiConnectionError(AmiError):
    """Cannot connect to Asterisk, or the connection was lost."""

    error_id = "ami_connection_error"
    status = 503


class AmiKeepaliveTimeout(AmiConnectionError):
    """Asterisk did not answer a keep-alive Ping: the connection is treated as dead."""

    error_id = "ami_keepalive_timeout"


class AmiNotConnected(AmiError):
    """An action was sent while no AMI session is logged in."""

    error_id = "ami_not_connected"
    status = 503


class CustomerError(CtiError):
    """Root of the customer-record errors."""

    error_id = "customer_error"
    status = 400


class CustomerImportError(CustomerError):
    """A customer CSV file with problems; nothing of it was written."""

    error_id = "customer_import_invalid"
    status = 422

    def __init__(self, path: Path, problems: list[str]) -> None:
        shown = problems[:MAX_REPORTED]
        more = len(problems) - len(shown)
        text = "\n".join(shown) + (f"\n... and {more} more problem(s)" if more else "")
        super().__init__(f"cannot import {path}; nothing was written:\n{text}",
                         details={"file": str(path), "problems": problems})
        self.problems = problems


class CustomerLookupError(CustomerError):
    """The customer source could not answer (the IVR takes its fallback, the pop shows none)."""

    error_id = "customer_lookup_failed"
    status = 502


class CrmError(CustomerLookupError):
    """The CRM did not give a usable answer."""

    error_id = "crm_unavailable"


class CrmTimeout(CrmError):
    error_id = "crm_timeout"
    status = 504


class CrmResponseError(CrmError):
    error_id = "crm_bad_response"
