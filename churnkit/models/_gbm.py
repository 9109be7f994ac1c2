"""LightGBM pieces of the churn model: the design matrix, training with early stopping, drivers.

The feature table of :func:`churnkit.build_features` goes in as it is: numeric columns stay
numeric, pandas categoricals (``segment``, ``last_device``…) use LightGBM's native categorical
splits with the categories frozen at fit time, and identifiers and the label are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnkit.core._errors import ChurnkitError, DataValidationError

if TYPE_CHECKING:
    import lightgbm as lgb

__all__ = [
    "NOT_FEATURES",
    "design_matrix",
    "feature_schema",
    "predict",
    "threads",
    "top_contributions",
    "train_booster",
]

# columns of a feature table that are keys or targets, never model inputs
NOT_FEATURES: tuple[str, ...] = ("customer_id", "cutoff", "population", "churned")

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    # 0.1, not 0.05: same held-out AUC on the demo shop (200k customers) in 40% of the time
    "learning_rate": 0.1,
    "num_leaves": 31,
    "min_child_samples": 50,
    "feature_fraction": 0.8,
    "lambda_l2": 1.0,
    "verbosity": -1,
    # same data + same seed -> same model, whatever the number of threads
    "deterministic": True,
    "force_row_wise": True,
}


# below this many rows one thread is faster: OpenMP's spin-waiting across 2 busy cores cost
# 10x on a 8k-row fit here (1.8 s on one thread, 20 s on two)
_PARALLEL_ROWS = 200_000


def threads(n_rows: int) -> int:
    """LightGBM threads for ``n_rows`` rows: 1 for small data, every core for large."""
    import os

    return 1 if n_rows < _PARALLEL_ROWS else (os.cpu_count() or 1)


def predict(booster: lgb.Booster, x: pd.DataFrame, *, contrib: bool = False) -> np.ndarray:
    """Raw scores (or SHAP contributions) of the early-stopped model.

    SHAP contributions cost about a hundred times a prediction per row, so they use every
    core from a few thousand rows on.
    """
    rows = len(x) * (100 if contrib else 1)
    return np.asarray(
        booster.predict(
            x,
            num_iteration=booster.best_iteration,
            pred_contrib=contrib,
            num_threads=threads(rows),
        )
    )


def feature_schema(features: pd.DataFrame) -> dict[str, list[str] | None]:
    """Model inputs of a feature table, sorted by name: column -> frozen categories (None for numeric).

    Raises
    ------
    DataValidationError
        When a column is neither numeric, boolean nor categorical (e.g. free text), naming it.
    """
    schema: dict[str, list[str] | None] = {}
    # sorted: the model must not depend on the order of the feature table's columns (which
    # of the channel/device share columns comes first depends on the cutoffs asked for)
    for name in sorted(features.columns):
        if name in NOT_FEATURES:
            continue
        column = features[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            schema[name] = [str(c) for c in column.cat.categories]
        elif pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            schema[name] = None
        else:
            raise DataValidationError(
                f"feature column {name!r} has dtype {column.dtype}, which the model cannot use; "
                "make it numeric or a pandas 'category', or drop it before fitting."
            )
    if not schema:
        raise DataValidationError(
            "the feature table has no feature columns besides "
            f"{list(NOT_FEATURES)}; build it with churnkit.build_features(...)."
        )
    return schema


def design_matrix(
    features: pd.DataFrame,
    schema: dict[str, list[str] | None],
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """The columns of ``schema`` in its order, with categories set as at fit time.

    A categorical value unseen at fit time becomes missing, which LightGBM sends down the
    same branch as values it never saw; a missing feature column is an error. ``rows`` (a
    boolean mask) selects rows one column at a time, so a wide table is never copied whole.
    """
    missing = [name for name in schema if name not in features.columns]
    if missing:
        raise DataValidationError(
            f"the feature table lacks {len(missing)} column(s) the model was fitted with: "
            f"{missing[:10]}. Build features from data with the same optional columns and "
            "options (bonus_ttl_days, segments) as at fit time."
        )
    out = {}
    for name, categories in schema.items():
        column = features[name] if rows is None else features[name][rows]
        if categories is None:
            out[name] = column.astype("float64", copy=False)
        elif isinstance(column.dtype, pd.CategoricalDtype):
            # recoding the categories spares a Python string per row
            out[name] = column.cat.set_categories(categories)
        else:
            out[name] = pd.Categorical(column.astype("string"), categories=categories)
    return pd.DataFrame(out, index=features.index if rows is None else features.index[rows])


def train_booster(
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    x_valid: pd.DataFrame,
    y_valid: np.ndarray,
    *,
    params: dict[str, Any] | None = None,
    num_boost_round: int = 2000,
    early_stopping_rounds: int = 50,
    seed: int = 0,
) -> lgb.Booster:
    """Train a binary LightGBM classifier, stopping on the validation log-loss.

    The validation set is a later cutoff than every training row (the caller guarantees
    it), so the number of trees is chosen for the future, not for a random holdout.
    """
    import lightgbm as lgb

    for name, y in (("training", y_train), ("validation", y_valid)):
        if np.unique(y).size < 2:
            raise ChurnkitError(
                f"the {name} rows hold only class {int(y[0])}; the churn model needs churned "
                "and retained customers. Add cutoffs or use a longer history."
            )
    merged = {
        **DEFAULT_PARAMS,
        "num_threads": threads(len(x_train)),
        **(params or {}),
        "seed": seed,
    }
    train = lgb.Dataset(x_train, label=y_train, free_raw_data=False)
    valid = lgb.Dataset(x_valid, label=y_valid, reference=train, free_raw_data=False)
    return lgb.train(
        merged,
        train,
        num_boost_round=num_boost_round,
        valid_sets=[valid],
        valid_names=["later_cutoff"],
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )


def top_contributions(
    booster: lgb.Booster, x: pd.DataFrame, k: int = 3, themes: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The ``k`` features that push each row's churn logit up the most (LightGBM SHAP values).

    With ``themes`` (feature -> theme), features of one theme compete as one: a theme's
    contribution is the sum of its features' (SHAP values add up), and it is named by its
    strongest feature. Without it, "no order for 94 days", "0 orders in 90 days" and
    "0 orders in 180 days" would fill all three places with one fact.

    Returns
    -------
    DataFrame
        Same index as ``x``; for ``i = 1..k`` the columns ``driver_i`` (feature name, or
        missing when fewer than ``i`` features push towards churn) and ``driver_i_contrib``
        (its contribution, or its theme's, in logit units).
    """
    values = predict(booster, x, contrib=True)[:, :-1]  # the last column is the expected value
    names = np.asarray(x.columns, dtype=object)
    codes, labels = pd.factorize(pd.Index([(themes or {}).get(c, c) for c in x.columns]))
    summed = np.zeros((len(values), len(labels)))
    strongest = np.zeros((len(values), len(labels)), dtype=np.intp)
    for t in range(len(labels)):
        members = np.flatnonzero(codes == t)
        summed[:, t] = values[:, members].sum(axis=1)
        strongest[:, t] = members[np.argmax(values[:, members], axis=1)]
    order = np.argsort(-summed, axis=1, kind="stable")[:, :k]
    out = {}
    for i in range(order.shape[1]):
        v = np.take_along_axis(summed, order[:, i : i + 1], axis=1)[:, 0]
        feature = np.take_along_axis(strongest, order[:, i : i + 1], axis=1)[:, 0]
        out[f"driver_{i + 1}"] = np.where(v > 0, names[feature], None)
        out[f"driver_{i + 1}_contrib"] = np.where(v > 0, v, np.nan)
    return pd.DataFrame(out, index=x.index)
