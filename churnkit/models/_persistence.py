"""Saving and loading a fitted ChurnModel: LightGBM text models and one ``model.json``.

``model.json`` holds the parameters, calibration, level correction, survival models,
validation figures and the versions of churnkit and its model libraries; loading warns when a
library's major version differs from the one the model was saved with.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from churnkit._version import __version__
from churnkit.core._errors import ChurnkitError
from churnkit.models._calibration import Calibrator, DriftCorrection
from churnkit.models._survival import SurvivalChurn

if TYPE_CHECKING:
    from churnkit.models._churn_model import ChurnModel

__all__ = ["load_model", "save_model"]

_FORMAT = 1
# dependencies whose major version must match between save and load
_VERSIONED: tuple[str, ...] = ("churnkit", "lightgbm", "lifelines", "numpy", "pandas")


def save_model(model: ChurnModel, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` into folder ``path`` (see :meth:`ChurnModel.save`)."""
    model._check_fitted()
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, booster in model.boosters_.items():
        booster.save_model(str(folder / f"gbm_{name}.txt"))
    meta = {
        "format": _FORMAT,
        "version": model.version_,
        "params": {k: v for k, v in model.__dict__.items() if not k.endswith("_")},
        "schema": model.schema_,
        "calibrators": {k: v.to_dict() for k, v in model.calibrators_.items()},
        "drifts": {k: v.to_dict() for k, v in model.drifts_.items()},
        "survival": {k: v.to_dict() for k, v in model.survival_.items()},
        "training_cutoffs": {
            k: [str(c.date()) for c in v] for k, v in model.training_cutoffs_.items()
        },
        "calibration_cutoff": {k: str(v.date()) for k, v in model.calibration_cutoff_.items()},
        "validation": json.loads(model.validation_.to_json(orient="records", date_format="iso")),
        "versions": _versions(),
    }
    meta["params"]["populations"] = list(model.populations)
    meta["params"]["risk_bands"] = list(model.risk_bands)
    (folder / "model.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return folder


def load_model(cls: type[ChurnModel], path: str | os.PathLike[str]) -> ChurnModel:
    """Read a model written by :func:`save_model` (see :meth:`ChurnModel.load`)."""
    import lightgbm as lgb

    folder = Path(path)
    meta_file = folder / "model.json"
    if not meta_file.is_file():
        raise ChurnkitError(f"{folder} holds no model.json; pass a folder written by save().")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    if meta.get("format") != _FORMAT:
        raise ChurnkitError(
            f"{meta_file} has model format {meta.get('format')!r}; this churnkit reads "
            f"format {_FORMAT}. Refit the model with this version."
        )
    _check_versions(meta.get("versions", {}), meta_file)
    params = meta["params"]
    params["populations"] = tuple(params["populations"])
    params["risk_bands"] = tuple(params["risk_bands"])
    model = cls(**params)
    model.schema_ = meta["schema"]
    model.boosters_ = {
        name: lgb.Booster(model_file=str(folder / f"gbm_{name}.txt"))
        for name in meta["calibrators"]
    }
    model.calibrators_ = {k: Calibrator.from_dict(v) for k, v in meta["calibrators"].items()}
    model.drifts_ = {k: DriftCorrection.from_dict(v) for k, v in meta["drifts"].items()}
    model.survival_ = {k: SurvivalChurn.from_dict(v) for k, v in meta["survival"].items()}
    model.training_cutoffs_ = {
        k: [pd.Timestamp(c) for c in v] for k, v in meta["training_cutoffs"].items()
    }
    model.calibration_cutoff_ = {k: pd.Timestamp(v) for k, v in meta["calibration_cutoff"].items()}
    model.validation_ = pd.DataFrame(meta["validation"])
    if "cutoff" in model.validation_:
        model.validation_["cutoff"] = pd.to_datetime(model.validation_["cutoff"])
    model.version_ = meta["version"]
    return model


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"churnkit": __version__}
    for name in _VERSIONED[1:]:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "missing"
    return found


def _check_versions(saved: dict[str, str], source: Path) -> None:
    now = _versions()
    for name in _VERSIONED:
        then = saved.get(name)
        if then is None or then.split(".")[0] != now[name].split(".")[0]:
            warnings.warn(
                f"{source} was saved with {name} {then}, this environment has {now[name]}; "
                "a different major version may predict differently. Refit the model, or "
                f"install {name}=={then} to reproduce its scores.",
                UserWarning,
                stacklevel=4,
            )
