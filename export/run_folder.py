"""The run folder's layout now lives in the package: `keras_seq.run_folder`.

Kept so that `from export.run_folder import RunFolder` goes on working.
"""

from keras_seq.run_folder import NotARunFolder, RunFolder, TagRunFolder, open_run_folder

__all__ = ["NotARunFolder", "RunFolder", "TagRunFolder", "open_run_folder"]
