"""sbom: the CycloneDX SBOM `envsync export --format cyclonedx` writes from a lock.

Locks are built inline with lockfile.build_lock (support.locks); each test reads the JSON a
user (and an SBOM tool) would get, after the library's own schema validator accepted it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import default_environment

from envsync import __version__
from envsync.core.lockfile import LockedFile, ResolvedPackage
from envsync.core.lockselect import select
from envsync.core.sbom import About, cyclonedx
from envsync.core.spec import parse_spec

from support.locks import ANY, FILES, pkg, sha, single_lock, wheel

if TYPE_CHECKING:
    from collections.abc import Iterable

    from packaging.pylock import Pylock


PROJECT = Path("/work/myproject")
MIRROR = "https://mirror.example/simple/"
DEFAULT = "https://default.example/simple/"
WINDOWS = "cp312-cp312-win_amd64"
SPEC = parse_spec(
    '[env]\npython = "3.12"\ndependencies = ["app"]\n[groups]\ndev = ["pytest"]\n'
    'docs = ["sphinx"]\n',
    path=PROJECT / "env.toml",
)
ENVIRONMENT = {key: str(value) for key, value in default_environment().items()} | {
    "python_full_version": "3.12.4",
    "python_version": "3.12",
    "sys_platform": "linux",
    "platform_machine": "x86_64",
}
VALIDATOR = JsonStrictValidator(SchemaVersion.V1_6)


def lock_of(*packages: ResolvedPackage, roots: dict[str, list[str]] | None = None) -> Pylock:
    return single_lock(spec=SPEC, python="3.12.4", packages=packages, roots=roots)


def sbom(
    lock: Pylock,
    groups: Iterable[str] = (),
    *,
    main: bool = True,
    tags: Iterable[str] = (ANY,),
    about: About | None = None,
) -> dict[str, Any]:
    """The SBOM's JSON, once the schema validator accepted it."""
    text = export(lock, groups, main=main, tags=tags, about=about)
    assert VALIDATOR.validate_str(text) is None
    return cast("dict[str, Any]", json.loads(text))


def export(
    lock: Pylock,
    groups: Iterable[str] = (),
    *,
    main: bool = True,
    tags: Iterable[str] = (ANY,),
    about: About | None = None,
) -> str:
    return cyclonedx(
        lock,
        environment=ENVIRONMENT,
        tags=list(tags),
        groups=list(groups),
        root=PROJECT,
        main=main,
        about=about or About(project="myproject", default_index=DEFAULT),
    ).text


def components(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in document.get("components", [])}


def graph(document: dict[str, Any]) -> dict[str, list[str]]:
    return {d["ref"]: d.get("dependsOn", []) for d in document["dependencies"]}


CHAIN = (
    pkg("app", "2.0", needs=["lib"]),
    pkg("lib", "1.5", needs=["leaf"]),
    pkg("leaf", "0.3"),
    pkg("pytest", "8.0", groups=["dev"], needs=["pluggy"]),
    pkg("pluggy", "1.5", groups=["dev"]),
    pkg("sphinx", "7.0", groups=["docs"]),
)
CHAIN_ROOTS = {"": ["app"], "dev": ["pytest"], "docs": ["sphinx"]}


def test_a_chain_and_a_group_become_components_and_their_graph():
    document = sbom(lock_of(*CHAIN, roots=CHAIN_ROOTS), ["dev"])

    found = components(document)
    assert sorted(found) == ["app", "leaf", "lib", "pluggy", "pytest"]
    assert found["app"] == {
        "bom-ref": "pkg:pypi/app@2.0",
        "externalReferences": [
            {
                "hashes": [{"alg": "SHA-256", "content": sha("a")}],
                "type": "distribution",
                "url": f"{FILES}/app-2.0-{ANY}.whl",
            }
        ],
        "hashes": [{"alg": "SHA-256", "content": sha("a")}],
        "name": "app",
        "purl": "pkg:pypi/app@2.0",
        "type": "library",
        "version": "2.0",
    }
    assert graph(document) == {
        "myproject": ["pkg:pypi/app@2.0", "pkg:pypi/pytest@8.0"],
        "pkg:pypi/app@2.0": ["pkg:pypi/lib@1.5"],
        "pkg:pypi/lib@1.5": ["pkg:pypi/leaf@0.3"],
        "pkg:pypi/leaf@0.3": [],
        "pkg:pypi/pytest@8.0": ["pkg:pypi/pluggy@1.5"],
        "pkg:pypi/pluggy@1.5": [],
    }


def test_the_metadata_names_the_project_envsync_and_the_target():
    metadata = sbom(lock_of(*CHAIN, roots=CHAIN_ROOTS), ["docs", "dev"])["metadata"]

    assert metadata["component"] == {
        "bom-ref": "myproject",
        "name": "myproject",
        "type": "application",
    }
    assert metadata["tools"] == {
        "components": [{"name": "envsync", "type": "application", "version": __version__}]
    }
    assert {p["name"]: p["value"] for p in metadata["properties"]} == {
        "cdx:reproducible": "true",
        "envsync:groups": "dev,docs",
        "envsync:main-dependencies": "true",
        "envsync:platform_machine": "x86_64",
        "envsync:python_version": "3.12",
        "envsync:sys_platform": "linux",
    }


def test_the_same_lock_gives_the_same_bytes_without_serial_number_or_timestamp():
    lock = lock_of(*CHAIN, roots=CHAIN_ROOTS)

    first, second = export(lock, ["dev"]), export(lock_of(*CHAIN, roots=CHAIN_ROOTS), ["dev"])

    assert first == second
    document = json.loads(first)
    assert "serialNumber" not in document
    assert "timestamp" not in document["metadata"]
    assert (document["bomFormat"], document["specVersion"], document["version"]) == (
        "CycloneDX",
        "1.6",
        1,
    )


def test_a_timestamp_given_is_written():
    about = About(project="p", timestamp=datetime.fromtimestamp(1_700_000_000, tz=timezone.utc))

    document = sbom(lock_of(pkg("app")), about=about)

    assert document["metadata"]["timestamp"] == "2023-11-14T22:13:20+00:00"
    assert "serialNumber" not in document


@pytest.mark.parametrize(
    ("main", "groups", "names", "tops"),
    [
        (True, (), ["app", "leaf", "lib"], ["pkg:pypi/app@2.0"]),
        (False, ("dev",), ["pluggy", "pytest"], ["pkg:pypi/pytest@8.0"]),
        (
            False,
            ("dev", "docs"),
            ["pluggy", "pytest", "sphinx"],
            ["pkg:pypi/pytest@8.0", "pkg:pypi/sphinx@7.0"],
        ),
    ],
)
def test_the_groups_chosen_decide_the_components_and_the_projects_dependencies(
    main, groups, names, tops
):
    document = sbom(lock_of(*CHAIN, roots=CHAIN_ROOTS), groups, main=main)

    assert sorted(components(document)) == names
    assert graph(document)["myproject"] == tops
    properties = {p["name"]: p["value"] for p in document["metadata"]["properties"]}
    assert properties["envsync:main-dependencies"] == str(main).lower()


@pytest.mark.parametrize(
    ("index", "purl"),
    [
        (MIRROR, f"pkg:pypi/app@1.0?repository_url={MIRROR}"),
        ("https://user:secret@mirror.example/simple/", f"pkg:pypi/app@1.0?repository_url={MIRROR}"),
        (DEFAULT, "pkg:pypi/app@1.0"),
        (DEFAULT.rstrip("/"), "pkg:pypi/app@1.0"),
        (None, "pkg:pypi/app@1.0"),
    ],
)
def test_a_package_from_another_index_than_the_default_names_it_in_its_purl(index, purl):
    lock = lock_of(pkg("app", index=index, wheels=(wheel("app", "1.0", sha256=sha("a")),)))

    found = components(sbom(lock))["app"]

    assert (found["purl"], found["bom-ref"]) == (purl, purl)
    assert "secret" not in json.dumps(found)


RICH = pkg(
    "rich",
    "13.0",
    wheels=(
        wheel("rich", "13.0", sha256=sha("a")),
        wheel("rich", "13.0", WINDOWS, sha256=sha("b")),
    ),
    sdist=LockedFile(filename="rich-13.0.tar.gz", url=f"{FILES}/rich-13.0.tar.gz", sha256=sha("c")),
)


@pytest.mark.parametrize(
    ("tags", "digest", "url"),
    [
        ((ANY,), "a", f"{FILES}/rich-13.0-{ANY}.whl"),
        ((WINDOWS, ANY), "b", f"{FILES}/rich-13.0-{WINDOWS}.whl"),
        (("cp312-cp312-macosx_11_0_arm64",), "c", f"{FILES}/rich-13.0.tar.gz"),
    ],
    ids=["any-wheel", "windows-wheel", "sdist"],
)
def test_the_hash_and_reference_are_of_the_file_this_target_installs(tags, digest, url):
    found = components(sbom(lock_of(RICH), tags=tags))["rich"]

    assert found["hashes"] == [{"alg": "SHA-256", "content": sha(digest)}]
    assert [(r["type"], r["url"]) for r in found["externalReferences"]] == [("distribution", url)]
    assert found["externalReferences"][0]["hashes"] == found["hashes"]


def test_archives_and_files_beside_the_project_keep_the_locks_location():
    archive = LockedFile(
        filename="lib-1.0.zip", url="https://x.example/lib-1.0.zip", sha256=sha("d")
    )
    beside = LockedFile(
        filename=f"near-2.0-{ANY}.whl", path=f"wheels/near-2.0-{ANY}.whl", sha256=sha("e")
    )
    lock = lock_of(pkg("lib", None, archive=archive), pkg("near", "2.0", wheels=(beside,)))

    found = components(sbom(lock))

    assert found["lib"]["purl"] == "pkg:pypi/lib"
    assert "version" not in found["lib"]
    assert found["lib"]["externalReferences"][0]["url"] == "https://x.example/lib-1.0.zip"
    assert found["lib"]["hashes"] == [{"alg": "SHA-256", "content": sha("d")}]
    # Relative, as the lock has it: the SBOM of a lock is the same on every machine.
    assert found["near"]["externalReferences"][0]["url"] == f"wheels/near-2.0-{ANY}.whl"


def test_local_folders_are_components_with_their_path_and_no_purl_or_hash():
    lock = lock_of(
        pkg("app", needs=["mylib"]),
        pkg("mylib", "0.4", directory="libs/mylib", editable=True),
        pkg("other", None, directory="../other"),
        roots={"": ["app", "other"]},
    )

    document = sbom(lock)
    found = components(document)

    assert found["mylib"] == {
        "bom-ref": "mylib @ libs/mylib",
        "externalReferences": [
            {
                "comment": "a local folder, relative to the project (installed editable)",
                "type": "other",
                "url": "libs/mylib",
            }
        ],
        "name": "mylib",
        "type": "library",
        "version": "0.4",
    }
    assert found["other"]["externalReferences"][0]["comment"].endswith("(installed from its files)")
    assert "version" not in found["other"]
    assert graph(document)["pkg:pypi/app@1.0"] == ["mylib @ libs/mylib"]
    assert graph(document)["myproject"] == ["other @ ../other", "pkg:pypi/app@1.0"]


def test_packages_a_lock_without_roots_cannot_place_hang_from_the_project():
    lock = lock_of(pkg("app", needs=["lib"]), pkg("lib"), pkg("tool"))

    assert graph(sbom(lock))["myproject"] == ["pkg:pypi/app@1.0", "pkg:pypi/tool@1.0"]


def test_a_cycle_no_root_enters_hangs_from_the_project_whole():
    lock = lock_of(pkg("a", needs=["b"]), pkg("b", needs=["a"]), pkg("c", needs=["a"]))

    assert graph(sbom(lock))["myproject"] == ["pkg:pypi/c@1.0"]
    lock = lock_of(pkg("a", needs=["b"]), pkg("b", needs=["a"]))
    assert graph(sbom(lock))["myproject"] == ["pkg:pypi/a@1.0", "pkg:pypi/b@1.0"]


def test_a_dependency_this_target_does_not_install_is_not_in_the_graph():
    lock = lock_of(pkg("app", needs=["lib", "winonly"]), pkg("lib"), roots={"": ["app"]})

    assert graph(sbom(lock))["pkg:pypi/app@1.0"] == ["pkg:pypi/lib@1.0"]


def test_an_empty_selection_is_a_valid_sbom_of_the_project_alone():
    document = sbom(lock_of(pkg("pytest", groups=["dev"]), roots={"dev": ["pytest"]}))

    assert components(document) == {}
    assert graph(document) == {"myproject": []}


def test_importing_envsync_does_not_load_the_sbom_library():
    code = (
        "import sys, envsync.cli._main, envsync.core.sbom, envsync.usecases.export; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'cyclonedx', 'packageurl'}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert loaded.stdout == "[]\n"


# -- any lock ------------------------------------------------------------------------------------

NAMES = [f"p{i}" for i in range(8)]


@st.composite
def locks(draw: st.DrawFn) -> tuple[Pylock, list[str], bool]:
    """A lock of some of NAMES, each needing some later ones, in the main set or a group."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, unique=True).map(sorted))
    packages, roots = [], {"": set(), "dev": set(), "docs": set()}
    for i, name in enumerate(names):
        group = draw(st.sampled_from(["", "dev", "docs"]))
        needs = draw(st.lists(st.sampled_from(names[i + 1 :] or [name]), unique=True))
        local = draw(st.booleans())
        sources = {"directory": f"libs/{name}"} if local else {}
        packages.append(pkg(name, groups=[group] if group else [], needs=needs, **sources))
        if draw(st.booleans()):
            roots[group].add(name)
    chosen = draw(st.lists(st.sampled_from(["dev", "docs"]), unique=True))
    lock = lock_of(*packages, roots={k: sorted(v) for k, v in roots.items()})
    return lock, chosen, draw(st.booleans())


# Each example builds a lock and runs the schema validator: slower than hypothesis's deadline
# on a busy machine, and no slower for a bug.
@settings(deadline=None)
@given(locks())
def test_every_component_is_selected_and_every_reference_resolves(case):
    lock, groups, main = case
    document = sbom(lock, groups, main=main)

    chosen = select(
        lock, environment=ENVIRONMENT, tags=[ANY], groups=groups, root=PROJECT, main=main
    )
    assert sorted(components(document)) == sorted(w.name for w in chosen)
    refs = {c["bom-ref"] for c in document.get("components", [])} | {"myproject"}
    edges = graph(document)
    assert set(edges) == refs
    assert {ref for needs in edges.values() for ref in needs} <= refs
    reached, todo = set(), ["myproject"]
    while todo:  # every component hangs, directly or not, from the project
        ref = todo.pop()
        if ref not in reached:
            reached.add(ref)
            todo.extend(edges[ref])
    assert reached == refs
