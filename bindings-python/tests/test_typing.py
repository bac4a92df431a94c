"""The package is typed for its users: the examples pass ``mypy --strict`` against the
installed package (its ``.pyi`` stubs and ``py.typed``), and ``help()`` shows docstrings."""

from __future__ import annotations

import inspect
import pydoc
import subprocess
import sys

import forewarn
from peers import ROOT, skip_or_fail


def test_examples_pass_mypy_strict() -> None:
    try:
        import mypy  # noqa: F401
    except ImportError:
        skip_or_fail("mypy", "not installed in this environment (pip install mypy)")
    examples = ROOT / "examples" / "python"
    scripts = sorted(str(p) for p in examples.glob("*.py"))
    assert scripts, f"no examples in {examples}"
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *scripts],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_help_shows_docstrings() -> None:
    text = pydoc.render_doc(forewarn.Monitor, renderer=pydoc.plaintext)
    assert "from_config" in text and "Builds the monitor of a config" in text
    assert "run_once" in text and "Runs every check once" in text
    for name in forewarn.__all__:
        obj = getattr(forewarn, name)
        if inspect.isclass(obj) or inspect.isroutine(obj):
            assert obj.__doc__, f"forewarn.{name} has no docstring"
