"""Modules and functions stay small enough to read: the longest ones, measured and bounded.

Lines of code are the lines that are not blank, not comments and not docstrings. Run as a
script (``python tests/test_sizes.py``, or ``python3 tasks.py sizes``) to print the longest.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "churnkit"
MAX_MODULE = 500
MAX_FUNCTION = 80
# tables of data, not code: their length is their content
DATA_TABLES = {"datasets/_interview_phrases.py"}


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        kinds = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        if isinstance(node, kinds) and node.body:
            first = node.body[0]
            value = first.value if isinstance(first, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def measure() -> tuple[list[tuple[int, str]], list[tuple[int, int, str]]]:
    """(code lines, module) per module; (code lines, all lines, function) per function."""
    modules, functions = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        skip = _docstring_lines(tree)
        source = text.splitlines()

        def code(first: int, last: int, source: list[str] = source, skip: set = skip) -> int:
            return sum(
                1
                for i in range(first, last + 1)
                if i not in skip
                and source[i - 1].strip()
                and not source[i - 1].strip().startswith("#")
            )

        modules.append((code(1, len(source)), name))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                last = node.end_lineno or node.lineno
                functions.append(
                    (code(node.lineno, last), last - node.lineno + 1, f"{name}:{node.name}")
                )
    return sorted(modules, reverse=True), sorted(functions, reverse=True)


def test_modules_stay_under_the_limit():
    modules, _ = measure()
    long = [(n, m) for n, m in modules if n > MAX_MODULE and m not in DATA_TABLES]
    assert not long, f"modules over {MAX_MODULE} lines of code: {long}"


def test_functions_stay_under_the_limit():
    _, functions = measure()
    long = [(n, f) for n, _, f in functions if n > MAX_FUNCTION]
    assert not long, f"functions over {MAX_FUNCTION} lines of code: {long}"


def report(top: int = 15) -> None:
    """Print the longest modules and functions."""
    modules, functions = measure()
    print(f"modules (lines of code, limit {MAX_MODULE}; data tables exempt):")
    for n, name in modules[:top]:
        print(f"  {n:5d}  {name}")
    print(f"functions (lines of code / all lines with the docstring, limit {MAX_FUNCTION}):")
    for n, total, name in functions[:top]:
        print(f"  {n:5d} / {total:4d}  {name}")


if __name__ == "__main__":
    report(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
