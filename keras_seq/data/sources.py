"""One registry of dataset sources for both tasks: what `--dataset SPEC` can name.

A spec is a source's name, alone (`generated`, `ding`) or with an argument after a
colon (`tsv:PATH`, `conll:DIR`, `tfds:NAME`). `keras_seq.data.loaders` registers the
translation sources and `keras_seq.data.tagging` the tagging ones; `load_corpus` and
`load_tagged_corpus` find a spec's source here, and the recipes list `forms(task)` in
their `--help`. Registering a source of your own makes every recipe accept it.
"""

import dataclasses

TASKS = {"translation": "Unknown dataset spec", "tagging": "Unknown tagging dataset"}


@dataclasses.dataclass(frozen=True)
class Source:
    """A dataset source of one task.

    Attributes:
        name: what a spec starts with (`"tsv"`).
        task: `"translation"` (text pairs, a `Corpus`) or `"tagging"` (a `TaggedCorpus`).
        argument: what follows `name:` in a spec (`"PATH"`), or `""` for none.
        load: `load(argument, **options)` -> the corpus; options are its loader's
            keywords (`seed`, `num_pairs`, `encoding`, ...); those it does not use it ignores.
    """

    name: str
    task: str
    argument: str
    load: object

    @property
    def form(self):
        return f"{self.name}:{self.argument}" if self.argument else self.name


_SOURCES = {}


def register(name, task, argument, load):
    """Registers (or replaces) the source `name` of `task`; returns it."""
    if task not in TASKS:
        raise ValueError(f"`task` must be one of {tuple(TASKS)}. Received: {task!r}")
    source = Source(name, task, argument, load)
    _SOURCES[task, name] = source
    return source


def forms(task):
    """The spec forms of `task`'s sources, in the order registered (`"tsv:PATH"`, ...)."""
    return tuple(s.form for (t, _), s in _SOURCES.items() if t == task)


def find(spec, task):
    """`(source, argument)` of a spec.

    Raises:
        ValueError: naming the spec and the forms `task` accepts.
    """
    if isinstance(spec, str):
        name, colon, argument = spec.partition(":")
        source = _SOURCES.get((task, name))
        if source is not None and bool(colon) == bool(source.argument):
            return source, argument
    raise ValueError(f"{TASKS[task]}. Expected one of {forms(task)}. Received: {spec!r}")
