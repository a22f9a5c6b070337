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


def top_level_imports(path: Path) -> set[str]:
    """What a module imports when it is imported (not under TYPE_CHECKING, not inside functions)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else ():
            if isinstance(sub, ast.ImportFrom) and sub.module and sub.module.startswith("tap_jobsources"):
                found.add(sub.module)
                found |= {f"{sub.module}.{a.name}" for a in sub.names}
            elif isinstance(sub, ast.Import):
                found |= {a.name for a in sub.names if a.name.startswith("tap_jobsources")}
    return found


def test_no_import_circle_in_the_package():
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: {m for m in top_level_imports(path) if m in modules and m != name} for name, path in modules.items()}
    # A package's __init__ is imported before its modules: a module importing its own package is no circle.
    for name in graph:
        graph[name] -= {p for p in modules if name.startswith(p + ".")}
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
