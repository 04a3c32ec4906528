"""The FastAGI wire format, checked against the transcript recorded from Asterisk 22."""

from __future__ import annotations

import pytest
from fastagi_fake import transcript

from ivr.agi import AgiReply, EnvironmentParser, ReplyParser, format_command, quote
from ivr.errors import AgiProtocolError, CallerHungUp


def test_environment_from_the_recording() -> None:
    parser = EnvironmentParser()
    lines = [text for direction, text in transcript() if direction == "<<<"]
    done_at = next(i for i, line in enumerate(lines) if parser.feed(line))
    env = parser.environment()
    assert done_at == 22  # 22 agi_* lines, then the blank line
    assert env.flow == "main"
    assert (env.uniqueid, env.channel, env.caller_id) == ("1795351674.2", "PJSIP/2001-00000002",
                                                          "2001")
    assert (env.caller_name, env.dnid, env.language) == ("Caller 2001", "100", "en")
    assert env.get("accountcode") == ""
    assert env.get("rdnis") == "unknown"


def test_every_recorded_reply_parses() -> None:
    lines = transcript()
    start = next(i for i, (d, text) in enumerate(lines) if d == "<<<" and text == "\n") + 1
    replies: dict[str, AgiReply] = {}
    command = ""
    for direction, text in lines[start:]:
        if direction == ">>>":
            command = text.rstrip("\n")
        else:
            reply = ReplyParser().feed(text)
            assert reply is not None
            replies[command] = reply
    assert replies["ANSWER"] == AgiReply(200, "0", None, "", "200 result=0")
    assert replies["GET VARIABLE CALLERID(num)"].data == "2001"
    assert replies["GET FULL VARIABLE ${CHANNEL}-${UNIQUEID}"].data == \
        "PJSIP/2001-00000002-1795351674.2"
    assert replies['STREAM FILE hello-world ""'].extra == "endpos=11234"
    assert replies["GET DATA beep 6000 4"].result == "42"
    assert replies["FOO BAR"].code == 510 and not replies["FOO BAR"].ok


def test_the_commands_we_format_match_the_recorded_bytes() -> None:
    sent = [text for direction, text in transcript() if direction == ">>>"]
    assert format_command("STREAM FILE", "hello-world", "").decode() in sent
    assert format_command("GET DATA", "beep", "6000", "4").decode() in sent
    assert format_command("SET VARIABLE", "IVR_CHOICE", "42").decode() in sent
    assert format_command("VERBOSE", "IVR choice 42", "1").decode() in sent
    assert format_command("EXEC", "Playback", "beep").decode() in sent


def test_timeout_hangup_and_usage_replies() -> None:
    assert ReplyParser().feed("200 result= (timeout)\n") == AgiReply(
        200, "", "timeout", "", "200 result= (timeout)")
    assert ReplyParser().feed("200 result=12 (timeout)\n").timed_out
    with pytest.raises(CallerHungUp):
        ReplyParser().feed("HANGUP\n")
    dead = ReplyParser().feed("511 Command Not Permitted on a dead channel or intercept routine\n")
    assert dead is not None and dead.code == 511
    usage = ReplyParser()
    assert usage.feed("520-Invalid command syntax.  Proper usage follows:\n") is None
    assert usage.feed(" Usage: GET DATA <file to be streamed> [timeout] [maxdigits]\n") is None
    final = usage.feed("520 End of proper usage.\n")
    assert final is not None and final.code == 520 and "Usage: GET DATA" in final.text


@pytest.mark.parametrize("line", ["hello\n", "200 endpos=1\n", "2000 result=1\n"])
def test_garbage_is_a_protocol_error(line: str) -> None:
    with pytest.raises(AgiProtocolError):
        ReplyParser().feed(line)


def test_environment_errors() -> None:
    with pytest.raises(AgiProtocolError, match="not an AGI environment line"):
        EnvironmentParser().feed("GET / HTTP/1.1\n")
    with pytest.raises(AgiProtocolError, match="empty"):
        EnvironmentParser().feed("\n")


def test_quoting() -> None:
    assert quote("") == '""'
    assert quote("hotline/welcome") == "hotline/welcome"
    assert quote('say "hi" \\ now') == '"say \\"hi\\" \\\\ now"'
    with pytest.raises(AgiProtocolError, match="line break"):
        quote("a\nHANGUP")
