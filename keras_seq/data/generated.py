"""The built-in English->German dataset, generated offline from num2words and babel (CLDR).

Four families, each with a real word-order or format change between the
languages, so attention has an alignment to learn:

- numbers: `thirty four` -> `vier und dreißig` (units before tens; German
  compounds split into their morphemes so each word maps to a piece);
- dates in full or long form: `saturday, september 11, 2077` ->
  `samstag, 11. september 2077` (day and month swap);
- money: `$1,234.50` -> `1.234,50 $` (symbol moves, separators swap);
- relative times: `in 3 days` -> `in 3 tagen`, `5 minutes ago` -> `vor 5 minuten`
  (postposition becomes preposition, plural inflection).

Everything is deterministic given the seed. Text is lower-cased; punctuation is
kept as written (the tokenizer handles it).
"""

import datetime
import random
import re

from keras_seq._optional import optional_import

PURPOSE = "The built-in generated English-German data"

FAMILIES = ("number", "date", "money", "relative_time")
CURRENCIES = ("EUR", "USD", "GBP", "JPY", "CHF")
# German number morphemes, longest first so that the regex prefers e.g. "sieben" to "sieb".
GERMAN_MORPHEMES = re.compile(
    "dreißig|vierzig|fünfzig|sechzig|siebzig|achtzig|neunzig|zwanzig|hundert|tausend|"
    "sieben|sechs|zwölf|zehn|zwei|drei|vier|fünf|acht|neun|eins|eine|ein|elf|und|sech|sieb"
)
TIME_UNITS = (  # (seconds per unit, largest count used)
    (1, 59),
    (60, 59),
    (3600, 23),
    (86400, 6),
    (604800, 4),
    (2592000, 11),
    (31536000, 99),
)


def _number(rng):
    num2words = optional_import("num2words", "num2words", PURPOSE).num2words
    n = rng.randint(1, 999_999)
    german = num2words(n, lang="de")
    morphemes = GERMAN_MORPHEMES.findall(german)
    if "".join(morphemes) != german:  # every German number word is made of these morphemes
        raise RuntimeError(f"Unexpected German number word {german!r} for {n}")
    english = num2words(n, lang="en").replace(",", "").replace("-", " ")
    return english, " ".join(morphemes)


def _date(rng):
    format_date = optional_import("babel.dates", "babel", PURPOSE).format_date
    day = datetime.date(1900, 1, 1) + datetime.timedelta(days=rng.randrange(73_049))
    style = rng.choice(("full", "long"))
    return format_date(day, style, locale="en"), format_date(day, style, locale="de")


def _money(rng):
    format_currency = optional_import("babel.numbers", "babel", PURPOSE).format_currency
    amount = round(rng.uniform(0, 100_000), rng.choice((0, 2)))
    currency = rng.choice(CURRENCIES)
    return (
        format_currency(amount, currency, locale="en"),
        format_currency(amount, currency, locale="de"),
    )


def _relative_time(rng):
    format_timedelta = optional_import("babel.dates", "babel", PURPOSE).format_timedelta
    unit, top = rng.choice(TIME_UNITS)
    delta = datetime.timedelta(seconds=rng.choice((-1, 1)) * unit * rng.randint(1, top))
    return tuple(
        format_timedelta(delta, add_direction=True, threshold=1.0, locale=locale)
        for locale in ("en", "de")
    )


GENERATORS = {"number": _number, "date": _date, "money": _money, "relative_time": _relative_time}


def _clean(text):
    # CLDR uses narrow and non-breaking spaces; models and users want plain spaces.
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").lower().split())


def generate_pairs(num_pairs, seed=0, families=FAMILIES):
    """`num_pairs` distinct (english, german) pairs, deterministic for a seed.

    Families are drawn in turn; a family that runs out of new pairs (relative
    times have a few hundred) stops being drawn.

    Args:
        num_pairs: positive int.
        seed: int.
        families: names from `FAMILIES`.

    Returns:
        A list of `(english, german)` string pairs, in generation order.

    Raises:
        ValueError: for an unknown family or a non-positive count.
    """
    unknown = [f for f in families if f not in GENERATORS]
    if unknown:
        raise ValueError(f"Unknown families {unknown}; expected names from {FAMILIES}.")
    if not isinstance(num_pairs, int) or num_pairs <= 0:
        raise ValueError(f"`num_pairs` must be a positive integer. Received: {num_pairs!r}")
    rng = random.Random(seed)
    seen, pairs = set(), []
    active = list(families)
    misses = dict.fromkeys(active, 0)
    while len(pairs) < num_pairs and active:
        for family in list(active):
            pair = tuple(_clean(t) for t in GENERATORS[family](rng))
            if pair in seen:
                misses[family] += 1
                if misses[family] > 1000:  # this family is exhausted
                    active.remove(family)
                continue
            misses[family] = 0
            seen.add(pair)
            pairs.append(pair)
            if len(pairs) == num_pairs:
                break
    return pairs
