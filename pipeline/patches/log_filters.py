"""A filter on pyHanko's log that recognises one warning by its text (pyHanko 0.38).

pyHanko warns at every B-LT signature made without fetching revocation data, which is the
way the demo workspace and the tests sign on purpose (their CRLs are handed in): nothing is
wrong then, and a real gap fails validation, which the pipeline reports itself. pyHanko gives
the warning no category or code to filter by, so the filter matches its message: a reliance
on pyHanko's wording, hence its place here.
"""

from __future__ import annotations

import logging

LOGGER = "pyhanko.sign.signers.pdf_signer"
MESSAGE = "fetching is not allowed"


def without_fetching_warning(record: logging.LogRecord) -> bool:
    """False (drop) for pyHanko's "fetching is not allowed" warning, True for the rest."""
    return MESSAGE not in record.getMessage()


def install() -> None:
    """Attach the filter to pyHanko's signer logger (adding it twice adds it once)."""
    logging.getLogger(LOGGER).addFilter(without_fetching_warning)
