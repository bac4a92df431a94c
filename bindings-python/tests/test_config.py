import pickle
from pathlib import Path

import pytest

import forewarn

TYPO = '[[checks]]\nname = "svc"\ntype = "tcp"\ntarget = "127.0.0.1:22"\ncolour = "red"\n'


def test_validate_counts_checks(tmp_path: Path):
    path = tmp_path / "ok.toml"
    path.write_text(TYPO.replace('colour = "red"\n', ""))
    assert forewarn.validate_config(path) == 1
    assert forewarn.validate_config(str(path)) == 1
    assert forewarn.validate_config(path.read_text()) == 1


def test_text_error_names_line_column_and_key():
    with pytest.raises(forewarn.ConfigError) as e:
        forewarn.validate_config(TYPO)
    err = e.value
    assert (err.file, err.line, err.column, err.key) == ("<string>", 5, 1, "colour")
    assert str(err).startswith("<string>:5:1: `colour`: unknown field `colour`")
    assert isinstance(err, forewarn.ForewarnError)
    assert isinstance(err, ValueError)


def test_file_error_names_the_file(tmp_path: Path):
    path = tmp_path / "typo.toml"
    path.write_text(TYPO)
    with pytest.raises(forewarn.ConfigError) as e:
        forewarn.Monitor.from_config(path)
    assert e.value.file == str(path)
    assert (e.value.line, e.value.column, e.value.key) == (5, 1, "colour")
    assert str(e.value).startswith(f"{path}:5:1:")


def test_error_without_a_key(tmp_path: Path):
    with pytest.raises(forewarn.ConfigError) as e:
        forewarn.validate_config('[[checks]]\nname = "svc"\ntype = "tcp"\n')
    assert e.value.file == "<string>"
    assert e.value.key is None or isinstance(e.value.key, str)
    assert "target" in str(e.value) or "host" in str(e.value)


def test_config_error_pickles():
    with pytest.raises(forewarn.ConfigError) as e:
        forewarn.validate_config(TYPO)
    copy = pickle.loads(pickle.dumps(e.value))
    assert (copy.file, copy.line, copy.column, copy.key) == ("<string>", 5, 1, "colour")
    assert str(copy) == str(e.value)


def test_missing_file_is_an_os_error(tmp_path: Path):
    missing = tmp_path / "missing.toml"
    with pytest.raises(forewarn.ForewarnIOError) as e:
        forewarn.validate_config(missing)
    assert isinstance(e.value, OSError)
    assert str(missing) in str(e.value)


def test_a_config_is_a_path_or_text():
    with pytest.raises(TypeError):
        forewarn.validate_config(42)  # type: ignore[arg-type]
