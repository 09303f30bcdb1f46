"""Welsh grammar the pages need when they build a sentence from parts: the soft mutation (treiglad meddal).

A Welsh word changes its first sound after certain words. A generated message puts a field's title
after an imperative ("Rhowch", "Dewiswch", "Cadarnhewch", ...) or after "i" ("Rhaid i ... fod"), and
both call for the soft mutation of the word that follows: "Rhowch gyfeirnod y plentyn", "Rhowch
ddyddiad atgyfeirio", "Dewiswch fath o adolygiad", "Rhaid i benderfyniad fod ...".

No maintained package on PyPI produces Welsh mutations (the Welsh ones there are a proofing server
and a grammar checker at 0.1.0), so the rule is here, small and tested word by word in
tests/core/test_welsh.py.

The soft mutation: c→g, p→b, t→d, g→(dropped), b→f, d→dd, m→f, ll→l, rh→r. Unchanged:
- "ch", "ph", "th", "dd", "ff", "ng" and the other letters (a vowel, f, h, l, n, r, s, w, ...);
- a word in capitals (an acronym such as "GIG", "DBS" or "SUSR");
- words that open a clause or an indirect question rather than name a thing: the question words
  "beth", "pa", "pam", "pryd", "pwy", "ble"; "rhaid"; finite verbs ("mae", "roedd", "daeth",
  "cafodd", ...) and impersonal past verbs ending "-wyd" ("adroddwyd", "rhannwyd"; not "bwyd", food).
Proper nouns and loanwords that have become Welsh mutate like any other word ("Cymru" → "Gymru",
"briff" → "friff").
"""

from __future__ import annotations

import re

__all__ = ["soft_mutation"]

# longest first: "ll" and "rh" before a bare "l"/"r"; the digraphs that never mutate before their first letter
_SOFT = (
    ("ch", "ch"),
    ("ph", "ph"),
    ("th", "th"),
    ("dd", "dd"),
    ("ll", "l"),
    ("rh", "r"),
    ("c", "g"),
    ("p", "b"),
    ("t", "d"),
    ("g", ""),
    ("b", "f"),
    ("d", "dd"),
    ("m", "f"),
)

# Words that begin a clause, not a noun phrase: they keep their sound after an imperative.
_UNMUTATED = frozenset(
    {
        "beth",
        "pa",
        "pam",
        "pryd",
        "pwy",
        "ble",
        "rhaid",
        "mae",
        "roedd",
        "bu",
        "bydd",
        "byddai",
        "daeth",
        "cafodd",
        "gafodd",
        "gwnaeth",
        "dylai",
        "dylid",
    }
)

_WORD = re.compile(r"[^\s'’-]+")


def soft_mutation(phrase: str) -> str:
    """``phrase`` with its first word soft-mutated, keeping the word's capital; the rest as it was."""
    match = _WORD.match(phrase)
    if not match:
        return phrase
    word = match.group(0)
    lower = word.lower()
    if lower in _UNMUTATED or len(lower) > 5 and lower.endswith("wyd") or sum(ch.isupper() for ch in word) > 1:
        return phrase
    for radical, mutated in _SOFT:
        if lower.startswith(radical):
            rest = word[len(radical) :]
            if word[0].isupper():
                new = (mutated[:1].upper() + mutated[1:] + rest) if mutated else rest[:1].upper() + rest[1:]
            else:
                new = mutated + rest
            if not new:
                return phrase  # a lone "g" stays as it is
            return new + phrase[len(word) :]
    return phrase
