"""Reading text data files in the right encoding, or saying which line is wrong.

Corpora come in UTF-8 or, like the CoNLL-2002 and CoNLL-2003 German releases, in
ISO-8859-1 (Latin-1). Decoding Latin-1 bytes as UTF-8 with replacement turns every
accented word into `p\ufffdgina`: a model would train on that without a word said.
Here a file is decoded as UTF-8 when it is UTF-8, as Latin-1 when no line of it is
UTF-8 with non-ASCII text and at least two lines are not UTF-8 at all (one stray line
in an ASCII file is damage, not an encoding), and a line that still does not decode
is reported by number, never replaced.
"""

import codecs
import os
import warnings

# What `encoding="auto"` tells apart.
AUTO = "auto"
LATIN_1 = "iso-8859-1"
# Lines that are not UTF-8, in a file with no UTF-8 text beyond ASCII, that make it Latin-1.
LATIN_1_EVIDENCE = 2


def check_encoding(encoding):
    """`encoding`, normalised, if it is `"auto"` or a codec Python knows; else ValueError."""
    if encoding == AUTO:
        return AUTO
    try:
        return codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise ValueError(
            f"Unknown text encoding {encoding!r}: expected 'auto', 'utf-8', 'iso-8859-1' "
            "(Latin-1) or another codec Python knows."
        ) from None


def _utf8(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_lines(path, encoding=AUTO):
    """The lines of a text file, decoded.

    Args:
        path: the file.
        encoding: a codec name, or `"auto"`: UTF-8 (a byte-order mark is dropped)
            unless the file is plainly single-byte text (see above), read then as
            ISO-8859-1 with a warning naming the file and how to choose.

    Returns:
        `(lines, encoding)`: `lines` is a list of `(line_number, text)` from 1,
        without line ends, where `text` is None for a line that does not decode
        (the caller skips it or stops, naming `FILE:LINE`); `encoding` is the
        codec used.

    Raises:
        FileNotFoundError: naming the path.
        ValueError: for an unknown encoding.
    """
    encoding = check_encoding(encoding)
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such data file: {path!r}")
    with open(path, "rb") as f:
        raw_lines = f.read().removeprefix(codecs.BOM_UTF8).splitlines()
    if encoding == AUTO:
        encoding = "utf-8"
        decoded = [_utf8(raw) for raw in raw_lines]
        undecodable = sum(text is None for text in decoded)
        utf8_text = any(text is not None and not text.isascii() for text in decoded)
        if undecodable >= LATIN_1_EVIDENCE and not utf8_text:
            encoding = LATIN_1
            warnings.warn(
                f"{path} is not UTF-8 ({undecodable} of its {len(raw_lines)} lines do not "
                f"decode, first at line {decoded.index(None) + 1}): read as ISO-8859-1 "
                "(Latin-1), as the CoNLL-2002/2003 releases are. Choose another encoding "
                "with --encoding (recipes) or encoding= (keras_seq.data).",
                stacklevel=2,
            )
        else:
            return list(enumerate(decoded, start=1)), encoding
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        try:
            lines.append((number, raw.decode(encoding)))
        except UnicodeDecodeError:
            lines.append((number, None))
    return lines, encoding
