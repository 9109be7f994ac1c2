"""churnkit's version, in one place (read by the package, manifests, stage keys and the report)."""

__version__ = "0.1.0"
