"""schemas/env.schema.json and the loader agree on what an env.toml may hold.

The schema checks structure: keys, types, name and URL patterns. Some rules need more than a
schema can say (PEP 440/508 syntax, uniqueness after name normalization, a venv path compared
with the spec's folder): the bad cases marked `schema = "accepts"` in cases.toml are those, and
their test pins that the schema lets them through, so a stricter schema moves them over.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from envsync.core.spec import (
    ENV_KEYS,
    ENVS_KEYS,
    INDEX_KEYS,
    INDEXES_KEYS,
    LOCK_KEYS,
    SOURCE_KEYS,
    TOP_KEYS,
    parse_spec,
)
from envsync.core.targets import PLATFORMS
from envsync.errors import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).parents[2]
SCHEMA = json.loads((REPO / "schemas" / "env.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
CASES = tomllib.loads(
    (REPO / "tests" / "data" / "specs" / "cases.toml").read_text(encoding="utf-8")
)
EXAMPLES = sorted(REPO.glob("examples/*/env.toml"))

GOOD = [pytest.param(case["text"], id=case["id"]) for case in CASES["good"]] + [
    pytest.param(path.read_text(encoding="utf-8"), id=str(path.relative_to(REPO)))
    for path in EXAMPLES
]


def _bad(verdict):
    return [
        pytest.param(case["text"], id=case["id"])
        for case in CASES["bad"]
        if case["schema"] == verdict
    ]


def _loader_accepts(text):
    try:
        parse_spec(text, path=REPO / "env.toml")
    except SpecError:
        return False
    return True


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("text", GOOD)
def test_good_spec_accepted_by_both(text):
    assert _loader_accepts(text)
    assert list(VALIDATOR.iter_errors(tomllib.loads(text))) == []


@pytest.mark.parametrize("text", _bad("rejects"))
def test_structurally_bad_spec_rejected_by_both(text):
    assert not _loader_accepts(text)
    assert not VALIDATOR.is_valid(tomllib.loads(text))


@pytest.mark.parametrize("text", _bad("accepts"))
def test_semantic_rule_only_the_loader_checks(text):
    # Schema cannot express this: see the case's `why` in cases.toml.
    assert not _loader_accepts(text)
    assert VALIDATOR.is_valid(tomllib.loads(text))


def test_schema_knows_the_loaders_keys():
    assert set(SCHEMA["properties"]) == TOP_KEYS
    assert set(SCHEMA["properties"]["env"]["properties"]) == ENV_KEYS
    assert set(SCHEMA["properties"]["index"]["properties"]) == INDEX_KEYS
    assert set(SCHEMA["$defs"]["named-index"]["properties"]) == INDEXES_KEYS
    assert set(SCHEMA["$defs"]["source"]["properties"]) == SOURCE_KEYS
    assert set(SCHEMA["properties"]["lock"]["properties"]) == LOCK_KEYS
    assert set(SCHEMA["$defs"]["named-env"]["properties"]) == ENVS_KEYS


def test_schema_knows_the_platforms_in_their_order():
    items = SCHEMA["properties"]["lock"]["properties"]["platforms"]["items"]
    assert items["enum"] == list(PLATFORMS)


def test_schema_closes_every_table():
    assert SCHEMA["additionalProperties"] is False
    for table in ("env", "index", "lock"):
        assert SCHEMA["properties"][table]["additionalProperties"] is False
    for entry in ("named-index", "source", "named-env"):
        assert SCHEMA["$defs"][entry]["additionalProperties"] is False
    # [groups], [indexes] and [sources] are open by design: their keys are the user's names,
    # checked by pattern; each [indexes] and [sources] entry is closed (above).
    for table in ("groups", "indexes", "sources", "envs"):
        assert "propertyNames" in SCHEMA["properties"][table]


# --- property: whatever the loader accepts, the schema accepts ---------------------------------

_WORDS = st.sampled_from(
    ["", " ", "3.12", ">=3.11", "requests", "Requests>=2", "-pip", "a b", "rich[x]; os_name=='nt'",
     "http://h/simple", "https:///x", "file:x", "FILE:///x", "ftp://x", ".", "sub/.venv", "pip"]
) | st.text(max_size=12)  # fmt: skip
_VALUES = st.one_of(
    _WORDS,
    st.lists(_WORDS, max_size=3),
    st.integers(0, 9),
    st.booleans(),
    st.lists(st.integers(0, 9), max_size=2),
)
_NAMES = st.sampled_from(["internal", "Internal", "requests", "pip", "dev", "a b", ""])
_ENV = st.dictionaries(
    st.sampled_from([*ENV_KEYS, "pyhton"]), _VALUES | st.lists(_NAMES, max_size=2), max_size=4
)
_INDEX = st.dictionaries(st.sampled_from([*INDEX_KEYS, "extra_urls"]), _VALUES, max_size=3)
_GROUPS = st.dictionaries(_WORDS | _NAMES, st.lists(_WORDS, max_size=3) | _WORDS, max_size=3)
_SHARED = st.sampled_from(["internal", "requests", "dev", "Dev"])
_URLS = st.sampled_from(["http://h/simple", "FILE:///x", "https:///x", "ftp://x"])
_INDEX_ENTRY = st.fixed_dictionaries({"url": _URLS}, optional={"uri": _WORDS})
_SOURCE = st.fixed_dictionaries(
    {},
    optional={
        "index": _NAMES,
        "path": st.sampled_from(["libs/a", "/abs/a", " "]),
        "editable": st.booleans(),
        "paht": _WORDS,
    },
)
_INDEXES = st.dictionaries(_NAMES, _INDEX_ENTRY | _VALUES, max_size=2)
_LOCK_WORDS = st.sampled_from(
    ["3.11", "3.12", "3.9", "3.12.1", "3", "03.12", "linux-x86_64", "macos-arm64", "linux-amd64",
     "windows-x86_64", "win32", ""]
) | st.text(max_size=8)  # fmt: skip
_LOCK = st.dictionaries(
    st.sampled_from(["python-versions", "platforms", "platform"]),
    st.lists(_LOCK_WORDS, max_size=3) | _VALUES,
    max_size=2,
)
_SOURCES = st.dictionaries(_NAMES, _SOURCE | _VALUES, max_size=3)
_ENV_NAMES = st.sampled_from(["py311", "lint", "default", "Py311", "a-b", "-a", ""])
_NAMED_ENV = st.dictionaries(
    st.sampled_from([*ENVS_KEYS, "group"]), _VALUES | st.lists(_NAMES, max_size=2), max_size=3
)
_ENVS = st.dictionaries(_ENV_NAMES, _NAMED_ENV | _VALUES, max_size=2)
_SPECS = st.fixed_dictionaries(
    {},
    optional={
        "env": _ENV,
        "index": _INDEX,
        "groups": _GROUPS,
        "indexes": _INDEXES,
        "sources": _SOURCES,
        "lock": _LOCK,
        "envs": _ENVS,
    },
)
_INDEX_SOURCE = st.fixed_dictionaries({"index": _SHARED})
_PATH_SOURCE = st.fixed_dictionaries({"path": _SHARED}, optional={"editable": st.booleans()})
# Few, valid names shared by every table, so that they often refer to each other.
_LINKED = st.fixed_dictionaries(
    {
        "env": st.fixed_dictionaries(
            {},
            optional={
                "dependencies": st.lists(_SHARED, max_size=2, unique=True),
                "default-groups": st.lists(_SHARED, max_size=2),
            },
        ),
        "groups": st.dictionaries(_SHARED, st.lists(_SHARED, max_size=1), max_size=2),
        "indexes": st.dictionaries(_SHARED, st.fixed_dictionaries({"url": _URLS}), max_size=2),
        "sources": st.dictionaries(_SHARED, _INDEX_SOURCE | _PATH_SOURCE | _SOURCE, max_size=2),
    }
)


@given(_SPECS | _LINKED)
def test_schema_accepts_whatever_the_loader_accepts(document):
    text = tomli_w.dumps(document)
    if _loader_accepts(text):
        assert VALIDATOR.is_valid(tomllib.loads(text))
