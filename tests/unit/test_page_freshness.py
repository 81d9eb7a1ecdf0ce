"""pagecache.freshness: how long a page may be used without asking the index again."""

from __future__ import annotations

import pytest

from envsync.index.pagecache import freshness


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Cache-Control": "max-age=600"}, 600),
        ({"Cache-Control": "max-age=600, public"}, 600),
        ({"Cache-Control": "public,max-age=60"}, 60),
        ({"Cache-Control": 'max-age="30"'}, 30),
        ({"Cache-Control": "MAX-AGE=5"}, 5),
        ({"Cache-Control": "max-age=600", "Age": "100"}, 500),
        ({"Cache-Control": "max-age=60", "Age": "100"}, 0),
        ({"Cache-Control": "max-age=60", "Age": "soon"}, 60),
        ({"Cache-Control": "s-maxage=60"}, 0),
        ({"Cache-Control": "no-cache, max-age=600"}, 0),
        ({"Cache-Control": "no-store"}, None),
        ({"Cache-Control": "max-age=600, no-store"}, None),
        ({}, 0),
    ],
)
def test_freshness(headers: dict[str, str], expected: float | None) -> None:
    assert freshness(headers) == expected
