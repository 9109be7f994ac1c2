"""The codebook: reason codes (theme or theme.sub), their groups, owners and matching patterns.

A codebook is a YAML file (``churnkit/coding/codebooks/default.yaml`` is the packaged one). Loading
validates it completely, so a typo in a code, a group or a regex fails at load time with the
file, the code id and the key in the message, never later in the middle of a coding run.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from churnkit.coding._text import clause_break_pattern
from churnkit.core._errors import ChurnkitError, ConfigError

GROUPS = ("obvious", "fixable", "external", "other")
EFFORTS = ("low", "medium", "high")
FALLBACK_CODE = "other"

_ID = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?")
_TOP_KEYS = {
    "name",
    "version",
    "languages",
    "clause_breaks",
    "negators",
    "denial",
    "emphasis",
    "codes",
}
_CODE_KEYS = {
    "id",
    "label",
    "definition",
    "group",
    "owner",
    "effort",
    "include",
    "exclude",
    "patterns",
    "denial",
    "deniable",
    "topics",
}
_REQUIRED_CODE_KEYS = ("id", "label", "definition", "include", "exclude", "patterns")
_CUE_KEYS = ("clause_breaks", "negators", "denial", "emphasis")


@dataclass(frozen=True)
class Code:
    """One code of a codebook, with inherited group/owner/effort already filled in."""

    id: str
    theme: str
    label: dict[str, str]
    definition: str
    group: str
    owner: dict[str, str] | None
    effort: str | None
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    patterns: dict[str, tuple[str, ...]]
    denial: dict[str, tuple[str, ...]]
    topics: dict[str, tuple[str, ...]]
    deniable: bool

    @property
    def is_theme(self) -> bool:
        """True for a theme (``price``), False for a sub-code (``price.went_up``)."""
        return self.id == self.theme


@dataclass(frozen=True)
class Matchers:
    """Compiled patterns of one codebook for one language (or all languages at once)."""

    clause_breaks: re.Pattern[str]
    codes: tuple[tuple[Code, re.Pattern[str]], ...]
    theme_denial: dict[str, re.Pattern[str]]
    topics: tuple[tuple[str, re.Pattern[str]], ...]
    denial: re.Pattern[str] | None
    negated: re.Pattern[str] | None
    emphasis: re.Pattern[str] | None


class Codebook:
    """A validated set of reason codes: themes, sub-codes, groups, owners and patterns.

    Use :func:`load_codebook` to read one from YAML; ``Codebook(data, source)`` validates a
    mapping of the same shape.

    Parameters
    ----------
    data : dict
        The parsed YAML: ``name``, ``languages``, ``codes`` and the cue lists
        (``clause_breaks``, ``negators``, ``denial``, ``emphasis``).
    source : str
        Where ``data`` came from; every error message starts with it.

    Examples
    --------
    >>> book = load_codebook()
    >>> book.themes[:3]
    ['price', 'delivery', 'loyalty']
    >>> book.group_of("loyalty.bonus_expired")
    'fixable'
    >>> book.label("trust.storage", "en")
    'Storage conditions'
    """

    def __init__(self, data: dict[str, Any], source: str = "<codebook>") -> None:
        self.source = source
        self._data = data
        self._codes: dict[str, Code] = {}
        self._matchers: dict[str | None, Matchers] = {}
        self.check()

    # ------------------------------------------------------------------ public
    @property
    def name(self) -> str:
        """The codebook's name (``default`` for the packaged one)."""
        return str(self._data.get("name", Path(self.source).stem))

    @property
    def languages(self) -> list[str]:
        """Languages the codebook's labels and patterns cover, e.g. ``['ru', 'en']``."""
        return list(self._data["languages"])

    @property
    def themes(self) -> list[str]:
        """Theme ids in codebook order."""
        return [c.id for c in self._codes.values() if c.is_theme]

    @property
    def ids(self) -> list[str]:
        """All code ids (themes and sub-codes) in codebook order."""
        return list(self._codes)

    @cached_property
    def codes(self) -> pd.DataFrame:
        """One row per code: id, theme, labels, definition, group, owner, effort."""
        rows = [
            {
                "code": c.id,
                "theme": c.theme,
                "is_theme": c.is_theme,
                **{f"label_{lang}": c.label[lang] for lang in self.languages},
                "definition": c.definition,
                "group": c.group,
                **{f"owner_{lang}": c.owner[lang] if c.owner else None for lang in self.languages},
                "effort": c.effort,
            }
            for c in self._codes.values()
        ]
        return pd.DataFrame(rows)

    def __contains__(self, code: object) -> bool:
        return code in self._codes

    def __len__(self) -> int:
        return len(self._codes)

    def __repr__(self) -> str:
        return f"Codebook({self.name!r}, {len(self.themes)} themes, {len(self)} codes, source={self.source!r})"

    def code(self, code: str) -> Code:
        """The :class:`Code` with id ``code``."""
        try:
            return self._codes[code]
        except KeyError:
            raise ChurnkitError(
                f"code {code!r} is not in codebook {self.name!r} ({self.source}); known codes: {', '.join(self._codes)}"
            ) from None

    def group_of(self, code: str) -> str:
        """The group (obvious, fixable, external, other) of a theme or sub-code."""
        return self.code(code).group

    def owner_of(self, code: str, lang: str = "en") -> str | None:
        """The team that owns the fix of a fixable code, in ``lang`` (None for other groups)."""
        self._check_language(lang)
        owner = self.code(code).owner
        return owner[lang] if owner else None

    def theme_of(self, code: str) -> str:
        """The theme of a code: ``'price'`` for ``'price.went_up'``."""
        return self.code(code).theme

    def label(self, code: str, lang: str = "en") -> str:
        """The human label of ``code`` in ``lang``."""
        self._check_language(lang)
        return self.code(code).label[lang]

    def _check_language(self, lang: str) -> None:
        if lang not in self.languages:
            raise ChurnkitError(
                f"language {lang!r} is not in codebook {self.name!r}; use one of {self.languages}"
            )

    def check(self) -> None:
        """Validate the codebook and compile its patterns; raise ConfigError on the first problem.

        Checked: known keys, unique well-formed ids, every sub-code's theme exists, known groups,
        owner and effort for fixable codes, labels in every language, and every pattern compiles.
        """
        data = self._data
        if not isinstance(data, dict):
            raise ConfigError(
                f"{self.source}: a codebook must be a mapping with a 'codes' list, got {type(data).__name__}"
            )
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise ConfigError(
                f"{self.source}: unknown top-level key(s) {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}"
            )
        languages = data.get("languages")
        if (
            not isinstance(languages, list)
            or not languages
            or not all(isinstance(x, str) for x in languages)
        ):
            raise ConfigError(
                f"{self.source}: key 'languages' must be a non-empty list such as [ru, en]"
            )
        for key in _CUE_KEYS:
            self._lang_lists(data.get(key, {}), None, key)
        raw = data.get("codes")
        if not isinstance(raw, list):
            raise ConfigError(f"{self.source}: key 'codes' must be a list of code mappings")
        by_id: dict[str, dict[str, Any]] = {}
        for i, entry in enumerate(raw):
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise ConfigError(f"{self.source}: codes[{i}] must be a mapping with a string 'id'")
            cid = entry["id"]
            if not _ID.fullmatch(cid):
                raise ConfigError(
                    f"{self.source}: code {cid!r}, key 'id': use lower-case 'theme' or 'theme.sub' (letters, digits, _)"
                )
            if cid in by_id:
                raise ConfigError(
                    f"{self.source}: code {cid!r}, key 'id': duplicate id; every code id must be unique"
                )
            by_id[cid] = entry
        if FALLBACK_CODE not in by_id:
            raise ConfigError(
                f"{self.source}: code {FALLBACK_CODE!r} is missing; it is the code of answers that match nothing. Add it with group 'other'."
            )
        codes = {cid: self._build(cid, entry, by_id) for cid, entry in by_id.items()}
        self._codes = codes
        self._matchers = {}
        self.__dict__.pop("codes", None)
        # compile once now so that a bad pattern fails at load time
        for lang in [*self.languages, None]:
            self.matchers(lang)

    def matchers(self, lang: str | None) -> Matchers:
        """Compiled patterns for ``lang`` (None: every language of the codebook at once)."""
        if lang not in self._matchers:
            self._matchers[lang] = self._compile(lang)
        return self._matchers[lang]

    # ---------------------------------------------------------------- private
    def _fail(self, cid: str, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: code {cid!r}, key {key!r}: {problem}")

    def _lang_lists(self, value: Any, cid: str | None, key: str) -> dict[str, tuple[str, ...]]:
        where = f"code {cid!r}, key {key!r}" if cid else f"key {key!r}"
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(
                f"{self.source}: {where}: must map a language to a list, e.g. {{ru: [...], en: [...]}}"
            )
        out = {}
        for lang, items in value.items():
            if lang not in self._data["languages"]:
                raise ConfigError(
                    f"{self.source}: {where}: language {lang!r} is not in 'languages' {self._data['languages']}"
                )
            if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
                raise ConfigError(f"{self.source}: {where}.{lang}: must be a list of strings")
            for j, pattern in enumerate(items):
                try:
                    re.compile(pattern)
                except re.error as e:
                    raise ConfigError(
                        f"{self.source}: {where}.{lang}[{j}]: regex {pattern!r} does not compile ({e}); fix it or escape special characters with a backslash"
                    ) from e
            out[lang] = tuple(items)
        return out

    def _build(self, cid: str, entry: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> Code:
        self._check_keys(cid, entry)
        theme_id = cid.split(".")[0]
        theme = by_id.get(theme_id)
        if theme is None:
            raise self._fail(
                cid, "id", f"its theme {theme_id!r} is not defined; add a code with id {theme_id!r}"
            )
        group = self._group(cid, entry, theme)
        languages = self._data["languages"]
        owner, effort = self._owner_and_effort(cid, entry, theme, group, languages)
        label = entry["label"]
        if not isinstance(label, dict) or any(
            not isinstance(label.get(lang), str) for lang in languages
        ):
            raise self._fail(
                cid,
                "label",
                f"must give a text for every language {languages}, e.g. {{ru: Цена, en: Price}}",
            )
        if not isinstance(entry["definition"], str) or not entry["definition"].strip():
            raise self._fail(cid, "definition", "must be a one-line text")
        for key in ("include", "exclude"):
            if not isinstance(entry[key], list) or not all(isinstance(x, str) for x in entry[key]):
                raise self._fail(cid, key, "must be a list of example answers (strings)")
        deniable = entry.get("deniable", True)
        if not isinstance(deniable, bool):
            raise self._fail(cid, "deniable", f"must be true or false, got {deniable!r}")
        return Code(
            id=cid,
            theme=theme_id,
            label={lang: label[lang] for lang in languages},
            definition=entry["definition"],
            group=group,
            owner=owner,
            effort=effort,
            include=tuple(entry["include"]),
            exclude=tuple(entry["exclude"]),
            patterns=self._lang_lists(entry["patterns"], cid, "patterns"),
            denial=self._lang_lists(entry.get("denial"), cid, "denial"),
            topics=self._lang_lists(entry.get("topics"), cid, "topics"),
            deniable=deniable,
        )

    def _check_keys(self, cid: str, entry: dict[str, Any]) -> None:
        unknown = set(entry) - _CODE_KEYS
        if unknown:
            raise self._fail(
                cid, sorted(unknown)[0], f"unknown key; allowed keys: {sorted(_CODE_KEYS)}"
            )
        for key in _REQUIRED_CODE_KEYS:
            if key not in entry:
                raise self._fail(
                    cid, key, "missing; every code needs " + ", ".join(_REQUIRED_CODE_KEYS)
                )

    def _group(self, cid: str, entry: dict[str, Any], theme: dict[str, Any]) -> str:
        """The code's group: its own or its theme's, which a sub-code must not contradict."""
        group = entry.get("group", theme.get("group") if theme is not entry else None)
        if group not in GROUPS:
            raise self._fail(
                cid, "group", f"{group!r} is not a known group; use one of {list(GROUPS)}"
            )
        if theme is not entry and group != theme.get("group"):
            raise self._fail(
                cid,
                "group",
                f"{group!r} differs from its theme's group {theme.get('group')!r}; a sub-code inherits its theme's group",
            )
        return group

    def _owner_and_effort(
        self,
        cid: str,
        entry: dict[str, Any],
        theme: dict[str, Any],
        group: str,
        languages: list[str],
    ) -> tuple[dict[str, str] | None, str | None]:
        """Who owns the fix and how hard it is, per language: fixable codes only."""
        if group != "fixable":
            return None, None
        owner = entry.get("owner", theme.get("owner"))
        effort = entry.get("effort", theme.get("effort"))
        # one text for every language, or one per language like a label
        if isinstance(owner, str):
            owner = dict.fromkeys(languages, owner)
        if not isinstance(owner, dict) or any(
            not isinstance(owner.get(lang), str) or not owner[lang].strip() for lang in languages
        ):
            raise self._fail(
                cid,
                "owner",
                f"missing; a fixable code needs the team that owns the fix, in every language "
                f"{languages} or one text for all, e.g. {{ru: Команда приложения, en: Mobile app team}}",
            )
        if effort not in EFFORTS:
            raise self._fail(
                cid,
                "effort",
                f"{effort!r} is not one of {list(EFFORTS)}; a fixable code needs an effort",
            )
        return {lang: owner[lang] for lang in languages}, effort

    def _cues(self, key: str, langs: list[str]) -> list[str]:
        lists = self._lang_lists(self._data.get(key, {}), None, key)
        return [p for lang in langs for p in lists.get(lang, ())]

    def _compile(self, lang: str | None) -> Matchers:
        if lang is not None and lang not in self.languages:
            raise ChurnkitError(
                f"language {lang!r} is not in codebook {self.name!r}; use one of {self.languages}"
            )
        langs = self.languages if lang is None else [lang]
        compiled = []
        for code in self._codes.values():
            pats = [p for lg in langs for p in code.patterns.get(lg, ())]
            if pats:
                compiled.append((code, _word_start_union(pats)))
        # a code's own denial cues apply to its whole theme ("not expensive" denies price.went_up too)
        by_theme: dict[str, list[str]] = {}
        for code in self._codes.values():
            by_theme.setdefault(code.theme, []).extend(
                p for lg in langs for p in code.denial.get(lg, ())
            )
        theme_denial = {theme: _word_start_union(pats) for theme, pats in by_theme.items() if pats}
        topics = [
            (c.theme, [p for lg in langs for p in c.topics.get(lg, ())])
            for c in self._codes.values()
        ]
        negators = self._cues("negators", langs)
        return Matchers(
            clause_breaks=clause_break_pattern(self._cues("clause_breaks", langs) or ["\n"]),
            codes=tuple(compiled),
            theme_denial=theme_denial,
            topics=tuple((theme, _word_start_union(pats)) for theme, pats in topics if pats),
            denial=_optional_union(self._cues("denial", langs)),
            # a negator, then at most one more word, right before a positive cue
            negated=re.compile(rf"(?<!\w)(?:{'|'.join(negators)})(?: \w+)? ?$")
            if negators
            else None,
            emphasis=_optional_union(self._cues("emphasis", langs)),
        )


def _word_start_union(patterns: list[str]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(f"(?:{p})" for p in patterns) + ")")


def _optional_union(patterns: list[str]) -> re.Pattern[str] | None:
    return _word_start_union(patterns) if patterns else None


def load_codebook(path: str | os.PathLike[str] | None = None) -> Codebook:
    """Read and validate a codebook YAML file; ``None`` gives churnkit's default codebook.

    Parameters
    ----------
    path : str or path-like, optional
        A YAML file shaped like ``churnkit/coding/codebooks/default.yaml``.

    Returns
    -------
    Codebook

    Raises
    ------
    ConfigError
        If the file is missing or not YAML, or a code is invalid; the message names the file,
        the code id and the key.

    Examples
    --------
    >>> book = load_codebook()
    >>> len(book.themes)
    11
    >>> book.codes.query("group == 'fixable' and is_theme")["owner"].iloc[0]
    'CRM / loyalty team'
    """
    if path is None:
        resource = resources.files("churnkit.coding") / "codebooks" / "default.yaml"
        text, source = (
            resource.read_text(encoding="utf-8"),
            "churnkit/coding/codebooks/default.yaml",
        )
    else:
        source = os.fspath(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(
                f"{source}: cannot read the codebook ({e.strerror}); check the path"
            ) from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: not valid YAML ({e})") from e
    return Codebook(data, source)
