"""errors.printable: what a terminal would act on, escaped, in every message envsync prints."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envsync.errors import printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, é and \U0001f600 stay", "plain text, é and \U0001f600 stay"),
        ("two\nlines", "two\nlines"),  # the message's own line breaks
        ("group \x1e here", "group \\x1e here"),  # a record separator: splitlines splits
        ("\x1c\x1d\x85\u2028\u2029\r\x0b\x0c", "\\x1c\\x1d\\x85\\u2028\\u2029\\r\\x0b\\x0c"),
        ("\x00\x07\x1b[2J\t\x7f\x9b", "\\x00\\x07\\x1b[2J\\t\\x7f\\x9b"),  # C0, DEL, C1
        ("\u202eevil\udcff", "\\u202eevil\\udcff"),  # bidi override, lone surrogate
        ("\U000e0001 tag", "\\U000e0001 tag"),
    ],
)
def test_printable_escapes_what_a_terminal_would_act_on(text: str, shown: str):
    assert printable(text) == shown


@given(st.text())
def test_printable_text_keeps_exactly_its_own_lines(text: str):
    shown = printable(text)
    assert shown.splitlines() == shown.split("\n")[: len(shown.splitlines())]
    assert len(shown.split("\n")) == len(text.split("\n"))
    assert all(line.isprintable() for line in shown.split("\n"))


@given(st.text())
def test_one_line_text_is_one_printable_line(text: str):
    shown = printable(text, one_line=True)
    assert shown.isprintable()
    assert printable(text) == shown or "\n" in text


def test_one_line_escapes_the_line_break_too():
    assert printable("a\nb\x1b", one_line=True) == "a\\nb\\x1b"
