"""Shared test set-up: a non-interactive plotting backend and small demo data."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def export_shop():
    """Write a generated shop as a Russian 1C export: ``(folder, n_customers, seed)`` ->
    the shop and the project config's ``data`` section."""
    return _export_shop


def _export_shop(folder, n_customers: int, seed: int):
    from churnkit.datasets import make_shop

    shop = make_shop(n_customers=n_customers, seed=seed)
    export = shop.to_csv(folder / "orders.csv")
    data = {
        "orders": "orders.csv",
        "customers": "customers.csv",
        "columns": export["columns"],
        "customer_columns": shop.customers_to_csv(folder / "customers.csv"),
    }
    return shop, data
