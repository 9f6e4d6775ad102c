"""Dev tooling stays apart: the service never imports it, the operator commands only when asked."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from mailexports_dev.local.template import PROJECT_ROOT

TOOLING = ("mailexports_dev", "mailexports_cli")


def imported_modules(path: Path, *, top_level_only: bool = False) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.If) and top_level_only:  # `if TYPE_CHECKING:` and the like
            yield from (n for child in node.body for n in _names_of(child))


def _names_of(node: ast.stmt) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
        yield node.module


def production_files() -> list[Path]:
    return sorted((PROJECT_ROOT / "layers/mailexports").rglob("*.py")) + sorted(
        (PROJECT_ROOT / "functions").glob("*/app.py")
    )


def test_production_code_never_imports_the_tooling() -> None:
    files = production_files()
    assert len(files) > 20  # the walk found the service
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)} imports {module}"
        for path in files
        for module in imported_modules(path)
        if module.split(".")[0] in TOOLING
    ]
    assert offenders == []


def test_the_operator_cli_imports_dev_tooling_only_inside_functions() -> None:
    files = sorted((PROJECT_ROOT / "cli/mailexports_cli").rglob("*.py"))
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)} imports {module} at module level"
        for path in files
        for module in imported_modules(path, top_level_only=True)
        if module.split(".")[0] == "mailexports_dev"
    ]
    assert offenders == []


def test_operator_commands_load_neither_moto_nor_the_dev_package() -> None:
    script = (
        "import sys; from mailexports_cli import main; "
        "parser = main._build_parser(); "
        "parser.parse_known_args(['tenant', 'create', 'acme', '--username', 'ops']); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'moto', 'mailexports_dev'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    assert out.stdout.strip() == "[]"


def test_the_dev_commands_are_still_offered() -> None:
    from mailexports_cli import main

    args, rest = main._build_parser().parse_known_args(["generate", "--contacts", "3", "--out", "-"])
    assert args.dev_command == "generate"
    assert rest == ["--contacts", "3", "--out", "-"]
