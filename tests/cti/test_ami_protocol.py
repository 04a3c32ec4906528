"""The sans-I/O AMI parser and encoder, on real transcripts and on edge cases."""

from __future__ import annotations

import pytest
from ami_replay import AMI_TRANSCRIPTS, FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami.actions import Action, login
from cti.ami.protocol import AmiMessage, AmiParser, Banner, encode_message
from cti.ami.transcript import client_bytes, server_bytes
from cti.errors import AmiEncodeError, AmiParseError


def parse_all(data: bytes, chunks: list[int] | None = None, *, banner: bool = True) -> list:
    parser = AmiParser(expect_banner=banner)
    out: list = []
    if chunks is None:
        parser.receive_data(data)
        out.extend(parser.messages())
    else:
        pos = 0
        for size in chunks:
            parser.receive_data(data[pos:pos + size])
            pos += size
            out.extend(parser.messages())
        parser.receive_data(data[pos:])
        out.extend(parser.messages())
    parser.receive_data(b"")
    assert parser.at_eof
    return out


def test_banner_then_messages_with_crlf_framing() -> None:
    messages = parse_all(server_bytes(FIXTURES / "hotline_resync.txt"))
    assert messages[0] == Banner("11.0.0")
    login_ok = messages[1]
    assert login_ok.kind == "response" and login_ok.name == "Success"
    assert login_ok.get("ActionID") == "login-h5"
    assert login_ok.get("Message") == "Authentication accepted"
    # Empty values ("AccountCode: ") are kept as empty strings, not dropped.
    chan = next(m for m in messages[1:] if m.name == "CoreShowChannel")
    assert chan.get("AccountCode") == "" and "AccountCode" in chan
    assert chan.get("BridgeId") == "66150342-d0d2-4999-bc7c-0e23fe26d972"


def test_every_transcript_parses_completely_in_both_directions() -> None:
    for name in AMI_TRANSCRIPTS:
        server = parse_all(server_bytes(FIXTURES / name))
        assert isinstance(server[0], Banner), name
        assert all(m.kind in ("event", "response") for m in server[1:]), name
        client = parse_all(client_bytes(FIXTURES / name), banner=False)
        assert client and all(m.kind == "action" for m in client), name
        assert client[0].name == "Login"


def test_event_with_response_field_is_still_an_event() -> None:
    messages = parse_all(server_bytes(FIXTURES / "ami_originate.txt"))
    originate_responses = [m for m in messages[1:] if m.name == "OriginateResponse"]
    assert [m.kind for m in originate_responses] == ["event", "event"]
    assert [m.get("Response") for m in originate_responses] == ["Success", "Failure"]


def test_duplicate_keys_are_kept_in_order_for_command_output() -> None:
    data = (b"Response: Success\r\nActionID: c1\r\nMessage: Command output follows\r\n"
            b"Output: Name/username   Host\r\nOutput: 1001/1001   127.0.0.1\r\n"
            b"Output: \r\n\r\n")
    (message,) = parse_all(data, banner=False)
    assert message.get("Output") == "Name/username   Host"
    assert message.get_all("Output") == ["Name/username   Host", "1001/1001   127.0.0.1", ""]


def test_legacy_follows_body_becomes_output_lines() -> None:
    data = (b"Response: Follows\r\nPrivilege: Command\r\nActionID: c2\r\n"
            b"Asterisk 1.8 uptime\r\n--END COMMAND--\r\n\r\n")
    (message,) = parse_all(data, banner=False)
    assert message.get_all("Output") == ["Asterisk 1.8 uptime"]


def test_lookup_is_case_insensitive_after_exact_match() -> None:
    (message,) = parse_all(b"Event: X\r\nActionId: a-1\r\nKey: 1\r\n\r\n", banner=False)
    assert message.get("ActionID") == "a-1" and message.get("KEY") == "1"
    assert message.get("missing") is None
    # The hot-path property uses Asterisk's own spelling only.
    assert message.action_id is None


def test_malformed_line_raises_typed_error_and_parser_continues() -> None:
    parser = AmiParser(expect_banner=False)
    parser.receive_data(b"Event: Bad\r\nthis is not a field\r\n\r\nEvent: Good\r\nA: 1\r\n\r\n")
    with pytest.raises(AmiParseError, match="this is not a field"):
        parser.next_message()
    good = parser.next_message()
    assert isinstance(good, AmiMessage) and good.name == "Good"


def test_wrong_banner_is_a_typed_error() -> None:
    parser = AmiParser()
    parser.receive_data(b"SSH-2.0-OpenSSH_9.6\r\n")
    with pytest.raises(AmiParseError, match="OpenSSH"):
        parser.next_message()


def test_bare_lf_framing_is_tolerated() -> None:
    (message,) = parse_all(b"Event: Hangup\nUniqueid: 1.2\nCause: 16\n\n", banner=False)
    assert message.get("Cause") == "16"


def test_partial_message_is_not_at_eof() -> None:
    parser = AmiParser(expect_banner=False)
    parser.receive_data(b"Event: Hangup\r\nUniqueid: 1.2\r\n")
    parser.receive_data(b"")
    assert parser.next_message() is None
    assert not parser.at_eof


def test_encode_refuses_line_breaks_in_values() -> None:
    with pytest.raises(AmiEncodeError, match="Channel"):
        encode_message([("Action", "Hangup"), ("Channel", "PJSIP/1001\r\nAction: Originate")])
    with pytest.raises(AmiEncodeError):
        encode_message([("Bad: key", "x")])


def test_action_encoding_and_secret_redaction() -> None:
    action = login("cti", "s3cret").with_id("login-1")
    data = action.encode()
    assert data.startswith(b"Action: Login\r\nActionID: login-1\r\nUsername: cti\r\n")
    assert data.endswith(b"\r\n\r\n")
    assert "s3cret" not in repr(action) and "***" in repr(action)
    (parsed,) = parse_all(data, banner=False)
    assert parsed.get("Secret") == "s3cret"


fields_strategy = st.lists(
    st.tuples(st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,12}", fullmatch=True),
              st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                      max_size=20).map(str.strip)),
    min_size=1, max_size=8)


@given(st.lists(fields_strategy, min_size=1, max_size=5))
def test_encode_then_parse_round_trips(messages: list[list[tuple[str, str]]]) -> None:
    data = b"".join(encode_message([("Event", "T"), *m]) for m in messages)
    parsed = parse_all(data, banner=False)
    assert [p.fields for p in parsed] == [(("Event", "T"), *m) for m in messages]


STREAMS = {name: server_bytes(FIXTURES / name) for name in AMI_TRANSCRIPTS}
WHOLE = {name: parse_all(data) for name, data in STREAMS.items()}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(STREAMS)), st.lists(st.integers(1, 700), max_size=400))
def test_chunking_never_changes_the_result(name: str, chunks: list[int]) -> None:
    assert parse_all(STREAMS[name], chunks) == WHOLE[name]


def test_byte_at_a_time_matches_whole_stream() -> None:
    data = STREAMS["hotline_resync.txt"]
    assert parse_all(data, [1] * len(data)) == WHOLE["hotline_resync.txt"]


def test_action_dataclass_is_frozen() -> None:
    action = Action("Ping")
    with pytest.raises(AttributeError):
        action.name = "Pong"  # type: ignore[misc]
