"""Churn models, their baselines and their evaluation.

In: feature tables (or a ``TransactionLog`` and cutoffs). Out: a fitted ``ChurnModel``
(LightGBM per population, calibrated, level-corrected, with a survival model for timing and
SHAP drivers in words), scores per customer, the BG/NBD and Gamma-Gamma fitters, the
temporal backtest against baselines, metrics and model figures.
"""
