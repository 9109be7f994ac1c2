#!/usr/bin/env python3
"""churnkit's developer commands; needs only Python 3.11+ and access to PyPI.

    python3 tasks.py demo    # create .venv if needed, run the demo into reports/demo/
    python3 tasks.py test    # create .venv if needed: ruff (lint, format), import layers, tests
    python3 tasks.py bench   # run the benchmarks (large data; minutes)
    python3 tasks.py sizes   # the longest modules and functions (python3 only, no .venv)

Extra arguments are passed on: ``python3 tasks.py test -m "not slow"``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".churnkit-installed"


def _run(*cmd: str | os.PathLike[str]) -> None:
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, check=False)
    if result.returncode:
        sys.exit(result.returncode)


def ensure_venv() -> None:
    """Create .venv and install churnkit with its dev extras, again whenever pyproject changes."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("installing churnkit and its dependencies into .venv ...", flush=True)
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(wanted + "\n")


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"demo", "test", "bench", "sizes"}:
        print(__doc__)
        sys.exit(2)
    task, extra = argv[0], argv[1:]
    if task == "sizes":
        _run(sys.executable, ROOT / "tests" / "test_sizes.py", *extra)
        return
    ensure_venv()
    if task == "demo":
        _run(BIN / "churnkit", "demo", *extra)
    elif task == "test":
        code = ("churnkit", "tests", "benchmarks", "tasks.py")
        _run(BIN / "ruff", "check", *code)
        _run(BIN / "ruff", "format", "--check", *code)
        _run(BIN / "lint-imports")  # the layer contracts in pyproject.toml
        _run(BIN / "python", "-m", "pytest", "-n", "2", *extra)
    else:
        for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
            _run(BIN / "python", script, *extra)


if __name__ == "__main__":
    main(sys.argv[1:])
