"""The recipes: runnable scripts over the library (also importable, for tests and each other)."""
