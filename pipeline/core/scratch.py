"""Temporary files that a killed run cannot leave behind for good.

Commands that stage files before moving them into place (``refresh-timestamps``, ``published
--sign``, ``report``) stage them in one place per workspace, ``.pipeline/tmp/``, each in a
folder of its own that its process holds locked (``flock`` on the folder) for as long as it
uses it. A killed process loses its locks with its life, so the next command to make a folder
there removes every folder whose lock it can take: their owners are gone (issue 15 point 4,
issue 18 point 4: a ``.pipeline/tmp…/….pdf.tmp`` and ``.report-…`` folders stayed for good).
The gap between creating a folder and locking it is closed by a lock on ``.pipeline/tmp/``
itself: shared while a folder is made and locked, exclusive while sweeping.

Files written beside their target and renamed over it (:func:`fsutil.write_via`, the
converter) leave a hidden ``.<name>.<random>.part`` when killed; :func:`sweep_partials` removes
those of a folder, for a caller that holds the lock under which they are written (the index
lock, the report folder's :func:`fsutil.locked_folder`), so that it never removes one still
being written.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.core.folders import Workspace

log = logging.getLogger(__name__)

ROOT_LOCK = ".lock"
PART_SUFFIX = ".part"


@contextmanager
def folder(ws: Workspace, prefix: str = "") -> Iterator[Path]:
    """A new private folder under ``.pipeline/tmp/``, removed on leaving (and by a later
    call if this process is killed)."""
    root = ws.scratch
    root.mkdir(parents=True, exist_ok=True)
    sweep(ws)
    with _root_locked(root, fcntl.LOCK_SH):
        path = Path(tempfile.mkdtemp(dir=root, prefix=prefix))
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def sweep(ws: Workspace) -> int:
    """Remove what killed runs left in ``.pipeline/tmp/`` (and the ``.pipeline/tmp*``
    folders of versions before it); how many entries went. Never raises: a workspace that
    cannot be cleaned now is cleaned later."""
    root = ws.scratch
    removed = 0
    try:
        removed += sum(1 for old in ws.state.glob("tmp?*") if _remove_legacy(old))
        if not root.is_dir():
            return removed
        with _root_locked(root, fcntl.LOCK_EX):
            for child in root.iterdir():
                if child.name != ROOT_LOCK and _remove_if_abandoned(child):
                    removed += 1
    except OSError as exc:
        log.debug("temporary files not swept: %s", exc)
    if removed:
        log.info("removed %d temporary folder(s) left by an interrupted run", removed)
    return removed


def sweep_partials(folder: Path, names: Iterable[str] | None = None) -> int:
    """Remove ``.<name>.*.part`` files that interrupted atomic writes left in ``folder``
    (every name when ``names`` is None). Only for a caller holding the lock under which
    such files are written there."""
    patterns = [f".{name}.*{PART_SUFFIX}" for name in names] if names is not None \
        else [f".*{PART_SUFFIX}"]
    removed = 0
    for pattern in patterns:
        for partial in folder.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                if not partial.is_dir():
                    partial.unlink()
                    removed += 1
    return removed


@contextmanager
def _root_locked(root: Path, how: int) -> Iterator[None]:
    fd = os.open(root / ROOT_LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, how)
        yield
    finally:
        os.close(fd)


def _remove_if_abandoned(child: Path) -> bool:
    try:
        fd = os.open(child, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except NotADirectoryError:
        child.unlink(missing_ok=True)  # a stray file (never made here): nobody holds it
        return True
    except OSError:  # a link (O_NOFOLLOW) or gone meanwhile
        with contextlib.suppress(OSError):
            if child.is_symlink():
                child.unlink()
                return True
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # in use by a living process
        shutil.rmtree(child, ignore_errors=True)
        return not child.exists()
    finally:
        os.close(fd)


def _remove_legacy(old: Path) -> bool:
    """A ``tempfile.TemporaryDirectory`` of ``.pipeline/`` made by a version before this
    module: no living process of this version uses one."""
    if old.is_symlink() or not old.is_dir():
        return False
    shutil.rmtree(old, ignore_errors=True)
    return not old.exists()
