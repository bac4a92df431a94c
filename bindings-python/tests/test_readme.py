"""The README's Python example, run as written, so it cannot rot."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> "list[str]":
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), re.M | re.S)


def test_readme_example_runs(tmp_path: Path):
    [example] = python_blocks()
    assert len(example.strip().splitlines()) <= 15
    script = tmp_path / "example.py"
    script.write_text(example)
    # In a directory of its own: the example keeps its history in ./forewarn.db.
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(re.match(r"ssh: (ok|critical) \S", line) for line in lines), out.stdout
    assert (tmp_path / "forewarn.db").exists()
