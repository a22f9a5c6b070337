"""What the tap relies on in singer-sdk's private API (tap_jobsources/sdk_compat.py): these fail
when an SDK release changes it, before a user meets the change."""

from __future__ import annotations

import ast
import inspect
from importlib.metadata import version
from pathlib import Path

from singer_sdk import Stream
from singer_sdk.plugin_base import PluginBase

from tests.conftest import FAST
from tests.helpers import discover_in_process, run_in_process

ROOT = Path(__file__).resolve().parents[1]
SDK_VERSION = version("singer-sdk")

#: private name -> where the SDK defines it, and the parameters the tap passes
PRIVATE_METHODS = {
    "_write_schema_message": (Stream, []),
    "_generate_record_messages": (Stream, ["record"]),
    "_write_activate_version_message": (Stream, ["full_table_version"]),
    "_validate_config": (PluginBase, ["raise_errors"]),
    "_sync_records": (Stream, ["context", "write_messages"]),
    "_write_batch_message": (Stream, ["encoding", "manifest"]),
    "_setup_signal_handlers": (PluginBase, []),
    "_write_record_message": (Stream, ["record"]),
    "_finalize_state": (Stream, ["state"]),
    "_write_state_message": (Stream, []),
}


def test_the_state_keys_and_helpers_the_tap_relies_on_are_the_sdks():
    """Bookmarks are promoted by the tap (capped at the run's start) in the SDK's own state shape."""
    from singer_sdk.helpers import _state
    from singer_sdk.helpers._catalog import get_selected_schema  # noqa: F401  (sdk_compat.setup_mapper)

    from tap_jobsources import sdk_compat

    assert _state.PROGRESS_MARKERS == sdk_compat.MARKERS
    assert _state.SIGNPOST_MARKER == "replication_key_signpost"
    assert _state.STARTING_MARKER in sdk_compat.BOOKMARK_FIELDS
    assert "replication_key_value" in inspect.getsource(_state.finalize_state_progress_markers)
    assert inspect.signature(Stream.finalize_state_progress_markers).parameters.keys() == {"self", "state"}


def test_every_state_the_sdk_writes_goes_through_the_tap_state_writer():
    """The checkpoint is the one writer of STATE only if the SDK writes through state_writer."""
    from singer_sdk import Tap

    assert "self._state_writer.write_state" in inspect.getsource(Tap.sync_all)
    assert "self._tap.state_writer.write_state" in inspect.getsource(Stream._write_state_message)
    assert "state_writer.write_state" in inspect.getsource(Tap._handle_termination)
    for name, method in inspect.getmembers(Stream, inspect.isfunction):
        source = inspect.getsource(method)
        assert "StateMessage(" not in source, f"Stream.{name} writes a STATE itself"


def test_the_compatibility_module_does_not_import_the_tap():
    tree = ast.parse((ROOT / "tap_jobsources" / "sdk_compat.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "tap_jobsources.tap" not in imported
    assert "tap_jobsources.client" not in imported


def test_sync_all_is_still_the_one_entry_of_a_run():
    """The CLI runs a sync through Tap.sync_all, which the compatibility module wraps."""
    from singer_sdk import Tap

    assert "tap.sync_all()" in inspect.getsource(Tap.invoke)
    assert not [p for p in inspect.signature(Tap.sync_all).parameters if p != "self"]


def test_the_private_methods_the_tap_overrides_or_calls_are_still_there():
    for name, (owner, params) in PRIVATE_METHODS.items():
        method = getattr(owner, name, None)
        assert callable(method), f"singer-sdk {SDK_VERSION} has no {owner.__name__}.{name}"
        found = [p for p in inspect.signature(method).parameters if p != "self"]
        assert found == params, (name, found)


def owner_of(tap, name: str):
    """What a listed name lives on: a real tap, one of its streams, or a module of the SDK."""
    import importlib

    owner, _, attr = name.rpartition(".")
    if owner == "Stream":
        return tap.streams["connections"], attr
    if owner in ("PluginBase", "Tap"):
        return tap, attr
    if owner.endswith("StreamStateManager"):
        return tap.streams["connections"].state_manager, attr
    return importlib.import_module(owner), attr


def test_every_private_name_the_tap_lists_is_still_in_the_sdk(sandbox):
    from tap_jobsources.sdk_compat import SDK_PRIVATE
    from tap_jobsources.tap import TapJobSources

    tap = TapJobSources(config={**sandbox.settings("trackjobchanges"), **FAST}, validate_config=True)
    missing = [name for name in SDK_PRIVATE if not hasattr(*owner_of(tap, name))]
    assert missing == [], f"singer-sdk {SDK_VERSION} lacks {missing}"


def private_names_used(path: Path) -> set[str]:
    """The private names a module reads, overrides or imports (not its own: those it assigns)."""
    tree = ast.parse(path.read_text())
    own = {
        target.attr
        for node in ast.walk(tree)
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Attribute)
    }
    own |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            used.add(node.attr)
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("_") and not node.name.startswith("__"):
            used.add(node.name)
        elif isinstance(node, ast.ImportFrom) and node.module and "._" in node.module:
            used |= {f"{node.module}.{a.name}" for a in node.names}
    return used - own


def test_the_compatibility_module_uses_no_private_sdk_name_it_does_not_list(sandbox):
    from tap_jobsources.sdk_compat import SDK_PRIVATE
    from tap_jobsources.tap import TapJobSources

    tap = TapJobSources(config={**sandbox.settings("trackjobchanges"), **FAST}, validate_config=True)
    stream = tap.streams["connections"]
    listed = {n.rpartition(".")[2] for n in SDK_PRIVATE} | set(SDK_PRIVATE)
    sdk_names = [
        name
        for name in private_names_used(ROOT / "tap_jobsources" / "sdk_compat.py")
        if "." in name
        or hasattr(Stream, name)
        or hasattr(PluginBase, name)
        or hasattr(type(tap), name)
        or name in vars(stream)
        or name in vars(tap)
    ]
    assert sorted(n for n in sdk_names if n not in listed) == []


def test_no_private_sdk_name_is_used_outside_the_compatibility_module():
    """Names the SDK keeps private, reached from the tap's code other than sdk_compat.py."""
    from tap_jobsources.sdk_compat import SDK_PRIVATE

    private = {name.rpartition(".")[2] for name in SDK_PRIVATE}
    offenders = []
    for path in (ROOT / "tap_jobsources").rglob("*.py"):
        if path.name == "sdk_compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in private:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module and "._" in node.module:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module}")
    assert not offenders, offenders


def test_one_schema_per_stream_per_run(tmp_path, sandbox):
    run = run_in_process(tmp_path, {**sandbox.settings("trackjobchanges", "getro"), **FAST})
    assert run.returncode == 0, run.stderr
    schemas = [m["stream"] for m in run.messages if m["type"] == "SCHEMA"]
    assert len(schemas) == len(set(schemas))
    assert {"employments", "jobs", "talent"} <= set(schemas)


def test_one_http_session_per_provider(sandbox):
    from tap_jobsources.tap import TapJobSources

    tap = TapJobSources(config={**sandbox.settings(), **FAST}, validate_config=True)
    by_provider: dict[str, set[int]] = {}
    for stream in tap.streams.values():
        by_provider.setdefault(stream.provider.key, set()).add(id(stream.services.session))
    assert set(by_provider) == {"getro", "bindbee", "trackjobchanges"}
    assert all(len(sessions) == 1 for sessions in by_provider.values())
    assert len({next(iter(s)) for s in by_provider.values()}) == 3


def test_the_plain_record_path_equals_the_sdks_own(tmp_path, sandbox):
    config = {**sandbox.settings("trackjobchanges"), **FAST}
    plain = run_in_process(tmp_path / "plain", config)
    assert plain.returncode == 0, plain.stderr

    # The same records through the SDK's path: a stream map that changes nothing forces it.
    mapped = run_in_process(
        tmp_path / "mapped", {**config, "stream_maps": {"connections": {"id": "id"}, "employments": {"id": "id"}}}
    )
    assert mapped.returncode == 0, mapped.stderr
    for stream in ("connections", "employments"):
        assert plain.records[stream] == mapped.records[stream], stream

    # A map and a deselected field are honoured (the plain path is not taken then).
    catalog = discover_in_process(tmp_path / "d", config)
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "connections":
            for md in entry["metadata"]:
                if md["breadcrumb"] == ["properties", "last_name"]:
                    md["metadata"]["selected"] = False
    changed = run_in_process(
        tmp_path / "changed", {**config, "stream_maps": {"employments": {"title": "__NULL__"}}}, catalog=catalog
    )
    assert changed.returncode == 0, changed.stderr
    assert all("last_name" not in r for r in changed.records["connections"])
    assert all("title" not in r for r in changed.records["employments"])
    assert [r["id"] for r in changed.records["employments"]] == [r["id"] for r in plain.records["employments"]]


def test_the_sdk_in_use_is_one_the_tap_supports():
    major_minor = tuple(int(x) for x in SDK_VERSION.split(".")[:2])
    assert major_minor in {(0, 54), (0, 55)}, SDK_VERSION
