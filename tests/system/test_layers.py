"""The layering of STYLE.md (import-linter contracts in pyproject.toml): an arrow running back fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import REPO


def test_import_linter_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint_imports), "--config", str(REPO / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" not in proc.stdout.split("Contracts:")[-1].replace("0 broken", "")


def test_only_summeval_lm_eval_imports_lm_eval():
    """The one place that touches lm-eval: no other source file imports it (the compatibility aliases in
    prompt_strategies resolve their new home lazily, by name)."""
    import re

    importing = re.compile(r"^\s*(?:import lm_eval\b|from lm_eval\b)", re.M)
    src = REPO / "src"
    found = sorted(
        str(path.relative_to(src)) for path in src.rglob("*.py") if importing.search(path.read_text("utf-8"))
    )
    assert found and all(path.startswith("summeval/lm_eval/") for path in found), found


def test_no_module_of_src_imports_itself_round_a_circle():
    """No two modules import each other, directly or through others (TYPE_CHECKING imports aside, as in the
    contracts): each module can be read, and imported, after the ones it uses."""
    import grimp

    graph = grimp.build_graph(
        "summeval", "prompt_strategies", "summeval_tasks", exclude_type_checking_imports=True
    )
    circles = sorted(
        (module, imported)
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    )
    assert circles == []
