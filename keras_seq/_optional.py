"""Imports of the packages that only some of keras_seq needs (its `recipes` extra)."""

import importlib


def optional_import(module, package, purpose, extra="recipes"):
    """Imports `module`; if it is missing, an ImportError naming the package and the extra.

    Args:
        module: the module to import, e.g. `"sacrebleu.metrics"`.
        package: its PyPI name, e.g. `"sacrebleu"`.
        purpose: what needs it, for the message, e.g. `"BLEU scoring"`.
        extra: the keras_seq extra that installs it.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{purpose} needs the package {package!r}, which is not installed. Install "
            f"keras_seq with its {extra!r} extra: pip install 'keras_seq[{extra}]' "
            f"(or: pip install {package})."
        ) from error
