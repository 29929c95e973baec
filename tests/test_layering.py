"""The architecture's import rules, checked on the source so they cannot quietly erode."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "onestory"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # "from onestory.ledger import merkle" imports onestory.ledger.merkle: name the
            # module, so that a rule about one module is not defeated by importing it this way.
            if node.module.startswith("onestory"):
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module)
    return names


def modules_under(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def test_domain_imports_nothing_of_ours_but_itself() -> None:
    offenders = {
        f"{path.relative_to(SRC)} imports {name}"
        for path in modules_under("domain")
        for name in imports_of(path)
        if name.startswith("onestory") and not name.startswith("onestory.domain")
    }
    assert not offenders, sorted(offenders)


def test_only_the_cli_imports_the_application_factory() -> None:
    offenders = {
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if any(
            n == "onestory.web.app" or n.startswith("onestory.web.app.") for n in imports_of(path)
        )
        and path.name not in {"cli.py", "app.py"}
    }
    assert not offenders, sorted(offenders)


def test_store_does_not_import_the_contexts_above_it() -> None:
    contexts = ("onestory.sharing", "onestory.exchange", "onestory.web", "onestory.synth")
    offenders = {
        f"{path.relative_to(SRC)} imports {name}"
        for path in modules_under("store")
        for name in imports_of(path)
        if name.startswith(contexts)
    }
    assert not offenders, sorted(offenders)


def test_ledger_crypto_is_pure() -> None:
    pure = {"merkle.py", "note.py", "entries.py", "audit.py"}
    allowed = ("onestory.ledger.merkle", "onestory.ledger.note", "onestory.ledger.entries")
    offenders = {
        f"{path.relative_to(SRC)} imports {name}"
        for path in modules_under("ledger")
        if path.name in pure
        for name in imports_of(path)
        if name.startswith("onestory") and not name.startswith(allowed)
    }
    assert not offenders, sorted(offenders)
