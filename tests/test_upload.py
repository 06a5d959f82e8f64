"""A sheet and attachments handed in at the desk (pipeline.intake.upload), at the library
level: every name checked before anything is written, and a refusal at any point leaves the
inbox as it was."""

from __future__ import annotations

import errno
import os
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.intake import upload
from pipeline.intake.upload import Handed, UploadRefused

SHEET = b"PK\x03\x04 a sheet"  # the bytes are not read here: the watcher reads them


def _inbox(cfg) -> list[str]:
    inbox = cfg.workspace.inbox
    return sorted(p.name for p in inbox.iterdir()) if inbox.exists() else []


def _refused(cfg, sheet: Handed, attachments: list[Handed]) -> str:
    with pytest.raises(UploadRefused) as refused:
        upload.drop(cfg, sheet, attachments)
    message = str(refused.value)
    assert "\n" not in message and " / " in message  # one line, Thai then English
    return message


def test_a_sheet_and_its_attachments_go_into_the_inbox(demo_ws):
    placed = upload.drop(demo_ws, Handed("C:\\Users\\clerk\\คำขอ.xlsx", SHEET),
                         [Handed("../../etc/ประกาศ.pdf", b"%PDF-1.7 a"),
                          Handed("รูป.png", b"png")])
    assert placed == demo_ws.workspace.inbox / "คำขอ.xlsx"
    assert _inbox(demo_ws) == sorted(["คำขอ.xlsx", "ประกาศ.pdf", "รูป.png"])
    assert (demo_ws.workspace.inbox / "ประกาศ.pdf").read_bytes() == b"%PDF-1.7 a"
    # a second sheet of the same name gets the next free name, never replaces the first
    again = upload.drop(demo_ws, Handed("คำขอ.xlsx", b"PK\x03\x04 another"), [])
    assert again.name == "คำขอ (2).xlsx" and placed.read_bytes() == SHEET


@pytest.mark.parametrize("length", [240, 245, 250, 255])
def test_names_as_long_as_a_file_system_allows_are_taken(demo_ws, length):
    """The hidden temporary names do not grow with the name: a name the sheet's attachment
    list allows (255 bytes) can be handed in, and a longer one is refused, not a 500."""
    sheet = "ก" * ((length - 5) // 3) + "s" * ((length - 5) % 3) + ".xlsx"
    attachment = "a" * (length - 4) + ".pdf"
    assert len(sheet.encode()) == len(attachment.encode()) == length
    placed = upload.drop(demo_ws, Handed(sheet, SHEET), [Handed(attachment, b"%PDF")])
    assert placed.name == sheet
    assert _inbox(demo_ws) == sorted([sheet, attachment])


def test_names_longer_than_a_file_system_allows_are_refused(demo_ws):
    too_long = "ก" * 84 + ".xlsx"  # 257 bytes
    assert "too long" in _refused(demo_ws, Handed(too_long, SHEET), [])
    assert "too long" in _refused(demo_ws, Handed("r.xlsx", SHEET),
                                  [Handed("a" * 252 + ".pdf", b"%PDF")])
    assert _inbox(demo_ws) == []


def test_a_renamed_sheet_too_long_for_the_file_system_is_refused_cleanly(demo_ws):
    """`` (2)`` added to a 255-byte name makes it too long: a refusal, and the attachment
    placed before it is taken back."""
    name = "s" * 250 + ".xlsx"
    upload.drop(demo_ws, Handed(name, SHEET), [])
    message = _refused(demo_ws, Handed(name, b"PK\x03\x04 again"), [Handed("x.pdf", b"%PDF")])
    assert "too long" in message
    assert _inbox(demo_ws) == [name]


def test_a_taken_attachment_name_leaves_nothing_behind(demo_ws):
    inbox = demo_ws.workspace.inbox
    inbox.mkdir(parents=True, exist_ok=True)
    theirs = inbox / "c.pdf"
    theirs.write_bytes(b"another clerk's file")
    before = os.stat(theirs)
    message = _refused(demo_ws, Handed("mine.xlsx", SHEET),
                       [Handed("a.pdf", b"1"), Handed("b.pdf", b"2"), Handed("c.pdf", b"3")])
    assert "c.pdf" in message and "already waiting" in message
    assert _inbox(demo_ws) == ["c.pdf"]  # neither a.pdf nor b.pdf, no temporary file
    after = os.stat(theirs)
    assert theirs.read_bytes() == b"another clerk's file"
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # and the same files go in once the name is free
    theirs.unlink()
    upload.drop(demo_ws, Handed("mine.xlsx", SHEET),
                [Handed("a.pdf", b"1"), Handed("b.pdf", b"2"), Handed("c.pdf", b"3")])
    assert _inbox(demo_ws) == ["a.pdf", "b.pdf", "c.pdf", "mine.xlsx"]


def test_a_name_taken_between_the_check_and_the_link_is_undone(demo_ws, monkeypatch):
    """Another clerk's file arrives under one of the names after they were all found free:
    the attachments already linked are removed, the other clerk's file is not."""
    inbox = demo_ws.workspace.inbox
    real_link = os.link

    def racing(src, dst, *args, **kwargs):
        if Path(dst).name == "b.pdf":
            Path(dst).write_bytes(b"theirs")
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "link", racing)
    message = _refused(demo_ws, Handed("mine.xlsx", SHEET),
                       [Handed("a.pdf", b"1"), Handed("b.pdf", b"2")])
    assert "b.pdf" in message
    assert _inbox(demo_ws) == ["b.pdf"] and (inbox / "b.pdf").read_bytes() == b"theirs"


def test_a_failing_disk_is_a_refusal_with_nothing_left(demo_ws, monkeypatch):
    real_link = os.link

    def failing(src, dst, *args, **kwargs):
        if Path(dst).name.endswith(".xlsx"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_link(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "link", failing)
    message = _refused(demo_ws, Handed("mine.xlsx", SHEET), [Handed("a.pdf", b"1")])
    assert "administrator" in message and str(demo_ws.workspace.root) not in message
    assert _inbox(demo_ws) == []


@pytest.mark.parametrize("name", ["r\x1b[31m.xlsx", "r\n.xlsx", "r\u0085.xlsx", ".hidden.xlsx",
                                  "~$r.xlsx", "r?.xlsx", "r.xlsx.pdf", "r.xls", "..", ""])
def test_sheet_names_that_are_not_plain_xlsx_names_are_refused(demo_ws, name):
    _refused(demo_ws, Handed(name, SHEET), [])
    assert _inbox(demo_ws) == []


@pytest.mark.parametrize("name", ["a\x1b.pdf", "a\r.pdf", "a|b.pdf", ".a.pdf", "..",
                                  "other.xlsx", "a."])
def test_attachment_names_that_are_not_plain_are_refused(demo_ws, name):
    _refused(demo_ws, Handed("r.xlsx", SHEET), [Handed("ok.pdf", b"1"), Handed(name, b"2")])
    assert _inbox(demo_ws) == []


def test_folders_in_names_are_dropped_and_nothing_lands_outside_the_inbox(demo_ws):
    root = demo_ws.workspace.root
    upload.drop(demo_ws, Handed("../../../r.xlsx", SHEET),
                [Handed("..\\..\\pipeline.toml.pdf", b"1"), Handed("/etc/passwd.pdf", b"2")])
    assert _inbox(demo_ws) == ["passwd.pdf", "pipeline.toml.pdf", "r.xlsx"]
    assert not (root / "r.xlsx").exists() and not (root.parent / "r.xlsx").exists()


def test_sizes_and_duplicates_are_refused_before_anything_is_written(demo_ws):
    small = replace(demo_ws, sheet=replace(demo_ws.sheet, max_sheet_bytes=100,
                                           max_attachment_bytes=60, max_request_bytes=100))
    assert "larger" in _refused(small, Handed("r.xlsx", b"x" * 101), [])
    assert "larger" in _refused(small, Handed("r.xlsx", SHEET), [Handed("a.pdf", b"x" * 61)])
    assert "together" in _refused(small, Handed("r.xlsx", SHEET),
                                  [Handed("a.pdf", b"x" * 60), Handed("b.pdf", b"x" * 41)])
    assert "same name" in _refused(small, Handed("r.xlsx", SHEET),
                                   [Handed("a.pdf", b"1"), Handed("dir/A.PDF", b"2")])
    assert _inbox(demo_ws) == []
    upload.drop(small, Handed("r.xlsx", SHEET),
                [Handed("a.pdf", b"x" * 60), Handed("b.pdf", b"x" * 40)])
    assert _inbox(demo_ws) == ["a.pdf", "b.pdf", "r.xlsx"]


def test_a_disk_that_fills_while_writing_leaves_no_temporary_file(demo_ws, monkeypatch):
    real_fsync = os.fsync
    calls = []

    def filling(fd):
        calls.append(fd)
        if len(calls) == 2:  # the second file written
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", filling)
    _refused(demo_ws, Handed("mine.xlsx", SHEET), [Handed("a.pdf", b"1")])
    assert _inbox(demo_ws) == []
