"""The core never imports the shells: pure code stays testable without I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "pnrguard"
CORE = ["domain", "formats", "screening", "audit", "exchange", "links"]
PURE_PROTECTION = ["sensitive.py", "minimise.py", "protect.py", "crypto.py", "retention.py"]
SHELLS = ("pnrguard.store", "pnrguard.service", "pnrguard.web", "pnrguard.cli")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _core_files() -> list[Path]:
    files = [p for pkg in CORE for p in (SRC / pkg).rglob("*.py")]
    files += [SRC / "protection" / name for name in PURE_PROTECTION if (SRC / "protection" / name).exists()]
    return files


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_core_module_imports_no_shell(path: Path) -> None:
    bad = sorted(n for n in _imports(path) if n.startswith(SHELLS))
    assert bad == [], f"{path.relative_to(SRC)} imports {bad}"


def test_the_walk_sees_the_core() -> None:
    assert len(_core_files()) >= 8
