"""The shape of the package, checked: one direction of imports, one module that knows the SDK's state
keys, generic code that names no provider, and every stream in a task of its provider."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tap_jobsources.plugin import providers

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tap_jobsources"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module of the package a module names in an import: at its top, under TYPE_CHECKING
    (type hints are a dependency too) and inside functions (an import put off is still one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tap_jobsources"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tap_jobsources")}
    return found


def test_no_import_circle_in_the_package():
    """Layers only look down, a provider's streams included: its package declares it, its streams
    module imports that declaration, never the other way round."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: {m for m in imports(path) if m in modules and m != name} for name, path in modules.items()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(name: str, path: list[str]) -> bool:
        state[name] = 1
        for nxt in sorted(graph[name]):
            if state.get(nxt) == 1:
                cycle.extend(path + [name, nxt])
                return True
            if nxt not in state and visit(nxt, path + [name]):
                return True
        state[name] = 2
        return False

    for name in sorted(graph):
        if name not in state and visit(name, []):
            break
    assert not cycle, " -> ".join(cycle)


def test_only_the_compatibility_module_names_the_sdks_state_keys():
    keys = re.compile(
        r"[\"'](progress_markers|replication_key_value|replication_key_signpost|starting_replication_value)[\"']"
    )
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in PACKAGE.rglob("*.py")
        if p.name != "sdk_compat.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if keys.search(line)
    ]
    assert not offenders, offenders


def code_words(path: Path) -> list[tuple[int, str]]:
    """The names and the strings of a module's code, without its docstrings and comments."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    words = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words.append((node.lineno, node.value))
        elif isinstance(node, ast.Name):
            words.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            words.append((node.lineno, node.attr))
    return words


def test_generic_code_names_no_provider():
    names = {p.key for p in providers()} | {p.name.lower() for p in providers()}
    pattern = re.compile(r"(" + "|".join(sorted(names)) + r")", re.IGNORECASE)
    offenders = [
        f"{path.name}:{line}: {word}"
        for path in [*PACKAGE.glob("*.py"), ROOT / "orchestrate" / "dags" / "tap_jobsources.py"]
        for line, word in code_words(path)
        if pattern.search(word)
    ]
    assert not offenders, offenders


def test_every_stream_a_project_selects_runs_in_exactly_one_task_of_its_provider():
    for provider in providers():
        selected = {cls.name for cls in provider.streams() if cls.selected_by_default}
        tasks = [name for extractor in provider.extractors for name in extractor.streams]
        assert sorted(tasks) == sorted(selected), (provider.key, tasks, selected)


def calls_of(name: str) -> list[str]:
    """Where the package calls ``name`` (as a function or a method), as ``file:line``."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_one_call_site_promotes_a_bookmark():
    """RunState.finish_partition, once a partition is read whole and proven; never the SDK's hooks."""
    assert [site.split(":")[0] for site in calls_of("promote")] == ["state.py"]


def test_one_writer_writes_record_lines():
    """CompatStream.write_record, into the tap's writer; the package builds no RecordMessage of its own."""
    assert calls_of("RecordMessage") == []


def test_record_lines_are_written_from_one_method():
    tree = ast.parse((PACKAGE / "sdk_compat.py").read_text())
    writers = {
        fn.name
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef)
        for node in ast.walk(fn)
        if isinstance(node, ast.Attribute) and node.attr == "record_writer"
    }
    assert writers == {"write_record"}
