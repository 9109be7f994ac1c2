"""Point-in-time features and churn labels at a cutoff, and what each feature means.

In: a ``TransactionLog`` and cutoffs. Out: one feature row per customer and cutoff (seeing
only orders up to the cutoff), labels at a horizon, the BTYD summary (frequency, recency, T,
monetary value), feature descriptions in English and Russian, and the driver themes.
"""
