"""Synthetic interview answers with known codes: the ground truth for testing interview coding."""

from __future__ import annotations

import numbers
import random
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from churnkit.core._errors import ChurnkitError, DataValidationError, MissingColumnError
from churnkit.datasets import _interview_phrases as ph

# the codebook's theme ids
THEMES: tuple[str, ...] = (
    "price",
    "delivery",
    "loyalty",
    "technical",
    "trust",
    "assortment",
    "service",
    "communication",
    "no_need",
    "not_churned",
    "other",
)
# themes a respondent may bring up only to say they were fine
DENIABLE: tuple[str, ...] = tuple(ph.DENIALS)
# side remarks that churners add as a genuine secondary reason
NOISE_THEMES: tuple[str, ...] = ("assortment", "service", "communication")
# answers with no real reason: an emphasis cue ("главное — …") would make them read oddly
_UNEMPHASISED = ("not_churned", "other")

TRUTH_COLUMNS: tuple[str, ...] = ("customer_id", "churned", "churn_reason", "churn_reasons")
COLUMNS: tuple[str, ...] = (
    "answer_id",
    "customer_id",
    "lang",
    "text",
    "true_primary",
    "true_codes",
    "denied",
)

# how often each feature of an answer occurs; tuned so that 500 answers look like a real study
P_RU_IN_MIX = 0.7  # share of Russian answers when lang="mix"
P_DENIAL = 0.175  # answers that deny one topic (the brief asks for 15-20%)
P_NOISE = 0.10  # churners who add an assortment/service/communication remark
P_MILD = 0.30  # customers who still buy and mention a small complaint
P_PRIMARY_FIRST = 0.70  # multi-reason answers that open with the primary reason
P_EMPHASIS_FIRST = 0.35  # ... and stress it ("главное — …")
P_EMPHASIS_SINGLE = 0.10  # single-reason answers that stress their only reason
P_QUESTION = 0.25  # answers transcribed with the interviewer's question
P_OPENER = 0.45  # answers that start with some context ("мы у вас года два заказывали")
P_CLOSER = 0.35
P_FILLER = 0.30  # per sentence: «ну», «в общем», "honestly"
P_NO_YO = 0.50  # Russian answers typed without «ё»
P_LOWERCASE = 0.10  # answers typed all in lower case
P_TYPO = 0.08  # answers with one mistyped word
P_NO_FINAL_DOT = 0.15
_ENDINGS = (".", "!", "...")
_ENDING_WEIGHTS = (0.85, 0.05, 0.10)

_SLOT = re.compile(r"\{(\w+)\}")
_FIRST_WORD = re.compile(r"[\w'-]+")
_TYPO_WORD = re.compile(r"[^\W\d_]{5,}")
# capitalised words of the slot values (brands, shops, platforms) keep their capital letter
_PROPER_NOUNS: frozenset[str] = frozenset(
    word
    for by_lang in ph.SLOTS.values()
    for values in by_lang.values()
    for value in values
    for word in value.split()
    if word[:1].isupper()
)


def make_interviews(
    customer_ids: Iterable[Any],
    truth: pd.DataFrame,
    seed: int = 0,
    lang: str = "mix",
) -> pd.DataFrame:
    """Generate realistic interview answers of churn-study respondents, with their true codes.

    Churners explain why they left, in the words people use (varied word forms, fillers,
    typos, several reasons in one answer, topics mentioned only to be denied); customers who
    still buy say so, sometimes with a mild complaint. Because every answer's codes are known,
    the output measures how well interview coding (automatic or human) recovers them.

    Parameters
    ----------
    customer_ids : iterable of customer ids
        Who was interviewed, in interview order; each must appear once and be in ``truth``.
    truth : DataFrame
        At least ``customer_id``, ``churned`` (bool), ``churn_reason`` (the primary theme id,
        or None) and ``churn_reasons`` (';'-joined theme ids, primary first; may be empty).
        A churner without any recorded reason answers vaguely (``other``). Non-churners answer
        ``not_churned`` whatever their reason columns hold.
    seed : int, default 0
        Non-negative. Each answer depends only on the seed and its customer's id and truth, so
        a customer answers the same whoever else is interviewed.
    lang : {"mix", "ru", "en"}, default "mix"
        Language of the answers; ``"mix"`` draws Russian for about 70% of answers.

    Returns
    -------
    DataFrame
        One row per interview, in the order of ``customer_ids``: ``answer_id`` ("A00001", …),
        ``customer_id``, ``lang`` ("ru"/"en"), ``text``, ``true_primary`` (theme id),
        ``true_codes`` (';'-joined theme ids expressed as reasons, primary first; a
        non-churner's complaint follows ``not_churned``) and ``denied`` (';'-joined theme ids
        mentioned only to be denied, "" when none; never among ``true_codes``).

    Raises
    ------
    DataValidationError
        If ``truth`` lacks a column (``MissingColumnError``), repeats a customer, holds an
        unknown theme id or a missing ``churned`` flag, or ``customer_ids`` repeats a customer
        or names customers that ``truth`` does not have.
    ChurnkitError
        If ``lang`` or ``seed`` is invalid.

    Examples
    --------
    >>> import pandas as pd
    >>> truth = pd.DataFrame({
    ...     "customer_id": ["C1", "C2", "C3"],
    ...     "churned": [True, True, False],
    ...     "churn_reason": ["price", "loyalty", None],
    ...     "churn_reasons": ["price;technical", "loyalty", ""],
    ... })
    >>> answers = make_interviews(["C3", "C1"], truth, seed=1, lang="en")
    >>> answers[["answer_id", "customer_id", "true_primary"]].to_numpy().tolist()
    [['A00001', 'C3', 'not_churned'], ['A00002', 'C1', 'price']]
    >>> answers["true_codes"].iloc[1].split(";")[:2]
    ['price', 'technical']
    """
    if lang not in ("mix", "ru", "en"):
        raise ChurnkitError(f"lang must be 'mix', 'ru' or 'en', got {lang!r}.")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ChurnkitError(f"seed must be a non-negative int, got {seed!r}.")
    if isinstance(customer_ids, str):
        raise ChurnkitError(
            f"customer_ids must be a list of ids, got the string {customer_ids!r}; "
            f"pass [{customer_ids!r}] for one customer."
        )
    ids = list(customer_ids)
    reasons_of = _reasons_of(ids, truth)
    rows = []
    for number, customer_id in enumerate(ids, start=1):
        # string seeds are hashed with SHA-512 by `random`, so answers are stable across runs
        rng = random.Random(f"{int(seed)}:{customer_id}")
        answer_lang = lang if lang != "mix" else ("ru" if rng.random() < P_RU_IN_MIX else "en")
        text, codes, denied = _answer(rng, answer_lang, reasons_of[customer_id])
        rows.append(
            (
                f"A{number:05d}",
                customer_id,
                answer_lang,
                text,
                codes[0],
                ";".join(codes),
                ";".join(denied),
            )
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _reasons_of(ids: list[Any], truth: pd.DataFrame) -> dict[Any, list[str] | None]:
    """Map each interviewed customer to their true reasons (primary first), None if not churned."""
    if not isinstance(truth, pd.DataFrame):
        raise DataValidationError(f"truth must be a pandas DataFrame, got {type(truth).__name__}.")
    missing = [c for c in TRUTH_COLUMNS if c not in truth.columns]
    if missing:
        raise MissingColumnError(
            f"truth lacks the column(s) {missing}; it needs {list(TRUTH_COLUMNS)} "
            f"(has {list(truth.columns)}). Shop.truth from churnkit.datasets.make_shop has them."
        )
    repeated = truth["customer_id"][truth["customer_id"].duplicated()].unique().tolist()
    if repeated:
        raise DataValidationError(
            f"truth has several rows for customer_id {_some(repeated)}; keep one row per customer."
        )
    interviewed = pd.Series(ids, dtype=object)
    repeated = interviewed[interviewed.duplicated()].unique().tolist()
    if repeated:
        raise DataValidationError(
            f"customer_ids lists {_some(repeated)} more than once; interview each customer once."
        )
    known = set(truth["customer_id"])
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise DataValidationError(
            f"customer_ids has {len(unknown)} id(s) that are not in truth: {_some(unknown)}; "
            "interview customers of the same shop (check the id type, e.g. 'C000123' vs 123)."
        )
    rows = truth.set_index("customer_id").loc[ids, list(TRUTH_COLUMNS[1:])]
    unflagged = rows.index[~rows["churned"].map(lambda v: isinstance(v, bool | np.bool_))]
    if len(unflagged):
        raise DataValidationError(
            f"truth: 'churned' must be True or False, but customer_id {_some(unflagged.tolist())} "
            f"has {_some(rows.loc[unflagged, 'churned'].tolist())}; fill the flag for them."
        )
    reasons_of: dict[Any, list[str] | None] = {}
    for customer_id, churned, primary, joined in rows.itertuples(name=None):
        if not churned:
            reasons_of[customer_id] = None
            continue
        listed = [] if _blank(joined) else [r.strip() for r in str(joined).split(";") if r.strip()]
        if not _blank(primary):
            listed.insert(0, str(primary).strip())
        reasons = list(dict.fromkeys(listed)) or ["other"]
        bad = [r for r in reasons if r not in THEMES or r == "not_churned"]
        if bad:
            raise DataValidationError(
                f"truth: customer_id {customer_id!r} churned with unknown reason(s) {bad}; "
                f"use the codebook's theme ids {[t for t in THEMES if t != 'not_churned']}."
            )
        reasons_of[customer_id] = reasons
    return reasons_of


def _answer(
    rng: random.Random, lang: str, reasons: list[str] | None
) -> tuple[str, list[str], list[str]]:
    """Compose one answer: its text, its true codes (primary first) and its denied themes."""
    churned = reasons is not None
    if churned:
        codes = list(reasons)
        # a vague answer stays vague: a side remark would read as its main reason
        extra = [t for t in NOISE_THEMES if t not in codes] if codes[0] != "other" else []
        if extra and rng.random() < P_NOISE:
            codes.append(rng.choice(extra))
        clauses = [_fill(rng, lang, rng.choice(ph.REASONS[code][lang])) for code in codes]
    else:
        codes = ["not_churned"]
        if rng.random() < P_MILD:
            codes.append(rng.choice(list(ph.MILD)))
        clauses = [_fill(rng, lang, rng.choice(ph.REASONS["not_churned"][lang]))]
        clauses += [_fill(rng, lang, rng.choice(ph.MILD[code][lang])) for code in codes[1:]]

    # (sentence, starts with the bare clause) pairs; only bare starts take a filler or a denial
    body = _order_reasons(rng, lang, codes, clauses, churned)
    denied: list[str] = []
    deniable = [t for t in DENIABLE if t not in codes]
    if deniable and rng.random() < P_DENIAL:
        denied.append(rng.choice(deniable))
        denial = _fill(rng, lang, rng.choice(ph.DENIALS[denied[0]][lang]))
        body = _add_denial(rng, lang, body, denial, churned)

    if rng.random() < P_OPENER:
        body.insert(0, (_fill(rng, lang, rng.choice(ph.OPENERS[lang][churned])), True))
    if rng.random() < P_CLOSER:
        body.append((rng.choice(ph.CLOSERS[lang][churned]), False))
    sentences = [
        _lower_first(rng.choice(ph.FILLERS[lang]), s) if bare and rng.random() < P_FILLER else s
        for s, bare in body
    ]
    ends = rng.choices(_ENDINGS, weights=_ENDING_WEIGHTS, k=len(sentences))
    text = " ".join(_capitalise(s) + end for s, end in zip(sentences, ends, strict=True))
    if rng.random() < P_QUESTION:
        text = f"{rng.choice(ph.QUESTIONS[lang][churned])}\n— {text}"
    return _typing_habits(rng, lang, text), codes, denied


def _order_reasons(
    rng: random.Random, lang: str, codes: list[str], clauses: list[str], churned: bool
) -> list[tuple[str, bool]]:
    """Sentences of the reasons, the primary first or last and sometimes stressed."""
    primary, others = clauses[0], clauses[1:]
    can_stress = codes[0] not in _UNEMPHASISED
    lead = ph.SECONDARY[lang] if churned else ph.MILD_LEAD[lang]
    if not others:
        if can_stress and rng.random() < P_EMPHASIS_SINGLE:
            return [(_lower_first(rng.choice(ph.EMPHASIS_FIRST[lang]), primary), False)]
        return [(primary, True)]
    if not can_stress or rng.random() < P_PRIMARY_FIRST:
        if can_stress and rng.random() < P_EMPHASIS_FIRST:
            body = [(_lower_first(rng.choice(ph.EMPHASIS_FIRST[lang]), primary), False)]
        else:
            body = [(primary, True)]
        return body + [(_lower_first(rng.choice(lead), c), False) for c in others]
    # the primary comes last, so it must be stressed to stay recognisable as the main reason
    body = [(others[0], True)]
    body += [(_lower_first(rng.choice(lead), c), False) for c in others[1:]]
    return [*body, (_lower_first(rng.choice(ph.EMPHASIS_LATER[lang]), primary), False)]


def _add_denial(
    rng: random.Random, lang: str, body: list[tuple[str, bool]], denial: str, churned: bool
) -> list[tuple[str, bool]]:
    """Put a denial before a reason («цены нормальные, но …»), after one, or on its own.

    Someone who still buys has no reason to contrast a denial with, so it stands alone.
    """
    body = list(body)
    ways = ["alone"]
    if churned:
        ways += ["after"] + (["before", "before"] if body[0][1] else [])
    way = rng.choice(ways)
    if way == "before":
        template = rng.choice(ph.DENIAL_BEFORE[lang])
        body[0] = (_join(template, body[0][0], denial), True)
    elif way == "after":
        at = rng.randrange(len(body))
        template = rng.choice(ph.DENIAL_AFTER[lang])
        body[at] = (_join(template, body[at][0], denial), body[at][1])
    else:
        body.insert(rng.randrange(len(body) + 1), (denial, True))
    return body


def _join(template: str, reason: str, denial: str) -> str:
    return (
        template.replace("{r}", _lower_first("{s}", reason))
        .replace("{d}", _lower_first("{s}", denial))
        .replace("{D}", _capitalise(denial))
    )


def _fill(rng: random.Random, lang: str, template: str) -> str:
    return _SLOT.sub(lambda m: rng.choice(ph.SLOTS[m.group(1)][lang]), template)


def _lower_first(template: str, clause: str) -> str:
    """Put ``clause`` into ``template`` at ``{s}``, lowering its first letter unless it is a name.

    "I", acronyms ("SMS") and the brands and shops of the slots ("Royal Canin", «Озоне») keep
    their capital letter.
    """
    word = _FIRST_WORD.match(clause)
    first = word.group(0) if word else ""
    keep = first in _PROPER_NOUNS or first == "I" or first.startswith("I'") or first[1:2].isupper()
    return template.replace("{s}", clause if keep else clause[:1].lower() + clause[1:])


def _capitalise(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _typing_habits(rng: random.Random, lang: str, text: str) -> str:
    """How people type: no «ё», all lower case, a typo, no final full stop."""
    if lang == "ru" and rng.random() < P_NO_YO:
        text = text.replace("ё", "е").replace("Ё", "Е")
    if rng.random() < P_LOWERCASE:
        text = text.lower()
    if rng.random() < P_TYPO:
        words = [m for m in _TYPO_WORD.finditer(text) if m.group(0) not in _PROPER_NOUNS]
        if words:
            word = rng.choice(words)
            text = text[: word.start()] + _typo(rng, word.group(0)) + text[word.end() :]
    if text.endswith(".") and not text.endswith("...") and rng.random() < P_NO_FINAL_DOT:
        text = text[:-1]
    return text


def _typo(rng: random.Random, word: str) -> str:
    """One slip of the finger inside a word: swapped, dropped or doubled letter."""
    i = rng.randrange(1, len(word) - 2)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _blank(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return bool(pd.isna(value))


def _some(values: list[Any], limit: int = 10) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return f"[{shown}{', …' if len(values) > limit else ''}]"
