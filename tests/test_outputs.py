"""Output folders are swapped in atomically, CSVs are deterministic, manifests are complete."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from churnkit.core._outputs import atomic_folder, sha256_frame, write_csv, write_manifest


def test_failed_run_leaves_previous_outputs_intact(tmp_path):
    target = tmp_path / "run"
    with atomic_folder(target) as tmp:
        (tmp / "result.csv").write_text("old\n")
    with pytest.raises(RuntimeError, match="stage failed"), atomic_folder(target) as tmp:
        (tmp / "result.csv").write_text("half-written")
        raise RuntimeError("stage failed")
    assert (target / "result.csv").read_text() == "old\n"
    # no temporary folders are left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_successful_run_replaces_the_whole_folder(tmp_path):
    target = tmp_path / "run"
    with atomic_folder(target) as tmp:
        (tmp / "stale.csv").write_text("x")
    with atomic_folder(target) as tmp:
        (tmp / "fresh.csv").write_text("y")
    assert sorted(p.name for p in target.iterdir()) == ["fresh.csv"]


def test_write_csv_is_byte_identical_for_equal_frames(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(50)],
            "p": rng.random(50),
            "day": pd.date_range("2024-01-01", periods=50, freq="D"),
        }
    )
    a = write_csv(frame, tmp_path / "a.csv").read_bytes()
    b = write_csv(frame.copy(), tmp_path / "b.csv").read_bytes()
    assert a == b
    assert b"\r\n" not in a
    assert a.splitlines()[1].startswith(b"C0,") and b",2024-01-01" in a.splitlines()[1]


def test_frame_hash_depends_on_content_not_layout():
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    assert sha256_frame(frame) == sha256_frame(frame.copy())
    assert sha256_frame(frame) != sha256_frame(frame.assign(a=[1, 2, 4]))
    assert sha256_frame(frame) != sha256_frame(frame.astype({"a": "float64"}))


def test_manifest_records_inputs_config_seed_versions_outputs(tmp_path):
    source = tmp_path / "orders.csv"
    source.write_text("customer_id,order_date,revenue\nA,2024-01-01,10\n")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "segments.csv").write_text("x\n")
    write_manifest(folder, stage="segment", inputs={"orders": source}, config={"freq": "M"}, seed=7)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["stage"] == "segment"
    assert manifest["seed"] == 7
    assert manifest["config"] == {"freq": "M"}
    (entry,) = manifest["inputs"]["orders"]["files"]
    assert len(entry["sha256"]) == 64 and entry["bytes"] == source.stat().st_size
    assert {"python", "pandas", "numpy", "duckdb", "churnkit"} <= set(manifest["versions"])
    assert [o["file"] for o in manifest["outputs"]] == ["segments.csv"]


def test_manifest_names_inputs_inside_the_folder_relatively(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text("a\n")
    write_manifest(
        tmp_path, stage="demo", inputs={"orders": tmp_path / "data" / "orders.csv"}, config={}
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["inputs"]["orders"]["path"] == "data/orders.csv"
