"""The leadership report: stage results -> plain data -> typst template -> PDF.

``churn_report.typ`` is the layout, ``strings.yaml`` the wording in English and Russian,
``actions.yaml`` the default per-segment actions; :func:`churnkit.write_report` fills them.
"""
