"""The leadership report: stage results -> plain data -> typst template -> PDF.

In: every stage's results (validation, segments, backtest, model, scores, sample, codes,
matrix). Out: ``churn_report.pdf`` with its ``data.json``, ``.typ`` source and SVG figures.
``churn_report.typ`` is the layout, ``strings.yaml`` the wording in English and Russian,
``actions.yaml`` the default per-segment actions; :func:`churnkit.write_report` fills them.
"""
