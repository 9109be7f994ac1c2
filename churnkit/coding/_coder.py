"""Suggested codes for interview answers: a transparent, rule-based first pass for human coders.

Each answer is normalised and split into clauses (:mod:`churnkit.coding._text`); every code's patterns
are searched; a mention that the same clause denies («цены нормальные», "nothing wrong with
the app") is dropped; what remains are the answer's codes. The primary code is the emphasised
reason («главное», "mainly"), else the first genuine one; "still buys" (``not_churned``) wins
over any complaint, and an answer with no reason gets ``other``.

The rules are deliberately simple and visible in the codebook, so a researcher can see why a
code was suggested (``evidence``) and fix the codebook instead of a model.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

import pandas as pd

from churnkit.coding._codebook import FALLBACK_CODE, Code, Codebook, Matchers, load_codebook
from churnkit.coding._text import Normalised, normalise
from churnkit.core._errors import DataValidationError, MissingColumnError

# the code that means "this person has not left"; it is primary whenever it is found
STILL_BUYING = "not_churned"

# confidence: a sub-code's pattern is more specific than a theme's generic stem
_BASE_THEME, _BASE_SUB = 0.55, 0.7
_PER_EXTRA_MENTION, _MAX_EXTRA = 0.1, 2
_EMPHASIS_BONUS, _CAP = 0.15, 0.95
_FALLBACK_CONFIDENCE = 0.3
# a comma between a cue and a mention counts as this many words of distance
_COMMA_DISTANCE = 3

_WORD = re.compile(r"\w+")
_NEGATED_AFTER = re.compile(r"\w* (?:не|not|never)\b")

OUTPUT_COLUMNS = ("code", "theme", "group", "evidence", "confidence", "is_primary")


@dataclass
class _Mention:
    """Where a code's pattern (or, with ``code=None``, a theme's neutral topic word) matched."""

    theme: str
    code: Code | None
    start: int
    end: int
    clause: int
    first_word: int
    last_word: int
    denied: bool = False


@dataclass
class _Layout:
    """Where clauses, words and commas are in one normalised answer."""

    clause_ends: list[int]
    word_starts: list[int]
    commas: list[int]

    @classmethod
    def of(cls, norm: Normalised) -> _Layout:
        return cls(
            clause_ends=[i for i, ch in enumerate(norm.text) if ch == "\n"],
            word_starts=[m.start() for m in _WORD.finditer(norm.text)],
            commas=list(norm.commas),
        )

    def clause(self, pos: int) -> int:
        return bisect.bisect_right(self.clause_ends, pos)

    def word(self, pos: int) -> int:
        return max(bisect.bisect_right(self.word_starts, pos) - 1, 0)

    def distance(self, a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
        """Words between two spans (start, end, first word, last word) plus a cost per comma."""
        (sa, ea, fa, la), (sb, eb, fb, lb) = a, b
        if sa < eb and sb < ea:
            return 0
        if ea <= sb:
            gap, lo, hi = fb - la, ea, sb
        else:
            gap, lo, hi = fa - lb, eb, sa
        commas = bisect.bisect_left(self.commas, hi) - bisect.bisect_left(self.commas, lo)
        return max(gap, 0) + _COMMA_DISTANCE * commas


def _span(layout: _Layout, m: re.Match[str]) -> tuple[int, int, int, int]:
    start, end = m.span()
    return start, end, layout.word(start), layout.word(max(end - 1, start))


def _mention(layout: _Layout, theme: str, code: Code | None, m: re.Match[str]) -> _Mention:
    start, end, first, last = _span(layout, m)
    return _Mention(theme, code, start, end, layout.clause(start), first, last)


def _nearest(
    layout: _Layout, cue: tuple[int, int, int, int], candidates: list[_Mention]
) -> list[_Mention]:
    """The candidates closest to ``cue``, with same-theme mentions right next to them.

    "the loyalty programme was fine": the cue is nearest to "programme" (a topic word), and
    "loyalty" next to it is the same mention of the same theme.
    """
    if not candidates:
        return []
    spans = [(m.start, m.end, m.first_word, m.last_word) for m in candidates]
    dist = [layout.distance(cue, span) for span in spans]
    best = min(dist)
    chosen = [m for m, d in zip(candidates, dist, strict=True) if d == best]
    return [
        m
        for m, span in zip(candidates, spans, strict=True)
        if m in chosen
        or any(
            m.theme == c.theme
            and layout.distance(span, (c.start, c.end, c.first_word, c.last_word)) <= 1
            for c in chosen
        )
    ]


def _deny(norm: str, layout: _Layout, mentions: list[_Mention], matchers: Matchers) -> None:
    """Mark mentions that a denial cue in the same clause cancels.

    A cue cancels the nearest mention in its clause. Neutral topic words ("app", «сайт») take
    part as anchors, so in "nothing wrong with the app, I found it cheaper" the cue lands on
    "app", not on the real reason.
    """
    cues: list[tuple[re.Match[str], str | None]] = []
    if matchers.denial is not None:
        cues += [(m, None) for m in matchers.denial.finditer(norm)]
    if not cues and not matchers.theme_denial:
        return
    anchors = [
        _mention(layout, theme, None, m)
        for theme, pattern in matchers.topics
        for m in pattern.finditer(norm)
    ]
    for theme in {m.theme for m in mentions}:
        pattern = matchers.theme_denial.get(theme)
        if pattern is not None:
            cues += [(m, theme) for m in pattern.finditer(norm)]
    for cue, theme in cues:
        clause = layout.clause(cue.start())
        clause_start = layout.clause_ends[clause - 1] + 1 if clause else 0
        before = norm[clause_start : cue.start()]
        # «цены не устраивали», "the app was not good", «нормально не грузится»: a negated
        # praise is a complaint
        if matchers.negated is not None and matchers.negated.search(before):
            continue
        if _NEGATED_AFTER.match(norm, cue.end()):
            continue
        candidates = [
            m
            for m in mentions + anchors
            if m.clause == clause
            and (m.code is None or m.code.deniable)
            and (theme is None or m.theme == theme)
        ]
        for m in _nearest(layout, _span(layout, cue), candidates):
            m.denied = True


def _emphasised_themes(
    norm: str, layout: _Layout, kept: list[_Mention], matchers: Matchers
) -> dict[str, int]:
    """Themes an emphasis cue points at, with the position of the cue."""
    found: dict[str, int] = {}
    if matchers.emphasis is None:
        return found
    for cue in matchers.emphasis.finditer(norm):
        clause = layout.clause(cue.start())
        same = [m for m in kept if m.clause == clause]
        # «главное — ...» may stand alone in its clause: then it points at the next clause
        targets = (
            _nearest(layout, _span(layout, cue), same)
            or [
                m
                for m in kept
                if m.clause == min((k.clause for k in kept if k.clause > clause), default=-1)
            ][:1]
        )
        for m in targets:
            found.setdefault(m.theme, cue.start())
    return found


def _code_text(
    text: str, matchers: Matchers, book: Codebook
) -> list[tuple[str, str, str, str, float, bool]]:
    """Suggested codes of one answer: (code, theme, group, evidence, confidence, is_primary)."""
    norm: Normalised = normalise(text, matchers.clause_breaks)
    layout = _Layout.of(norm)
    mentions: list[_Mention] = []
    for code, pattern in matchers.codes:
        for m in pattern.finditer(norm.text):
            mentions.append(_mention(layout, code.theme, code, m))
    _deny(norm.text, layout, mentions, matchers)
    kept = [m for m in mentions if not m.denied]
    if not kept:
        fallback = book.code(FALLBACK_CODE)
        return [(fallback.id, fallback.theme, fallback.group, "", _FALLBACK_CONFIDENCE, True)]
    emphasis = _emphasised_themes(norm.text, layout, kept, matchers)

    by_code: dict[str, list[_Mention]] = {}
    for m in sorted(kept, key=lambda m: (m.start, m.theme == m.code.id)):
        by_code.setdefault(m.code.id, []).append(m)
    themes_with_sub = {book.theme_of(c) for c in by_code if "." in c}
    # a sub-code says more than its theme's generic mention: keep only the sub-code
    codes = {c: ms for c, ms in by_code.items() if "." in c or c not in themes_with_sub}
    first_pos = {c: ms[0].start for c, ms in codes.items()}

    themes = {book.theme_of(c) for c in codes}
    if STILL_BUYING in themes:
        primary_theme = STILL_BUYING
    elif emphasis.keys() & themes:
        primary_theme = min(emphasis.keys() & themes, key=lambda t: emphasis[t])
    else:
        primary_theme = book.theme_of(min(codes, key=first_pos.__getitem__))
    primary = min(
        (c for c in codes if book.theme_of(c) == primary_theme), key=first_pos.__getitem__
    )

    rows = []
    for c in sorted(codes, key=lambda c: (c != primary, first_pos[c])):
        ms = codes[c]
        code = book.code(c)
        confidence = _BASE_THEME if code.is_theme else _BASE_SUB
        confidence += _PER_EXTRA_MENTION * min(len(ms) - 1, _MAX_EXTRA)
        if code.theme in emphasis:
            confidence += _EMPHASIS_BONUS
        evidence = norm.original(ms[0].start, ms[0].end)
        rows.append(
            (c, code.theme, code.group, evidence, round(min(confidence, _CAP), 2), c == primary)
        )
    return rows


def code_answers(
    answers: pd.DataFrame,
    codebook: Codebook | None = None,
    id_col: str = "answer_id",
    text_col: str = "text",
    lang_col: str | None = None,
) -> pd.DataFrame:
    """Suggest reason codes for interview answers (Russian and English), one row per (answer, code).

    Parameters
    ----------
    answers : pandas.DataFrame
        One row per answer, with a unique ``id_col`` and the answer text in ``text_col``.
    codebook : Codebook, optional
        The codes and patterns to use; the packaged default codebook when omitted.
    id_col, text_col : str
        Names of the answer id and text columns.
    lang_col : str, optional
        A column of language codes (``ru``, ``en``; must be languages of the codebook) to use
        only that language's patterns. Missing values, or no ``lang_col``, use all languages.

    Returns
    -------
    pandas.DataFrame
        Columns ``id_col, code, theme, group, evidence, confidence, is_primary``: every
        answer has at least one row and exactly one primary row; answers keep their input
        order and the primary code comes first. ``evidence`` is the matched words as the
        customer wrote them (empty for the ``other`` fallback); ``confidence`` in [0, 1] is a
        heuristic (specific sub-code > generic theme; more mentions and emphasis add to it).

    Raises
    ------
    MissingColumnError
        If ``id_col``, ``text_col`` or ``lang_col`` is not a column of ``answers``.
    DataValidationError
        If answer ids repeat, a text is not a string, or a language is not in the codebook.

    Examples
    --------
    >>> import pandas as pd
    >>> answers = pd.DataFrame({
    ...     "answer_id": ["a1", "a2"],
    ...     "text": ["Цены нормальные, но курьер опоздал на три часа",
    ...              "Mainly my bonus points expired; also found it cheaper elsewhere"],
    ... })
    >>> code_answers(answers)[["answer_id", "code", "is_primary"]]
      answer_id                      code  is_primary
    0        a1          delivery.courier        True
    1        a1             delivery.slow       False
    2        a2     loyalty.bonus_expired        True
    3        a2  price.competitor_cheaper       False
    """
    book = _default_codebook() if codebook is None else codebook
    _validate(answers, book, id_col, text_col, lang_col)
    langs = answers[lang_col].tolist() if lang_col is not None else [None] * len(answers)
    rows = []
    for answer_id, text, lang in zip(
        answers[id_col].tolist(), answers[text_col].tolist(), langs, strict=True
    ):
        matchers = book.matchers(None if pd.isna(lang) else lang)
        rows += [(answer_id, *row) for row in _code_text(text, matchers, book)]
    out = pd.DataFrame(rows, columns=[id_col, *OUTPUT_COLUMNS])
    return out.astype({"confidence": "float64", "is_primary": "bool"})


@functools.cache
def _default_codebook() -> Codebook:
    # compiling the default codebook's patterns takes a moment; do it once per process
    return load_codebook()


def _validate(
    answers: pd.DataFrame, book: Codebook, id_col: str, text_col: str, lang_col: str | None
) -> None:
    if not isinstance(answers, pd.DataFrame):
        raise DataValidationError(
            f"answers must be a pandas DataFrame with columns {id_col!r} and {text_col!r}, got {type(answers).__name__}"
        )
    for col in (id_col, text_col, lang_col):
        if col is not None and col not in answers.columns:
            raise MissingColumnError(
                f"answers have no column {col!r}; columns are {list(answers.columns)}. Pass id_col=/text_col=/lang_col= to name yours."
            )
    dup = answers[id_col][answers[id_col].duplicated()]
    if len(dup):
        raise DataValidationError(
            f"answer ids in column {id_col!r} must be unique; repeated: {dup.unique()[:10].tolist()}"
        )
    not_text = answers.loc[~answers[text_col].map(lambda v: isinstance(v, str)), id_col]
    if len(not_text):
        raise DataValidationError(
            f"column {text_col!r} must hold strings; answers {not_text.tolist()[:10]} have none (use '' for an empty answer)"
        )
    if lang_col is not None:
        lang = answers[lang_col]
        bad = lang.notna() & ~lang.isin(book.languages)
        if bad.any():
            raise DataValidationError(
                f"column {lang_col!r} has languages the codebook does not cover: "
                f"{sorted(map(str, lang[bad].unique()))[:10]} (answers {answers.loc[bad, id_col].tolist()[:10]}); "
                f"use one of {book.languages} or leave the value empty to try all"
            )
