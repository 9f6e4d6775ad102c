"""The layer's build (layers/Makefile, run by `sam build`) ships the package as bytecode
Lambda uses as it is. Built here without the pinned wheels (REQUIREMENTS empty), so
offline; the wheels go through the same compile step."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mailexports_dev.local.template import PROJECT_ROOT

MAKE = shutil.which("make") or "make"
PACKAGE = PROJECT_ROOT / "layers" / "mailexports"
UNCHECKED_HASH = 0b01  # pyc header flags (PEP 552): hash-based, source not checked


def _build(artifacts: Path, python: str = sys.executable) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MAKE, "--no-print-directory", "-C", str(PROJECT_ROOT / "layers"), "build-MailexportsLayer",
         f"ARTIFACTS_DIR={artifacts}", "REQUIREMENTS=", f"LAYER_PYTHON={python}"],
        capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip


def test_every_module_of_the_package_ships_unchecked_hash_bytecode(tmp_path: Path) -> None:
    result = _build(tmp_path)
    assert result.returncode == 0, result.stderr

    built = tmp_path / "python" / "mailexports"
    sources = sorted(p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    assert sorted(p.relative_to(built) for p in built.rglob("*.py")) == sources
    for source in sources:
        pyc = Path(importlib.util.cache_from_source(str(built / source)))
        assert pyc.name.endswith(".cpython-313.pyc"), pyc
        header = pyc.read_bytes()[:8]
        assert header[:4] == importlib.util.MAGIC_NUMBER, pyc
        assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH, pyc
    # Only the build's own bytecode: no cache of another interpreter or another invalidation mode.
    assert all(p.name.endswith(".cpython-313.pyc") for p in built.rglob("*.pyc"))


def test_the_built_package_imports_from_its_bytecode(tmp_path: Path) -> None:
    assert _build(tmp_path).returncode == 0
    site = tmp_path / "python"
    (site / "mailexports" / "opaque.py").write_text(
        "raise ImportError('the source was compiled, not the pyc')\n"
    )

    # An unchecked-hash pyc is used whatever its source says or when it was changed.
    result = subprocess.run(
        [sys.executable, "-c", "import mailexports.opaque"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_build_refuses_an_interpreter_other_than_3_13(tmp_path: Path) -> None:
    fake = tmp_path / "python3.12"
    fake.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'import sys; sys.exit(1)'\n")
    fake.chmod(0o755)

    result = _build(tmp_path / "out", python=str(fake))

    assert result.returncode != 0
    assert "is not Python 3.13" in result.stderr
    assert not (tmp_path / "out" / "python").exists()
