"""Generated demo data with known ground truth: a shop's orders and customers, and interviews.

Examples
--------
>>> from churnkit.datasets import make_shop
>>> shop = make_shop(n_customers=300, seed=0)
>>> shop.truth.columns[:3].tolist()
['customer_id', 'churned', 'churn_date']
"""

from __future__ import annotations

from churnkit.datasets._interviews import make_interviews
from churnkit.datasets._shop import Shop, make_shop

__all__ = ["Shop", "make_interviews", "make_shop"]
