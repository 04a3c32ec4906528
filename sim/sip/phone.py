"""``hotline phone``: a softphone on the terminal, for an administrator testing a deployment.

It registers one extension with the PBX and reads commands, one per line::

    dial 2000            call an extension at the PBX (or a full sip: URI)
    answer               answer the ringing call
    reject [CODE]        refuse it (486 Busy Here by default)
    dtmf 1234#           send RFC 4733 digits on the current call
    hangup               end the current call
    sleep 1.5            wait (handy when commands come from a file or a pipe)
    status | help | quit

What happens on the line (registration, ringing, answer, digits received, hang-up with its SIP
status) is printed as it arrives. Audio goes nowhere unless ``--sound`` asks for the default
sound card; without it the phone still proves signalling and DTMF.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
from typing import TextIO

from sim.sip.errors import SipError
from sim.sip.events import (
    CallEnded,
    CallStateChanged,
    DtmfReceived,
    IncomingCall,
    MediaReady,
    RegistrationChanged,
    SipEvent,
    UserAgentFailed,
)
from sim.sip.useragent import AccountSpec, UaSettings, UserAgent

PASSWORD_ENV = "HOTLINE_SIP_PASSWORD"
HELP = "commands: dial N | answer | reject [CODE] | dtmf DIGITS | hangup | sleep S | status | quit"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", required=True, help="extension to register, e.g. 1001")
    parser.add_argument("--pbx", required=True, metavar="HOST[:PORT]", help="registrar / PBX")
    parser.add_argument("--password", help=f"SIP password (or ${PASSWORD_ENV})")
    parser.add_argument("--transport", choices=("udp", "tcp"), default="udp")
    parser.add_argument("--bind", default="127.0.0.1", help="local address for SIP and RTP")
    parser.add_argument("--port", type=int, default=0, help="local SIP port (0: any)")
    parser.add_argument("--no-register", action="store_true",
                        help="do not REGISTER (calls straight to a host, no registrar)")
    parser.add_argument("--sound", action="store_true", help="use the default sound card")


class Softphone:
    """Turns typed commands into user agent calls and events into lines of text."""

    def __init__(self, ua: UserAgent, account: int, pbx: str, out: TextIO) -> None:
        self._ua = ua
        self._account = account
        self._pbx = pbx
        self._out = out
        self._call: int | None = None
        self._ringing: int | None = None

    def say(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def on_event(self, event: SipEvent) -> None:
        if isinstance(event, RegistrationChanged):
            state = "registered" if event.code // 100 == 2 and event.expires else "unregistered"
            self.say(f"[{state}] {event.code} {event.reason}")
        elif isinstance(event, IncomingCall):
            self._ringing = event.call
            self._ua.ring(event.call)
            self.say(f"[incoming] from {event.remote_uri}: type 'answer' or 'reject'")
        elif isinstance(event, CallStateChanged):
            self.say(f"[{event.phase.value}] {event.code} {event.reason}".rstrip())
        elif isinstance(event, MediaReady):
            self.say("[media] audio up")
        elif isinstance(event, DtmfReceived):
            self.say(f"[dtmf] {event.digit}")
        elif isinstance(event, CallEnded):
            self.say(f"[ended] {event.code} {event.reason} after {event.connected_s:.1f} s")
            if event.call == self._call:
                self._call = None
            if event.call == self._ringing:
                self._ringing = None
        elif isinstance(event, UserAgentFailed):
            self.say(f"[failed] {event.error}")

    def command(self, line: str) -> bool:
        """Carry out one command line; False once the user asked to quit."""
        verb, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        try:
            return self._dispatch(verb.lower(), rest)
        except SipError as error:
            self.say(f"error: {error}")
            return True

    def _dispatch(self, verb: str, rest: str) -> bool:
        if verb in ("", "#"):
            return True
        if verb in ("quit", "exit"):
            return False
        if verb == "dial":
            if not rest:
                raise SipError("dial needs a number or a sip: URI, e.g. dial 2000")
            uri = rest if rest.startswith("sip:") else f"sip:{rest}@{self._pbx}"
            self._call = self._ua.make_call(self._account, uri)
            self.say(f"[dialling] {uri}")
        elif verb == "answer":
            self._call = self._take_ringing()
            self._ua.answer(self._call)
        elif verb == "reject":
            self._ua.reject(self._take_ringing(), int(rest) if rest.isdigit() else 486)
        elif verb == "dtmf":
            self._ua.send_dtmf(self._current(), rest)
        elif verb == "hangup":
            self._ua.hangup(self._current())
        elif verb == "sleep":
            time.sleep(float(rest or 1))
        elif verb == "status":
            self.say(f"call {self._call}, ringing {self._ringing}, "
                     f"{self._ua.live_calls()} call(s) up")
        else:
            self.say(HELP)
        return True

    def _take_ringing(self) -> int:
        if self._ringing is None:
            raise SipError("no call is ringing")
        call, self._ringing = self._ringing, None
        return call

    def _current(self) -> int:
        if self._call is None:
            raise SipError("no current call: dial or answer first")
        return self._call


def run(args: argparse.Namespace) -> int:
    """The ``hotline phone`` handler: stdin commands, stdout events, until quit or EOF."""
    settings = UaSettings(bind_host=args.bind,
                          udp_port=args.port if args.transport == "udp" else None,
                          tcp_port=args.port if args.transport == "tcp" else None,
                          log_level=1, sound_device=args.sound, user_agent="Hotline-phone/0.1")
    password = args.password or os.environ.get(PASSWORD_ENV)
    lines: queue.Queue[str | None] = queue.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            lines.put(line)
        lines.put(None)

    with UserAgent(settings) as ua:
        account = ua.add_account(AccountSpec(args.user, args.pbx, password,
                                             register=not args.no_register,
                                             transport=args.transport))
        phone = Softphone(ua, account, args.pbx, sys.stdout)
        phone.say(f"phone {args.user} on {args.bind}:{ua.udp_port or ua.tcp_port}; {HELP}")
        threading.Thread(target=read_stdin, name="stdin", daemon=True).start()
        while True:
            event = ua.next_event(0.05)
            while event is not None:
                phone.on_event(event)
                event = ua.next_event(0)
            try:
                line = lines.get_nowait()
            except queue.Empty:
                continue
            if line is None or not phone.command(line):
                break
        # Give a final hang-up's BYE and its answer a moment before the endpoint goes.
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and ua.live_calls():
            event = ua.next_event(0.05)
            if event is not None:
                phone.on_event(event)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hotline phone", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
