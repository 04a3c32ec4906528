"""The screen-pop builder: what reaches the agent's screen, and what never does."""

from __future__ import annotations

import datetime as dt
import decimal
import json

from api_support import check
from hypothesis import given
from hypothesis import strategies as st

from cti.pop import build_pop, looks_like_card, pop_for_offer, pop_for_request
from cti.ports import QueueRequest, to_message
from cti.schemas import ws_messages_schema

SCHEMA = ws_messages_schema()
AT = 1_763_800_000.0
REQUEST = QueueRequest(
    type="queue_request", contact="1763800000.42", channel="PJSIP/trunk-00000042",
    caller_id="+4930123456", queue="billing", skills={"de": 1}, priority=2,
    attributes={"reason": "invoice", "account": "0012345678"}, customer_id="C-1001",
    ivr_path=["greeting", "lookup", "reason", "account"],
    inputs={"reason": "2", "account": "0012345678", "pin": "****"}, language="de", at=AT)
ERIKA = {"id": "C-1001", "name": "Erika Muster", "tier": "gold", "balance": 42.5,
         "customer_since": dt.date(2019, 4, 1), "credit": decimal.Decimal("12.30")}


def luhn_complete(body: str) -> str:
    """``body`` plus the check digit that makes it pass the Luhn test."""
    for digit in "0123456789":
        if looks_like_card(body + digit):
            return body + digit
    raise AssertionError(body)


def test_a_pop_carries_queue_path_inputs_attributes_customer_and_wait() -> None:
    pop = pop_for_request(REQUEST, pop_id="p1", call_id="1763800000.40", agent="a01",
                          customer=ERIKA, now=AT + 47.25)
    message = to_message(pop)
    assert message == {
        "type": "pop", "pop_id": "p1", "call_id": "1763800000.40", "contact": "1763800000.42",
        "agent": "a01", "queue": "billing", "caller_id": "+4930123456", "wait_s": 47.25,
        "customer": {"id": "C-1001", "name": "Erika Muster", "tier": "gold", "balance": 42.5,
                     "customer_since": "2019-04-01", "credit": 12.3},
        "ivr_path": ["greeting", "lookup", "reason", "account"],
        "inputs": {"reason": "2", "account": "0012345678", "pin": "****"},
        "attributes": {"reason": "invoice", "account": "0012345678"},
        "sent_at": AT + 47.25,
    }
    assert check(SCHEMA, json.loads(json.dumps(message))) == []


def test_an_unknown_caller_gets_a_pop_without_a_record_and_no_negative_wait() -> None:
    pop = pop_for_request(REQUEST, pop_id="p2", call_id="c", agent="a01", customer=None,
                          now=AT - 3)  # clocks of two machines disagree a little
    assert pop.customer is None and pop.wait_s == 0.0
    assert check(SCHEMA, to_message(pop)) == []


def test_inputs_and_attributes_named_sensitive_are_masked_again() -> None:
    pop = pop_for_request(REQUEST, pop_id="p3", call_id="c", agent="a01", customer=None,
                          now=AT, sensitive={"account"})
    assert pop.inputs == {"reason": "2", "account": "**********", "pin": "****"}
    assert pop.attributes == {"reason": "invoice", "account": "**********"}


def test_a_card_number_the_flow_forgot_to_mark_is_masked_anyway() -> None:
    card = "4111 1111 1111 1111"
    pop = build_pop(pop_id="p4", call_id="c", agent="a01", contact="k", queue="q",
                    caller_id="", wait_s=1, customer=None, ivr_path=[],
                    inputs={"card": card.replace(" ", ""), "amount": "4111111111111112"},
                    attributes={"card": card, "note": None}, now=AT)
    assert pop.inputs == {"card": "*" * 16, "amount": "4111111111111112"}  # Luhn fails
    assert pop.attributes == {"card": "*" * 19, "note": None}


@given(st.from_regex(r"[1-9][0-9]{11,17}", fullmatch=True))
def test_every_luhn_valid_card_number_is_masked(body: str) -> None:
    number = luhn_complete(body)
    pop = build_pop(pop_id="p", call_id="c", agent="a", contact="k", queue="q", caller_id="",
                    wait_s=0, customer=None, ivr_path=[], inputs={"x": number},
                    attributes={"y": int(number)}, now=AT)
    assert set(pop.inputs["x"]) == {"*"} and len(pop.inputs["x"]) == len(number)
    assert set(str(pop.attributes["y"])) == {"*"}


@given(st.text("0123456789", min_size=1, max_size=12))
def test_short_numbers_such_as_menu_choices_and_accounts_are_shown(value: str) -> None:
    pop = build_pop(pop_id="p", call_id="c", agent="a", contact="k", queue="q", caller_id="",
                    wait_s=0, customer=None, ivr_path=[], inputs={"x": value},
                    attributes={}, now=AT)
    assert pop.inputs["x"] == value


def test_the_routing_engines_offer_fields_make_the_same_pop() -> None:
    fields = {"contact": REQUEST.contact, "queue": "billing", "caller_id": "+4930123456",
              "wait_s": 47.25, "customer_id": "C-1001", "ivr_path": list(REQUEST.ivr_path),
              "inputs": dict(REQUEST.inputs), "attributes": dict(REQUEST.attributes)}
    from_offer = pop_for_offer(fields, pop_id="p1", call_id="c", agent="a01", customer=ERIKA,
                               now=AT + 47.25)
    from_request = pop_for_request(REQUEST, pop_id="p1", call_id="c", agent="a01",
                                   customer=ERIKA, now=AT + 47.25)
    assert from_offer == from_request
