"""The deployment tools: the `python -m export RUN` command line, the TF Serving config, clients.

The run folder's layout is the tasks' (`keras_seq.tasks.preset`); the library's writers
(`keras_seq.export`) take a model and write where they are told.
"""
