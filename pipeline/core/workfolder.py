"""The files of a request's work folder (``.pipeline/work/<ID>/``), each written by one
step and read by the next (:mod:`pipeline.flow.steps`), and read by the index for requests
still in progress: their names live here, so that neither imports the other."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.core.request import Request, from_dict

SOURCE = "source.xlsx"  # the clerk's sheet, byte for byte
REQUEST_JSON = "request.json"  # the validated request
FORM_PDF = "form.pdf"  # rendered by LibreOffice
FIELDS_PDF = "form-fields.pdf"  # with the signature fields and the embedded sheet
PROVIDER_PDF = "provider-signed.pdf"
SIGNED_PDF = "signed.pdf"  # the director's signature too
AWAITED_JSON = "awaited-attachments.json"  # attachments named but not yet arrived
ATTACHMENTS = "attachments"  # the folder of the request's attachments


def signature_file(role: str) -> str:
    """The record of one signature (:class:`bundle.SignatureRecord` as JSON)."""
    return f"signature-{role}.json"


def read_request(folder: Path) -> Request | None:
    """The validated request of a work folder, or None before validation (or if damaged)."""
    try:
        return from_dict(json.loads((folder / REQUEST_JSON).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
