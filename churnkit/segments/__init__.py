"""Lifecycle segments: who is new, loyal, at risk, sleeping… at a date, and how that moves.

In: a ``TransactionLog`` and ``SegmentRules``. Out: one segment per customer at a date, the
segment profile, month-by-month sizes, retention rates and migrations, and their figures.
"""
