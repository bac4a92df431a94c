import re
from pathlib import Path

import forewarn

ROOT = Path(__file__).resolve().parents[2]


def test_version_is_the_workspace_version():
    cargo = (ROOT / "Cargo.toml").read_text()
    expected = re.search(r'^version = "([^"]+)"', cargo, re.M).group(1)
    assert forewarn.version() == expected
    assert forewarn.__version__ == expected


def test_package_is_typed():
    package = Path(forewarn.__file__).parent
    assert (package / "py.typed").exists()
    assert (package / "_native.pyi").exists()


def test_public_api_has_docstrings():
    for name in forewarn.__all__:
        item = getattr(forewarn, name)
        if callable(item) and name != "ConfigSource":  # a type alias
            assert item.__doc__, name
    for method in ("from_config", "run_once", "status", "incidents", "acknowledge", "note"):
        assert getattr(forewarn.Monitor, method).__doc__, method
