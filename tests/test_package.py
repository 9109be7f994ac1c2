"""The public surface: every advertised name resolves, and importing churnkit stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import churnkit

ROOT = Path(__file__).resolve().parents[1]


def test_every_public_name_resolves():
    for name in churnkit.__all__:
        assert getattr(churnkit, name) is not None, name


def test_lazy_table_and_all_agree():
    assert set(churnkit._LAZY) <= set(churnkit.__all__)


def test_domain_errors_are_value_errors():
    for name in (
        "ChurnkitError",
        "DataValidationError",
        "MissingColumnError",
        "SegmentRulesError",
        "ConfigError",
    ):
        assert issubclass(getattr(churnkit, name), ValueError)


def test_import_is_light():
    # a fresh interpreter: pandas, duckdb and matplotlib must not be imported by `import churnkit`
    code = (
        "import sys, time; t = time.perf_counter(); import churnkit; "
        "dt = time.perf_counter() - t; "
        "heavy = sorted(m for m in ('pandas', 'duckdb', 'matplotlib', 'scipy') if m in sys.modules); "
        "print(dt, ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, heavy = out.stdout.split(" ")
    assert heavy.strip() == ""
    assert float(seconds) < 0.5


def test_environment_yml_mirrors_pyproject():
    import re
    import tomllib

    import yaml

    root = ROOT
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    conda = yaml.safe_load((root / "environment.yml").read_text())["dependencies"]
    pip = [d for entry in conda if isinstance(entry, dict) for d in entry.get("pip", [])]
    conda_names = {re.split(r"[<>=]", d)[0] for d in conda + pip if isinstance(d, str)}
    aliases = {"duckdb": "python-duckdb"}  # conda-forge's name for the same package
    for requirement in wanted:
        name = re.split(r"[<>=\[]", requirement)[0]
        assert aliases.get(name, name) in conda_names, (
            f"{name} is in pyproject.toml but not environment.yml"
        )


def test_layer_contracts_hold():
    """pyproject.toml's import-linter contracts: no stage imports a later one, no cycles."""
    import pytest

    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:]


def test_modules_never_import_the_package_root():
    """Arrows point down: a module reads the version from churnkit._version, not churnkit."""
    import ast

    found = []
    for path in sorted((ROOT / "churnkit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            if "churnkit" in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found
