"""The message strategies cover the whole catalogue, and what they draw round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playbill.runtime.model._entry import decode_entry, encode_entry
from playbill.runtime.model._messages import Message, message_types
from strategies import MESSAGE_STRATEGIES, entries_of, messages


def test_every_member_of_the_union_has_a_strategy() -> None:
    assert list(MESSAGE_STRATEGIES) == list(message_types())


@pytest.mark.slow
@given(st.data())
def test_every_member_is_drawn_and_round_trips(data: st.DataObject) -> None:
    for cls, strategy in MESSAGE_STRATEGIES.items():
        msg = data.draw(strategy, label=cls.__name__)
        assert type(msg) is cls
        (entry,) = entries_of("run", [msg])
        assert decode_entry(encode_entry(entry)) == entry


@given(st.lists(messages(), max_size=5))
def test_drawn_messages_round_trip_in_entries(msgs: list) -> None:
    for entry in entries_of("run", msgs):
        data = encode_entry(entry)
        assert decode_entry(data) == entry
        assert encode_entry(decode_entry(data)) == data


@given(st.from_type(Message))
def test_from_type_draws_any_message(msg: Message) -> None:
    assert type(msg) in MESSAGE_STRATEGIES
