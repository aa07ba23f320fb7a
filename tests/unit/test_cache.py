"""The per-user cache directory: atomic writes, pruning, and never failing a command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from uts.cache import cache_dir, store


def test_cache_dir_follows_xdg_and_can_be_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir("templates") == str(tmp_path / "uts" / "templates")
    monkeypatch.setenv("UTS_NO_CACHE", "1")
    assert cache_dir("templates") is None


def test_store_keeps_only_the_newest_files(tmp_path: Path) -> None:
    directory = tmp_path / "kind"
    directory.mkdir()
    in_flight = directory / "x.bin.123.tmp"  # another process is writing it
    in_flight.write_bytes(b"partial")
    os.utime(in_flight, ns=(1, 1))
    for number in range(5):
        path = directory / f"{number}.bin"
        store(str(path), f"{number}".encode(), keep=3)
        os.utime(path, ns=(10**18 + number, 10**18 + number))  # strictly increasing
    store(str(directory / "5.bin"), b"5", keep=3)
    names = sorted(p.name for p in directory.iterdir())
    assert names == ["3.bin", "4.bin", "5.bin", "x.bin.123.tmp"]
    assert (directory / "5.bin").read_bytes() == b"5"


def test_an_unwritable_cache_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store(str(blocker / "sub" / "x.bin"), b"data", keep=3)  # parent is a file: ignored
    assert blocker.read_text() == ""
    assert not list(tmp_path.glob("**/*.tmp"))
