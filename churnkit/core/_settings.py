"""Settings objects: strict pydantic models and errors that name the key and say what to do.

Shared by every options object (``SampleDesign``) and the project config, so a bad value reads
the same whether it came from Python, the command line or a YAML file.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


class Strict(BaseModel):
    """A frozen settings model that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def explain(error: ValidationError, source: str) -> str:
    """One line per problem: the key path, what is wrong, what to do."""
    lines = []
    for e in error.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top)"
        kind = e["type"]
        given = e.get("input")
        if kind == "extra_forbidden":
            lines.append(f"{key}: unknown key; remove it or check its spelling and indentation.")
        elif kind == "missing":
            lines.append(f"{key}: required; add it.")
        elif (
            "date" in kind or key == "as_of" or (kind == "value_error" and "isoformat" in e["msg"])
        ):
            lines.append(f"{key}: not a date: {given!r}; write it as YYYY-MM-DD, e.g. 2024-12-31.")
        elif kind == "value_error":
            message = e["msg"].removeprefix("Value error, ")
            lines.append(message if key == "(top)" else f"{key}: {message}")
        elif kind == "literal_error":
            lines.append(f"{key}: {given!r} is not allowed; {e['msg'].lower()}.")
        else:
            lines.append(f"{key}: {e['msg']} (got {given!r}).")
    return f"{source}: " + " ".join(lines)
