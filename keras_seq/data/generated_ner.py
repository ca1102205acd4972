"""A built-in, offline English NER corpus: templates filled with real names, IOB2 tags.

Entities come from kept libraries' data: Faker's per-locale person and company
names and city names (PER, ORG, LOC), babel's (CLDR) English territory names
(LOC) and language names (MISC, as CoNLL-2003 tags languages and nationalities).
Templates vary the context around each slot, and the same words can belong to
entities of different types (a surname alone is a person, inside "Smith, Jones and
Brown" a company; a city can share its name with a person), so a word-list lookup
cannot win. Every entity string belongs to exactly one split (by a hash of the string),
so the test split measures generalisation to names never seen in training.
"""

import hashlib
import random
import re

from keras_seq._optional import optional_import
from keras_seq.data.corpus import TaggedCorpus

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "sv_SE")
SPLITS = {"train": 0.8, "valid": 0.1, "test": 0.1}

# {PER}, {ORG}, {LOC}, {MISC} are entity slots; other words are tagged O.
TEMPLATES = (
    "{PER} was born in {LOC} in {YEAR} .",
    "{PER} , a spokesman for {ORG} , said the talks in {LOC} had failed .",
    "{ORG} shares fell {NUMBER} percent in {LOC} on {DAY} .",
    "{PER} joined {ORG} as chief executive last {MONTH} .",
    "Police in {LOC} said {PER} had been arrested on {DAY} .",
    "The {MISC} edition of the book was published by {ORG} .",
    "{PER} speaks fluent {MISC} and some {MISC} .",
    "{ORG} will open a new office in {LOC} next year , {PER} said .",
    "Talks between {LOC} and {LOC} resumed in {LOC} .",
    "{PER} beat {PER} {SCORE} in the final in {LOC} .",
    '" We are very happy , " {PER} told reporters in {LOC} .',
    "{ORG} said on {DAY} it had agreed to buy {ORG} for {NUMBER} million dollars .",
    "The minister met {PER} , the ambassador of {LOC} , on {DAY} .",
    "In {YEAR} , {PER} moved to {LOC} to work for {ORG} .",
    "Translated from {MISC} by {PER} .",
    "{LOC} beat {LOC} {SCORE} in a friendly match on {DAY} .",
    "A report by {ORG} said exports from {LOC} rose {NUMBER} percent .",
    "{PER} and {PER} founded {ORG} in {YEAR} .",
    "Flights from {LOC} to {LOC} were cancelled on {DAY} .",
    "The company , based in {LOC} , employs {NUMBER} people .",
    "{PER} said the {MISC} government would not comment .",
    "Analysts at {ORG} expect growth of {NUMBER} percent in {LOC} .",
    "She lived in {LOC} for {NUMBER} years before returning to {LOC} .",
    "{ORG} , {ORG} and {ORG} reported higher profits .",
    "Mr {PER} declined to comment .",
    "Ms {PER} , who works for {ORG} in {LOC} , won the award .",
    "The film , shot in {LOC} , is in {MISC} with subtitles .",
    "On {DAY} {PER} visited {LOC} and {LOC} .",
    "Fans in {LOC} celebrated until late on {DAY} .",
    "{PER} , {NUMBER} , has played for {LOC} since {YEAR} .",
    "The deal values {ORG} at {NUMBER} million pounds .",
    "Officials from {ORG} arrived in {LOC} on {DAY} .",
    "Residents of {LOC} were told to leave their homes .",
    "Her first novel was written in {MISC} .",
    "{PER} thanked {PER} and the staff of {ORG} .",
    "Prices in {LOC} rose for the {ORDINAL} month in a row .",
    "{ORG} has no plans to leave {LOC} , a spokeswoman said .",
    "It rained in {LOC} on {DAY} .",
    "Speakers of {MISC} in {LOC} number about {NUMBER} million .",
    "Coach {PER} named {PER} captain for the match against {LOC} .",
    "Last {MONTH} , {ORG} moved its headquarters from {LOC} to {LOC} .",
    "A court in {LOC} fined {ORG} {NUMBER} thousand euros .",
    "We met at the station and walked to the river .",
    "The meeting was postponed until {DAY} .",
    "Sales rose {NUMBER} percent in the {ORDINAL} quarter .",
)
FILLERS = {
    "YEAR": [str(y) for y in range(1950, 2026)],
    "NUMBER": [str(n) for n in (2, 3, 5, 7, 12, 15, 20, 25, 40, 75, 120, 300, 1500)],
    "DAY": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "MONTH": ["January", "March", "April", "June", "July", "September", "October", "December"],
    "SCORE": ["6-4 6-3", "2-1", "3-0", "7-5 6-7 6-2", "1-1", "4-2"],
    "ORDINAL": ["second", "third", "fourth", "fifth"],
}
ENTITY_TYPES = ("PER", "ORG", "LOC", "MISC")
_TOKEN = re.compile(r"[\w'’.-]+|[^\w\s]")


def tokenize(text):
    """Whitespace tokens with punctuation split off (`"Smith, Jones"` -> 3 tokens)."""
    return _TOKEN.findall(text)


def entity_pools(seed=0, per_type=3000):
    """Distinct entity strings by type, from Faker and babel, in a seeded order."""
    faker = optional_import("faker", "faker", "The generated NER data")
    babel = optional_import("babel", "babel", "The generated NER data")
    fakers = []
    for i, locale in enumerate(LOCALES):
        fake = faker.Faker(locale)
        fake.seed_instance(seed * 1000 + i)
        for provider in fake.providers:
            # Faker builds it_IT's city list from a set, in an order that changes with
            # the process's string hashing: sorted, a seed draws the same cities anywhere.
            if isinstance(getattr(provider, "cities", None), list):
                provider.cities = sorted(provider.cities)
        fakers.append(fake)
    rng = random.Random(seed)
    english = babel.Locale("en")
    territories = [
        name
        for code, name in english.territories.items()
        if code.isalpha() and len(code) == 2 and "(" not in name and "&" not in name
    ]
    languages = [name for code, name in english.languages.items() if len(code) == 2]

    def draw(make):
        seen = {}
        for _ in range(per_type * 3):
            text = " ".join(tokenize(make(rng.choice(fakers))))
            if text and not text.isdigit():
                seen.setdefault(text, None)
            if len(seen) >= per_type:
                break
        return list(seen)

    return {
        "PER": draw(lambda f: f.name() if rng.random() < 0.7 else f.last_name()),
        "ORG": draw(lambda f: f.company()),
        "LOC": draw(lambda f: f.city()) + sorted(territories),
        "MISC": sorted(languages),
    }


def split_of(text, seed):
    """The split an entity string belongs to (a stable hash of the string and seed)."""
    digest = hashlib.sha256(f"{seed}:{text}".encode()).digest()
    value = int.from_bytes(digest[:8], "big") / 2**64
    if value < SPLITS["train"]:
        return "train"
    return "valid" if value < SPLITS["train"] + SPLITS["valid"] else "test"


def generate_ner_corpus(num_sentences=12_000, seed=0):
    """Train/valid/test tagged sentences (80/10/10), no entity string in two splits.

    Deterministic in `seed`. Returns a `TaggedCorpus` named `"generated"`.
    """
    pools = entity_pools(seed)
    by_split = {split: {kind: [] for kind in pools} for split in SPLITS}
    for kind, texts in pools.items():
        for text in texts:
            by_split[split_of(text, seed)][kind].append(text)
    rng = random.Random(seed + 1)
    corpus = {}
    for split, fraction in SPLITS.items():
        sentences = []
        for _ in range(round(num_sentences * fraction)):
            sentences.append(_fill(rng.choice(TEMPLATES), by_split[split], rng))
        corpus[split] = sentences
    return TaggedCorpus("generated", corpus["train"], corpus["valid"], corpus["test"])


def _fill(template, pools, rng):
    words, tags = [], []
    for token in template.split():
        slot = token[1:-1] if token.startswith("{") and token.endswith("}") else None
        if slot in ENTITY_TYPES:
            entity = tokenize(rng.choice(pools[slot]))
            words += entity
            tags += [f"B-{slot}"] + [f"I-{slot}"] * (len(entity) - 1)
        elif slot in FILLERS:  # a filler may be several words ("6-4 6-3")
            filler = rng.choice(FILLERS[slot]).split()
            words += filler
            tags += ["O"] * len(filler)
        else:
            words.append(token)
            tags.append("O")
    return words, tags
