"""The stages as one pipeline: a project config, one function per stage, the cached run, the demo.

In: a ``ProjectConfig`` (or each stage's inputs and settings). Out: one output folder per
stage (tables, figures, a manifest), written atomically; ``run_project`` runs them in order and
reuses the stages whose inputs and settings did not change.
"""
