"""Saturation: do further interviews still bring up new reasons?

Interviews are taken in the order they were held; for each one the curve records which codes
(or themes) appear for the first time. When a long run of interviews adds nothing new, the
study has heard every reason it is likely to hear, and that is what the plain sentence says.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from churnkit.core._errors import DataValidationError, MissingColumnError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: codes that are no reason to leave: they never count as a new theme
NOT_REASONS = ("not_churned", "other")
CURVE_COLUMNS = ("interview", "answer_id", "new", "n_new", "n_seen")
_LEVELS = ("theme", "code")
_WORDS = {
    "en": {"theme": ("theme", "themes"), "code": ("code", "codes")},
    "ru": {"theme": ("новой темы", "тем"), "code": ("нового кода", "кодов")},
}


def saturation_curve(
    codes: pd.DataFrame,
    order: Sequence[Any] | None = None,
    level: str = "theme",
    id_col: str = "answer_id",
    ignore: Sequence[str] = NOT_REASONS,
) -> pd.DataFrame:
    """New codes per interview as interviews accumulate.

    Parameters
    ----------
    codes : pandas.DataFrame
        One row per (answer, code), e.g. from :func:`churnkit.code_answers` or reconciled
        human codes; needs ``id_col`` and ``code``.
    order : sequence of answer ids, optional
        The order the interviews were held in, including answers with no code at all (they
        add nothing). Default: the order answers first appear in ``codes``.
    level : {"theme", "code"}
        Count new themes (``price``) or new codes (``price.went_up``).
    id_col : str
        Name of the answer id column.
    ignore : sequence of str
        Themes that are no reason to leave and never count as new.

    Returns
    -------
    pandas.DataFrame
        One row per interview: ``interview`` (1, 2, …), ``answer_id``, ``new`` (';'-joined
        codes first heard in it), ``n_new`` and ``n_seen`` (distinct codes heard so far).

    Raises
    ------
    MissingColumnError
        If ``id_col`` or ``code`` is missing.
    DataValidationError
        If ``level`` is unknown, ``order`` repeats an answer, or ``codes`` has answers that
        ``order`` does not list.

    Examples
    --------
    >>> import pandas as pd
    >>> codes = pd.DataFrame({"answer_id": [1, 1, 2, 3], "code": ["price", "trust.storage", "price.went_up", "other"]})
    >>> saturation_curve(codes)[["interview", "new", "n_seen"]]
       interview          new  n_seen
    0          1  price;trust       2
    1          2                    2
    2          3                    2
    """
    if level not in _LEVELS:
        raise DataValidationError(f"level must be one of {_LEVELS}, got {level!r}")
    for col in (id_col, "code"):
        if col not in codes.columns:
            raise MissingColumnError(
                f"codes have no column {col!r}; columns are {list(codes.columns)}"
            )
    ids = codes[id_col].drop_duplicates().tolist() if order is None else list(order)
    repeated = pd.Series(ids, dtype=object)
    repeated = repeated[repeated.duplicated()].tolist()
    if repeated:
        raise DataValidationError(f"order lists answers {repeated[:10]} more than once")
    unknown = sorted(set(codes[id_col]) - set(ids), key=str)
    if unknown:
        raise DataValidationError(
            f"codes have answers that order does not list: {unknown[:10]}; pass every answer id"
        )
    label = codes["code"].astype(str)
    theme = label.str.split(".").str[0]
    keep = ~theme.isin(list(ignore))
    heard = (theme if level == "theme" else label)[keep]
    per_answer = heard.groupby(codes[id_col][keep], sort=False).agg(list).to_dict()
    seen: set[str] = set()
    rows = []
    for i, answer_id in enumerate(ids, start=1):
        new = [c for c in dict.fromkeys(per_answer.get(answer_id, [])) if c not in seen]
        seen.update(new)
        rows.append((i, answer_id, ";".join(new), len(new), len(seen)))
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


def saturation_sentence(curve: pd.DataFrame, level: str = "theme", lang: str = "en") -> str:
    """The curve in one plain sentence: how many interviews in a row added nothing new.

    Examples
    --------
    >>> import pandas as pd
    >>> curve = pd.DataFrame({"interview": [1, 2, 3], "n_new": [2, 1, 0], "n_seen": [2, 3, 3]})
    >>> saturation_sentence(curve)
    'The last 1 interview added no new theme (3 themes heard in 3 interviews).'
    """
    if lang not in _WORDS or level not in _LEVELS:
        raise DataValidationError(
            f"lang must be one of {list(_WORDS)} and level one of {_LEVELS}, got {lang!r}, {level!r}"
        )
    one, many = _WORDS[lang][level]
    n = len(curve)
    seen = int(curve["n_seen"].iloc[-1]) if n else 0
    new_at = curve.index[curve["n_new"].to_numpy() > 0]
    quiet = n - (curve.index.get_loc(new_at[-1]) + 1) if len(new_at) else n
    if lang == "ru":
        total = f"({seen} {many} в {n} интервью)"
        if quiet == 0:
            return f"Последнее интервью добавило новую тему: насыщение не достигнуто {total}."
        if quiet == 1:
            return f"Последнее интервью не добавило ни одной {one} {total}."
        return f"Последние {quiet} интервью не добавили ни одной {one} {total}."
    total = f"({seen} {many} heard in {n} interview{'s' * (n != 1)})"
    if quiet == 0:
        return f"The last interview added a new {one}: not saturated yet {total}."
    return f"The last {quiet} interview{'s' * (quiet != 1)} added no new {one} {total}."


def plot_saturation(curve: pd.DataFrame, ax: Axes | None = None, level: str = "theme") -> Axes:
    """Distinct codes heard against interviews held, with the new-code interviews marked.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import pandas as pd
    >>> curve = pd.DataFrame({"interview": [1, 2, 3], "n_new": [2, 1, 0], "n_seen": [2, 3, 3]})
    >>> plot_saturation(curve).get_ylabel()
    'distinct themes heard'
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    ax.step(curve["interview"], curve["n_seen"], where="post", color="C0")
    hit = curve[curve["n_new"] > 0]
    ax.scatter(hit["interview"], hit["n_seen"], s=18, color="C1", zorder=3, label=f"new {level}")
    ax.set_xlabel("interviews held")
    ax.set_ylabel(f"distinct {_WORDS['en'][level][1]} heard")
    ax.set_title(saturation_sentence(curve, level), fontsize="medium")
    ax.set_ylim(bottom=0)
    if len(hit):
        ax.legend(loc="lower right")
    return ax
