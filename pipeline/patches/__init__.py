"""Everything that replaces internals of third-party packages, and nothing else.

Each patch was written against, and tested on, exact releases of pyHanko,
pyhanko-certvalidator and asn1crypto (pinned in ``pyproject.toml``): a private function it
replaces may change meaning in any other release. :func:`install` therefore refuses to run on
other versions, loudly, rather than run silently on code nobody compared with. It is called
once at each process's entry (the CLI group, each watcher and verify worker, the test
session), never as a side effect of importing a module, so that whatever runs, tests
included, runs the same patched code.

What each patch is for, what it gains and the report to send upstream: ``UPSTREAM.md``.
Each has an equivalence test in ``tests/test_patches.py``.

Installed process-wide by :func:`install`:

- :mod:`.speedups`: faster readers and caches in pyHanko's PDF parser, asn1crypto's name
  comparison and pyHanko's AdES validation (an auditor's verify);
- :mod:`.font_subsets`: each stamp's font subset made once per glyph set (signing);
- :mod:`.certvalidator_path`: a pyhanko-certvalidator bug that made year-old signatures
  under an intermediate CA INDETERMINATE;
- :mod:`.log_filters`: one pyHanko warning, recognised by its text, kept out of the log.

Used where needed, not installed: :mod:`.timestamper` (an in-process timestamper overriding
a private method) and :mod:`.integrity` (an instance-level replacement, per file verified).
"""

from __future__ import annotations

import threading
from importlib import metadata

from pipeline.core.errors import InstallationError
from pipeline.patches import certvalidator_path, font_subsets, log_filters, speedups

# Distribution name -> the one version every patch here was written and tested for.
WRITTEN_FOR = {
    "pyhanko": "0.38.0",
    "pyhanko-certvalidator": "0.33.0",
    "asn1crypto": "1.5.1",
}

_lock = threading.Lock()
_installed = False


class UnsupportedVersion(InstallationError):
    """A package that a patch replaces internals of is not the release it was written for."""


def check_versions() -> None:
    """:class:`UnsupportedVersion` naming every package not at the version its patches
    were written for."""
    wrong = [f"{name} {metadata.version(name)} (patched for {wanted})"
             for name, wanted in WRITTEN_FOR.items() if metadata.version(name) != wanted]
    if wrong:
        raise UnsupportedVersion(
            "pipeline/patches replaces internals of exact releases, and these are others: "
            + ", ".join(wrong) + ". Install the versions pinned in pyproject.toml, or "
            "re-check each patch against the new release (tests/test_patches.py, "
            "pipeline/patches/UPSTREAM.md) and update WRITTEN_FOR.")


def install() -> None:
    """Put every process-wide patch in place, once; later calls do nothing. Refuses (before
    changing anything) on versions the patches were not written for."""
    global _installed
    with _lock:
        if _installed:
            return
        check_versions()
        speedups.install()
        font_subsets.install()
        certvalidator_path.install()
        log_filters.install()
        _installed = True
