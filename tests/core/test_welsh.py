"""The Welsh soft mutation, word by word: what a generated message puts after "Rhowch", "Dewiswch" or "i"."""

from __future__ import annotations

import pytest

from cprflow.core.welsh import soft_mutation

MUTATED = [
    # c→g, p→b, t→d, g→(dropped), b→f, d→dd, m→f, ll→l, rh→r
    ("cyfeirnod y plentyn", "gyfeirnod y plentyn"),
    ("crynodeb", "grynodeb"),
    ("cam-drin neu esgeulustod", "gam-drin neu esgeulustod"),
    ("penderfyniad", "benderfyniad"),
    ("perchennog y cam", "berchennog y cam"),
    ("teitl", "deitl"),
    ("tystiolaeth", "dystiolaeth"),
    ("goblygiadau", "oblygiadau"),
    ("gwybodaeth", "wybodaeth"),
    ("barn y teulu", "farn y teulu"),
    ("briff", "friff"),
    ("bwyd", "fwyd"),
    ("dyddiad atgyfeirio", "ddyddiad atgyfeirio"),
    ("dogfen", "ddogfen"),
    ("math o adolygiad", "fath o adolygiad"),
    ("manylion", "fanylion"),
    ("llinell amser", "linell amser"),
    ("llwybr", "lwybr"),
    ("rheswm", "reswm"),
    ("rhif y fersiwn", "rif y fersiwn"),
    # a capital stays a capital
    ("Cymru", "Gymru"),
    ("Llywodraeth Cymru", "Lywodraeth Cymru"),
    ("Rhif", "Rif"),
    ("Gwent", "Went"),
    ("Dyddiad", "Ddyddiad"),
    # the word ends at an apostrophe or a hyphen: only the first word changes
    ("cyfeiriad e-bost", "gyfeiriad e-bost"),
    ("penodi'r adolygwyr", "benodi'r adolygwyr"),
]

UNCHANGED = [
    "enw",  # a vowel
    "enw'r asiantaeth",
    "ardal y Bwrdd",
    "y dyddiad",
    "yr adroddiad",
    "fersiwn",  # f, ff, h, l, n, r, s, w and the digraphs ch, ph, th, dd never mutate softly
    "fframwaith",
    "her",
    "nodiadau",
    "sylwadau",
    "statws",
    "thema",
    "chwaer",
    "ddyddiad",
    "rôl",
    "GIG",  # an acronym
    "DBS check",
    "SUSR",
    "beth ddigwyddodd",  # words opening a clause or an indirect question
    "pam mae'r adolygydd yn gadael",
    "pryd yr oedd ar waith",
    "pwy",
    "pa un",
    "ble",
    "mae'r drafft yn ddienw",
    "rhaid i mi dynnu'n ôl",
    "roedd disgwyl ei gwblhau",
    "daeth y cyfnod lleiaf i ben",
    "cafodd ei ddilyn",
    "rhannwyd safbwynt y teulu",  # an impersonal past verb
    "hwyluswyd gan",
    "",
    " ",
    "'",
]


@pytest.mark.parametrize(("radical", "mutated"), MUTATED)
def test_the_first_word_takes_the_soft_mutation(radical: str, mutated: str) -> None:
    assert soft_mutation(radical) == mutated


@pytest.mark.parametrize("phrase", UNCHANGED)
def test_words_the_soft_mutation_leaves_alone(phrase: str) -> None:
    assert soft_mutation(phrase) == phrase
