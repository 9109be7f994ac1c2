"""Text normalisation for the rule-based coder: one string per answer, one clause per line.

Patterns in a codebook are matched against normalised text, so both sides agree on what a
"word" is: lower case, «ё» read as «е», apostrophes dropped ("don't" -> "dont"), every other
punctuation mark a space, and sentence ends written as newlines so that a pattern's ``.``
never runs into the next clause. Commas become spaces too (patterns read across them), but
their positions are kept: a comma weakens the link between a denial cue and a topic. The normaliser keeps a map back to the
original characters, so the evidence shown to a coder is the customer's own spelling.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# dropped without a trace so that contractions stay one word
_APOSTROPHES = frozenset("'’ʼ`´")
_TOKEN = re.compile(
    r"(?P<word>[^\W_]+(?:['’ʼ`´]+[^\W_]+)*)"
    r"|(?P<stop>[.!?;…\n\r\u2028\u2029])"  # sentence ends: clause breaks
    r"|(?P<comma>,)"
    r"|(?P<gap>[\W_])"
)


@dataclass(frozen=True)
class Normalised:
    """Normalised text, where its commas were, and the original index of each of its characters."""

    text: str
    source: str
    index: tuple[int, ...]
    commas: tuple[int, ...]

    def original(self, start: int, end: int) -> str:
        """The original text behind ``text[start:end]``, widened to whole words."""
        if end <= start:
            return ""
        lo, hi = self.index[start], self.index[end - 1] + 1
        # a stem pattern ends inside a word: show the whole word the customer wrote
        while hi < len(self.source) and (
            self.source[hi].isalnum() or self.source[hi] in _APOSTROPHES
        ):
            hi += 1
        while lo > 0 and self.source[lo - 1].isalnum():
            lo -= 1
        return self.source[lo:hi].strip()


def normalise(text: str, clause_breaks: re.Pattern[str] | None = None) -> Normalised:
    """Lower-case ``text``, read «ё» as «е», turn punctuation into spaces and sentence ends into newlines.

    Parameters
    ----------
    text : str
        One answer as the customer (or the interviewer) wrote it.
    clause_breaks : re.Pattern, optional
        Matches the single space before a contrastive word («но», "but"); that space becomes a
        newline, so "prices were fine but delivery was slow" is two clauses.

    Returns
    -------
    Normalised
        ``text`` (normalised), ``source`` (the NFC form of the input), ``index`` (for each
        normalised character, its position in ``source``) and ``commas`` (positions in ``text``
        where the input had a comma).

    Examples
    --------
    >>> normalise("Цены — нормальные. Доставка: долгая!").text
    'цены нормальные\\nдоставка долгая'
    """
    source = unicodedata.normalize("NFC", text)
    chars: list[str] = []
    index: list[int] = []
    commas: list[int] = []
    for m in _TOKEN.finditer(source):
        kind = m.lastgroup
        if kind == "stop":
            if chars and chars[-1] == " ":
                chars.pop()
                index.pop()
            if chars and chars[-1] != "\n":
                chars.append("\n")
                index.append(m.start())
            continue
        if kind == "comma":
            # a comma reads as a space; remember where it was
            commas.append(len(chars) - (1 if chars and chars[-1] == " " else 0))
        if kind != "word":
            if chars and chars[-1] not in " \n":
                chars.append(" ")
                index.append(m.start())
            continue
        word = m.group()
        low = word.lower().replace("ё", "е")
        if len(low) == len(word) and low.isalnum():
            chars.extend(low)
            index.extend(range(m.start(), m.end()))
            continue
        # rare: apostrophes inside the word, or lower() changed its length ("İ" -> "i̇")
        for offset, ch in enumerate(word):
            if ch in _APOSTROPHES:
                continue
            for out in ch.lower().replace("ё", "е"):
                chars.append(out if out.isalnum() else " ")
                index.append(m.start() + offset)
    while chars and chars[-1] in " \n":
        chars.pop()
        index.pop()
    normalised = "".join(chars)
    if clause_breaks is not None:
        # the replaced character is always one space, so the index map still lines up
        normalised = clause_breaks.sub("\n", normalised)
    return Normalised(normalised, source, tuple(index), tuple(commas))


def clause_break_pattern(words: list[str]) -> re.Pattern[str]:
    """Compile a pattern matching the space before any of ``words`` (longest first).

    Examples
    --------
    >>> p = clause_break_pattern(["but", "но"])
    >>> normalise("prices were fine but delivery was slow", p).text
    'prices were fine\\nbut delivery was slow'
    """
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf" (?=(?:{alternatives})(?!\w))")
