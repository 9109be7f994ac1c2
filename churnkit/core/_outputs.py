"""Writing results: deterministic CSVs, atomic output folders, manifests.

An output folder is built in a temporary sibling and swapped in only when every file is
written, so a run that fails half-way leaves the previous results untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# the libraries whose versions decide what churnkit computes
_VERSIONED = (
    "churnkit",
    "numpy",
    "pandas",
    "pyarrow",
    "duckdb",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "lightgbm",
    "lifelines",
    "krippendorff",
    "typst",
)


def package_versions() -> dict[str, str]:
    """Installed versions of Python and the libraries churnkit's results depend on."""
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_frame(frame: pd.DataFrame) -> str:
    """Hex SHA-256 of a DataFrame's content (values, column names and dtypes, not memory layout)."""
    import pandas as pd

    digest = hashlib.sha256()
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def describe_input(source: Any, base: Path | None = None) -> dict[str, Any]:
    """What a manifest records about one input: a file's path and hash, or a frame's hash.

    A file inside ``base`` (the output folder itself) is recorded by its path relative to it,
    so the manifest stays true after the folder is moved into place.
    """
    import pandas as pd

    if isinstance(source, str | os.PathLike):
        path = Path(source)
        shown = str(path)
        if base is not None and path.resolve().is_relative_to(base.resolve()):
            shown = str(path.resolve().relative_to(base.resolve()))
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        return {
            "path": shown,
            "files": [
                {
                    "name": str(p.relative_to(path)) if path.is_dir() else p.name,
                    "sha256": sha256_file(p),
                    "bytes": p.stat().st_size,
                }
                for p in files
            ],
        }
    if isinstance(source, pd.DataFrame):
        return {"dataframe": {"rows": len(source), "sha256": sha256_frame(source)}}
    return {"object": type(source).__name__}


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a CSV that is byte-identical for identical frames (UTF-8, '\\n', ISO dates, %.10g floats)."""
    path = Path(path)
    frame.to_csv(
        path,
        index=False,
        lineterminator="\n",
        float_format="%.10g",
        date_format="%Y-%m-%d",
        encoding="utf-8",
    )
    return path


def write_figure(fig: Any, folder: str | os.PathLike[str], name: str) -> list[Path]:
    """Write a matplotlib figure as ``name.png`` (for people) and ``name.svg`` (for the PDF).

    The SVG carries no date and fixed element ids, so equal figures give equal bytes. The
    figure is closed.
    """
    import matplotlib.pyplot as plt

    folder = Path(folder)
    try:
        fig.savefig(folder / f"{name}.png", dpi=150)
        return [folder / f"{name}.png", write_svg(fig, folder / f"{name}.svg", dpi=150)]
    finally:
        plt.close(fig)


def write_svg(fig: Any, path: str | os.PathLike[str], **savefig: Any) -> Path:
    """Save ``fig`` as SVG without a date and with ids from a fixed salt: equal figures, equal bytes."""
    import matplotlib

    path = Path(path)
    with matplotlib.rc_context({"svg.hashsalt": "churnkit"}):
        fig.savefig(path, format="svg", metadata={"Date": None}, **savefig)
    return path


def write_json(data: Any, path: str | os.PathLike[str]) -> Path:
    """Write JSON with sorted keys and a trailing newline, so equal data gives equal bytes."""
    path = Path(path)
    path.write_text(
        json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n",
        encoding="utf-8",
    )
    return path


def write_manifest(
    folder: str | os.PathLike[str],
    *,
    stage: str,
    inputs: Mapping[str, Any],
    config: Mapping[str, Any],
    seed: int | None = None,
) -> Path:
    """Write ``manifest.json`` into ``folder``: inputs' hashes, config, seed, versions, outputs.

    Examples
    --------
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> write_manifest(d, stage="validate", inputs={}, config={}).name
    'manifest.json'
    """
    folder = Path(folder)
    outputs = [
        {"file": str(p.relative_to(folder)), "sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    ]
    manifest = {
        "stage": stage,
        "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "inputs": {name: describe_input(src, folder) for name, src in inputs.items()},
        "config": dict(config),
        "seed": seed,
        "versions": package_versions(),
        "outputs": outputs,
    }
    return write_json(manifest, folder / "manifest.json")


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary folder that replaces ``target`` only if the block succeeds.

    On an exception the temporary folder is removed and ``target`` keeps its earlier content.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with atomic_folder(out) as tmp:
    ...     _ = (tmp / "a.txt").write_text("x")
    >>> (out / "a.txt").read_text()
    'x'
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    tmp.chmod(0o755)  # mkdtemp's 0700 would hide reports from colleagues on a shared machine
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
