"""The form's signature fields, made before the first signature where the template's
bookmarks say, and the files embedded with them as PDF/A-3 associated files: the request
sheet (/Source) and every attachment (/Data: the form lists them), so that both signatures
cover what is published.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils import embed, generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields

from pipeline.core import fsutil
from pipeline.signatures import datefield
from pipeline.signatures.model import SigningError, open_incremental

# Template contract: a Word bookmark per role, exported by LibreOffice as a named destination
# [page /XYZ left top zoom] in the catalog's /Dests; the field hangs below it, centred on left.
BOOKMARKS = {"provider": "SigProvider", "director": "SigDirector", "publisher": "SigPublisher"}
# The stamp area the form leaves (measured on the rendered form with pdftotext -bbox and the
# bookmarks: 68 pt from the block's heading to its signature line, a column of 238 pt inside
# its cell; the report's acknowledgement column, 231 pt): the field fills it.
FIELD_WIDTH, FIELD_HEIGHT = 226, 66


class TemplateError(SigningError):
    """The form PDF lacks what the template contract promises (a signature bookmark)."""


@dataclass(frozen=True)
class FieldBox:
    """Where a signature field is: page index (from 0) and rectangle in user space.

    The rectangle is in points, fractions kept: pyHanko writes it into /Rect as it is,
    although ``SigFieldSpec.box`` is annotated as four ints (hence the two narrow ignores
    where it is passed)."""

    page: int
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class Attachment:
    """A file to carry inside the signed PDF (PDF/A-3 associated file)."""

    path: Path
    name: str  # as shown in a PDF reader's attachment pane
    mime_type: str
    description: str
    relationship: str = "/Source"  # PDF/A-3's /AFRelationship


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ATTACHMENT_DESCRIPTION = "ไฟล์แนบที่ขอเผยแพร่ / an attachment to publish"


def attachment(path: Path) -> Attachment:
    """An attachment of the request, embedded under its own name with the MIME type its
    extension gives (PDF/A-3 wants one: ``application/octet-stream`` when none is known)."""
    mime = mimetypes.guess_type(path.name, strict=False)[0] or "application/octet-stream"
    return Attachment(path, path.name, mime, ATTACHMENT_DESCRIPTION, "/Data")


def add_signature_fields(src: Path, dst: Path, attachments: tuple[Attachment, ...] = ()
                         ) -> dict[str, FieldBox]:
    """Write ``src`` to ``dst`` with an empty signature field per role, where the template's
    bookmarks say, so that later signatures fill fields the certification permits; and with
    ``attachments`` embedded (the request sheet: one signed PDF is then the whole evidence).

    The structure tree LibreOffice writes for PDF/A is left out (PDF/A-3b does not need it):
    pyHanko's change analysis copies and walks the whole object graph once per signature,
    and the tree is 105 of the form's 244 objects, a third of an auditor's time per bundle
    (measured with ``bench/bench_verify.py``). The signature widgets would not be in it
    either, so it never made the signed form properly tagged."""
    writer = open_incremental(src)
    _drop_structure_tree(writer)
    boxes = _field_boxes(writer, src)
    for role, where in boxes.items():
        fields.append_signature_field(writer, fields.SigFieldSpec(
            role, on_page=where.page, box=where.box))  # type: ignore[arg-type]  # see FieldBox
    datefield.add_fields(writer, _date_points(writer))
    for attached in attachments:
        _embed(writer, attached)
    if attachments:
        _sort_names(writer)
    out = BytesIO()
    writer.write(out)
    fsutil.write_bytes(dst, out.getvalue())
    return boxes


def _drop_structure_tree(writer: IncrementalPdfFileWriter) -> None:
    if "/StructTreeRoot" in writer.root or "/MarkInfo" in writer.root:
        writer.root.pop("/StructTreeRoot", None)
        writer.root.pop("/MarkInfo", None)
        writer.update_root()


def _embed(writer: IncrementalPdfFileWriter, attachment: Attachment) -> None:
    """Embed a file as PDF/A-3 wants it: MIME type, modification date, and an associated-file
    relationship (/AFRelationship /Source, listed in the catalog's /AF). pyHanko sets the
    relationship only together with a move to PDF 2.0, which PDF/A-3 (PDF 1.7) forbids, so
    the relationship is added here."""
    data = attachment.path.read_bytes()
    modified = datetime.fromtimestamp(attachment.path.stat().st_mtime, UTC)
    spec = embed.FileSpec(
        file_spec_string=attachment.name, file_name=attachment.name,
        description=attachment.description,
        embedded_data=embed.EmbeddedFileObject.from_file_data(
            writer, data, mime_type=attachment.mime_type,
            params=embed.EmbeddedFileParams(modification_date=modified)))
    embed.embed_file(writer, spec)
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    spec_ref = names[-1]
    spec_ref.get_object()["/AFRelationship"] = generic.pdf_name(attachment.relationship)
    if "/AF" in writer.root:
        associated = writer.root["/AF"]
        associated.append(spec_ref)
        writer.update_container(associated)
    else:
        writer.root["/AF"] = writer.add_object(generic.ArrayObject([spec_ref]))
        writer.update_root()


def _sort_names(writer: IncrementalPdfFileWriter) -> None:
    """A name tree's keys in order, as the PDF specification requires (pyHanko appends):
    readers may look an embedded file up by bisection."""
    names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
    raw = [names.raw_get(i) for i in range(len(names))]  # the references, not their objects
    pairs = sorted(zip(raw[::2], raw[1::2], strict=True), key=lambda pair: _key_bytes(pair[0]))
    names[:] = [item for pair in pairs for item in pair]
    writer.update_container(names)


def _key_bytes(key: generic.PdfObject) -> bytes:
    """A text string as the PDF writes it: PDFDocEncoding when it can, else UTF-16BE."""
    text = str(key)
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return b"\xfe\xff" + text.encode("utf-16-be")


def _field_boxes(writer: IncrementalPdfFileWriter, src: Path) -> dict[str, FieldBox]:
    dests = writer.root["/Dests"] if "/Dests" in writer.root else generic.DictionaryObject()
    missing = [name for name in BOOKMARKS.values() if "/" + name not in dests]
    if missing:
        raise TemplateError(
            f"{src.name} has no named destination {', '.join(missing)}: the template needs a "
            f"bookmark of that name in each signature box, exported with "
            f"ExportBookmarksToPDFDestination"
        )
    return {role: field_box(writer, name, dests["/" + name]) for role, name in BOOKMARKS.items()}


def _date_points(writer: IncrementalPdfFileWriter) -> dict[str, tuple[int, float, float]]:
    """Where each later signer's date begins (page, left, top), for the roles whose
    bookmark the template has (an older template has none: those dates stay dotted)."""
    dests = writer.root["/Dests"] if "/Dests" in writer.root else generic.DictionaryObject()
    return {role: _point(writer, name, dests["/" + name])
            for role, name in datefield.BOOKMARKS.items() if "/" + name in dests}


def field_box(writer: IncrementalPdfFileWriter, name: str, dest: generic.PdfObject) -> FieldBox:
    page, left, top = _point(writer, name, dest)
    return FieldBox(page, (left - FIELD_WIDTH / 2, top - FIELD_HEIGHT, left + FIELD_WIDTH / 2,
                           top))


def _point(writer: IncrementalPdfFileWriter, name: str, dest: generic.PdfObject
           ) -> tuple[int, float, float]:
    """A named destination [page /XYZ left top zoom] as (page index, left, top)."""
    if isinstance(dest, generic.DictionaryObject):  # the other form the PDF spec allows
        dest = dest["/D"]
    kind = None
    if isinstance(dest, generic.ArrayObject):
        try:
            page_ref, kind, left, top = dest.raw_get(0), dest[1], float(dest[2]), float(dest[3])
        except (IndexError, TypeError, ValueError):
            kind = None
    if kind != "/XYZ":
        raise TemplateError(f"named destination {name} is not [page /XYZ left top zoom]")
    for page in range(int(writer.root["/Pages"]["/Count"])):
        if writer.find_page_for_modification(page)[0].reference == page_ref.reference:
            return page, left, top
    raise TemplateError(f"named destination {name} points to no page of the document")
