"""Each signature's difference analysis run once per file, for pyHanko 0.38's LTA validation.

pyHanko's ``ades_lta_validation`` calls ``EmbeddedPdfSignature.compute_integrity_info`` again
for every document timestamp while validating each signature (its own TODO says so), and each
call walks the document's objects to judge what changed after the signature. Here each
signature's analysis is run once up front and that instance's method is replaced by one that
does nothing, so pyHanko's later calls reuse the result it stored on the instance. It is an
instance-level replacement, applied per file by verify (not installed process-wide), and the
instance dies with its reader.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature


def compute_once(signatures: Iterable[EmbeddedPdfSignature]) -> None:
    """Run each signature's difference analysis now, and make later requests for it free.

    A document timestamp gets none: whatever follows it also follows every signature before
    it, whose own analysis judges it, and the report is about those signatures. (Its own
    would walk the document's objects once more.) A signature whose analysis fails keeps
    pyHanko's method, so that the failure is reported when the signature itself is
    validated."""
    for sig in signatures:
        try:
            sig.compute_integrity_info(skip_diff=sig.sig_object_type == "/DocTimeStamp")
        except Exception:  # noqa: S112 - reported when the signature itself is validated
            continue
        sig.compute_integrity_info = _already_computed  # type: ignore[method-assign]


def _already_computed(*args: Any, **kwargs: Any) -> None:
    """Stands in for ``compute_integrity_info`` once its result is on the instance."""
