"""Running a recipe as a user does (a child process) or importing it (to patch it)."""

import importlib.util
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def recipe_path(name):
    return os.path.join(ROOT, "recipes", f"{name}.py")


def run_recipe(name, args, cwd, timeout=900):
    """Runs recipes/NAME.py with `args` in a child process; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, recipe_path(name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


def load_recipe(name):
    """recipes/NAME.py imported as a module."""
    spec = importlib.util.spec_from_file_location(f"{name}_recipe", recipe_path(name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
