"""The canonical column names of churnkit's input tables and what each holds."""

from __future__ import annotations

ORDER_REQUIRED: tuple[str, ...] = ("customer_id", "order_date", "revenue")

# canonical optional order columns -> kind ("str", "float", "int")
ORDER_OPTIONAL: dict[str, str] = {
    "order_id": "str",
    "quantity": "float",
    "category": "str",
    "channel": "str",
    "device": "str",
    "region": "str",
    "discount": "float",
    "delivery_days": "float",
    "bonus_earned": "float",
    "bonus_spent": "float",
    "bonus_expired": "float",
}

CUSTOMER_REQUIRED: tuple[str, ...] = ("customer_id",)

CUSTOMER_OPTIONAL: dict[str, str] = {
    "registered_at": "date",
    "acquisition_channel": "str",
    "first_name": "str",
    "email": "str",
    "phone": "str",
    "research_opt_in": "bool",
    "marketing_opt_in": "bool",
    "is_employee": "bool",
    "is_test": "bool",
}

# columns that identify a person; never written into analysis files
PII_COLUMNS: tuple[str, ...] = ("first_name", "email", "phone")
