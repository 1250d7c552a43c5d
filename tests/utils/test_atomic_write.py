"""Atomic writes, deterministically: a write that fails half-way leaves the old file whole and no temp file."""

import os

import pytest

from generator.utils import atomic

OLD = b"the previous build's page\n" * 100
NEW = b"x" * 100_000


class Interrupted(Exception):
    pass


def leftovers(folder, name):
    return sorted(p.name for p in folder.iterdir() if p.name != name)


@pytest.fixture()
def page(tmp_path):
    path = tmp_path / "page.md"
    path.write_bytes(OLD)
    return path


class HalfWritten:
    """A file opened for writing whose write puts half the data on disk, then fails (a full disk, a killed build)."""

    def __init__(self, handle):
        self.handle = handle

    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        raise Interrupted("interrupted half-way")

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


def failing_writes(opener):
    def open_(file, mode="r", *args, **kwargs):
        handle = opener(file, mode, *args, **kwargs)
        return HalfWritten(handle) if any(flag in mode for flag in "wax+") else handle

    return open_


def test_a_write_failing_half_way_leaves_the_old_file_whole(page, monkeypatch):
    """Every way of opening a file for writing (os.fdopen, open, io.open: Path.write_bytes) fails half-way."""
    import builtins
    import io

    for module, name in ((atomic.os, "fdopen"), (builtins, "open"), (io, "open")):
        monkeypatch.setattr(module, name, failing_writes(getattr(module, name)))
    with pytest.raises(Interrupted):
        atomic.write_bytes(page, NEW)
    monkeypatch.undo()
    assert page.read_bytes() == OLD
    assert leftovers(page.parent, page.name) == []


@pytest.mark.parametrize("failing", ["fsync", "replace", "chmod"])
def test_a_failure_before_the_rename_leaves_the_old_file_and_no_temp_file(page, monkeypatch, failing):
    def fail(*args, **kwargs):
        raise Interrupted(failing)

    monkeypatch.setattr(atomic.os, failing, fail)
    with pytest.raises(Interrupted):
        atomic.write_bytes(page, NEW)
    monkeypatch.undo()
    assert page.read_bytes() == OLD
    assert leftovers(page.parent, page.name) == []


def test_the_new_bytes_reach_the_path_only_through_a_rename_of_a_whole_file(page, monkeypatch):
    """What the rename moves is already the whole new content, written beside the target in the same folder."""
    seen = []
    real_replace = os.replace

    def replace(source, target):
        seen.append((os.path.dirname(source), open(source, "rb").read(), page.read_bytes()))
        real_replace(source, target)

    monkeypatch.setattr(atomic.os, "replace", replace)
    assert atomic.write_bytes(page, NEW) is True
    assert seen == [(str(page.parent), NEW, OLD)]  # the old file untouched until the rename
    assert page.read_bytes() == NEW and leftovers(page.parent, page.name) == []


def test_a_text_whose_encoding_fails_leaves_the_old_file(page):
    with pytest.raises(UnicodeEncodeError):
        atomic.write_text(page, "fine so far \udcff")
    assert page.read_bytes() == OLD and leftovers(page.parent, page.name) == []


def test_an_unchanged_file_is_not_written(page, monkeypatch):
    monkeypatch.setattr(atomic.os, "replace", lambda *a: pytest.fail("rewrote an unchanged file"))
    assert atomic.write_bytes(page, OLD) is False
