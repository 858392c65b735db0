"""The library (``autograd``, ``nn``) stands apart from the application (``tracegrad``'s
command line, training recipe and demo), and the engine stands below the networks.

Checked twice: statically, every import statement of every library file (including those
inside functions, which run late); and at run time, every library module imported in a
fresh interpreter, after which no application module may be loaded.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: What the library may take from the ``tracegrad`` package: the helpers it shares with
#: the application, which are about neither (atomic files, explicit random generators,
#: counts in messages).
SHARED = {"tracegrad.files", "tracegrad.rng", "tracegrad.words"}

#: Which top-level packages of the project each library package may import.
ALLOWED = {"autograd": {"autograd"}, "nn": {"autograd", "nn"}}


def _imports(path: Path, package: str, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(), str(path))
    module_parts = [package, *path.relative_to(root / package).with_suffix("").parts]
    if module_parts[-1] == "__init__":
        module_parts.pop()
    else:
        module_parts.pop()  # a module's own package is where its relative imports start
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module_parts[: len(module_parts) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if node.module is None or node.level:  # `from . import x`: x may be a module
                found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, name))
    return found


def _library_files() -> list[tuple[str, Path]]:
    return [
        (package, path) for package in ALLOWED for path in sorted((ROOT / package).rglob("*.py"))
    ]


@pytest.mark.parametrize(
    ("package", "path"),
    _library_files(),
    ids=[str(p.relative_to(ROOT)) for _, p in _library_files()],
)
def test_a_library_file_imports_no_application_code(package: str, path: Path) -> None:
    project = {"autograd", "nn", "tracegrad"}
    wrong = []
    for line, name in _imports(path, package):
        top = name.split(".")[0]
        if top == "tracegrad":
            if not any(name == shared or name.startswith(shared + ".") for shared in SHARED):
                wrong.append(f"line {line}: {name} (the application)")
        elif top in project and top not in ALLOWED[package]:
            wrong.append(f"line {line}: {name} ({package} sits below {top})")
    assert not wrong, f"{path.relative_to(ROOT)} imports " + "; ".join(wrong)


def test_importing_every_library_module_loads_no_application_module() -> None:
    script = """
import importlib, json, pkgutil, sys
import autograd, nn
for package in (autograd, nn):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "tracegrad")))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert loaded - SHARED <= {"tracegrad"}, f"the library loaded {sorted(loaded - SHARED)}"


def test_the_static_check_sees_a_late_application_import(tmp_path: Path) -> None:
    """The check itself: imports inside a function, absolute or relative, are found."""
    (tmp_path / "nn" / "sub").mkdir(parents=True)
    module = tmp_path / "nn" / "sub" / "x.py"
    module.write_text(
        "def f():\n    from tracegrad.cli import main\n    from ...tracegrad import demo\n"
    )
    names = [name for _, name in _imports(module, "nn", tmp_path)]
    assert names == ["tracegrad.cli", "tracegrad.demo"]
