"""The deployment tools: the `python -m export RUN` command line, the TF Serving config, clients.

`export.run_folder` is the one place that knows the layout of a
`recipes/translate.py` run folder; the library (`keras_seq.export`) knows none.
"""
