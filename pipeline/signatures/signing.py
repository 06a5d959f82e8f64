"""PAdES signatures on the approval form: signing its fields, Thai stamps.

The form is signed twice, by incremental updates: the provider certifies it (DocMDP: filling
in forms and signing only), then the director signs the field made for them beforehand
(``fields.py``), which the certification permits. The keys: ``keys.py``; the timestamps:
``timestamps.py``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pkcs11
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.timestamps import TimestampRequestError
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator.errors import ValidationError

from pipeline.core import fsutil, thai
from pipeline.core.request import Person
from pipeline.signatures import datefield
from pipeline.signatures.fields import FIELD_HEIGHT, FIELD_WIDTH, TemplateError, field_box
from pipeline.signatures.keys import LoadedSigner, pkcs11_reason
from pipeline.signatures.model import (
    B_B_ONLY,
    ROLE_TITLES,
    Evidence,
    Level,
    SigningError,
    open_incremental,
)

# The stamp's text is as large as its box allows (fields.FIELD_WIDTH x FIELD_HEIGHT, the
# stamp area the form leaves between a block's heading and its signature line): its four
# lines at a leading of LEADING_RATIO x the size (which keeps the marks stacked above one
# line off those below the previous one), the widest line within the width. pyHanko writes
# size and leading with %d, so both are integers. 9 pt Laksaman (TH Sarabun metrics) is the
# smallest legible at 100 %: a longer text never goes below it (pyHanko shrinks it to fit).
STAMP_MIN_SIZE, STAMP_MAX_SIZE = 9, 16
LEADING_RATIO = 1.5
_STAMP_MARGINS = layout.Margins(left=4, right=4, top=2, bottom=4)
_WIDTH_SLACK = 0.97  # the time signed differs by seconds from the time measured


# Subsetting the stamp font warns at every signature about a table it drops (FFTM: FontForge's
# timestamps), which says nothing about the signature.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


@dataclass(frozen=True)
class SignatureInfo:
    role: str
    field: str
    signer: str  # the certificate's common name
    cert_sha256: str  # hex
    signed_at: datetime  # as in the signature (whole seconds), Bangkok time


def sign(
    src: Path,
    dst: Path,
    *,
    role: str,
    signer: LoadedSigner,
    person: Person,
    font: Path,
    certify: bool = False,
    evidence: Evidence = B_B_ONLY,
    countersigned: bool = False,
) -> SignatureInfo:
    """Sign the field ``role`` of ``src`` into ``dst`` (PAdES at ``evidence.level``, SHA-256)
    with a visible Thai stamp. ``certify`` makes it the certifying signature (DocMDP: form
    filling and signing only), as the provider's is. From B-LT on, the signer's certificate
    is validated first, revocation included: a revoked certificate does not sign.

    ``countersigned``: another signature will follow (as the director's follows the
    provider's), so B-LTA stops short of the document timestamp. The one after the last
    signature covers this signature's validation data too; one here would add two revisions
    that every later verification analyses (a quarter of an auditor's time per bundle,
    measured with ``bench/bench_verify.py``)."""
    if role not in ROLE_TITLES:
        raise SigningError(f"unknown role {role!r}: expected one of {', '.join(ROLE_TITLES)}")
    level = (Level.B_LT if countersigned and evidence.level is Level.B_LTA
             else evidence.level)
    return _sign_field(open_incremental(src), src, dst, field=role, title=ROLE_TITLES[role],
                       signer=signer, person=person, font=font, certify=certify,
                       evidence=evidence, level=level)


def _sign_field(
    writer: IncrementalPdfFileWriter,
    src: Path,
    dst: Path,
    *,
    field: str,
    title: str,
    signer: LoadedSigner,
    person: Person,
    font: Path,
    certify: bool,
    evidence: Evidence,
    level: Level,
) -> SignatureInfo:
    _check_signer(signer, person)
    if not font.is_file():
        raise SigningError(f"stamp font {font} not found")
    datefield.fill(writer, field, datetime.now(thai.BANGKOK).date(), font)  # in this revision
    size = stamp_size(_stamp_text(person, title, datetime.now(thai.BANGKOK)), font,
                      FIELD_WIDTH, FIELD_HEIGHT)  # the largest its box holds
    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=field,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            certify=certify,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS,
            name=person.name,
            reason=f"ลงนามในฐานะ{title} ตำแหน่ง {person.position}",
            embed_validation_info=level.reaches(Level.B_LT),
            use_pades_lta=level.reaches(Level.B_LTA),
            validation_context=(evidence.validation_context if level.reaches(Level.B_LT)
                                else None),
        ),
        signer.backend,
        stamp_style=_stamp_style(font, size),
        timestamper=evidence.timestamper if level.reaches(Level.B_T) else None,
    )
    stamp = functools.partial(_stamp_text, person, title)
    try:
        data, signed_at = asyncio.run(_sign(pdf_signer, writer, stamp))
    except (PdfError, PyHankoSigningError, ValidationError) as exc:
        if (invalid := _certificate_problem(exc)) is not None:  # revoked, expired, untrusted
            raise SigningError(f"{signer.name}'s certificate cannot be used to sign: "
                               f"{invalid}") from exc
        raise SigningError(f"cannot sign {src.name} in field {field}: {exc}") from exc
    except TimestampRequestError as exc:
        raise SigningError(f"the timestamp authority did not answer ({exc}); "
                           f"the request waits and is tried again") from exc
    except pkcs11.PKCS11Error as exc:
        raise SigningError(f"cannot sign {src.name} in field {field}: the token failed "
                           f"({pkcs11_reason(exc)}); is it still plugged in?") from exc
    fsutil.write_bytes(dst, data)
    return SignatureInfo(field, field, signer.name, signer.cert_sha256, signed_at)


def _certificate_problem(exc: BaseException) -> str | None:
    """What certificate validation found, when that is why pyHanko refused to sign."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ValidationError):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    return None


async def _sign(
    pdf_signer: signers.PdfSigner,
    writer: IncrementalPdfFileWriter,
    stamp: Callable[[datetime], str],
) -> tuple[bytes, datetime]:
    """pyHanko's signing steps (``PdfSigner.async_sign_pdf``) spelt out, to put the session's
    signing time on the stamp: the stamp and the signature's /M are the same instant."""
    session = pdf_signer.init_signing_session(writer, existing_fields_only=True)
    signed_at = session.system_time.replace(microsecond=0)  # /M keeps whole seconds
    validation = await session.perform_presign_validation(writer)
    tbs = session.prepare_tbs_document(
        validation_info=validation,
        bytes_reserved=await session.estimate_signature_container_size(validation),
        appearance_text_params={"stamp": stamp(signed_at)},
    )
    prepared, output = tbs.digest_tbs_document()
    signed = await tbs.perform_signature(
        prepared.document_digest,
        PdfCMSSignedAttributes(
            signing_time=session.system_time,
            cades_signed_attrs=pdf_signer.signature_meta.cades_signed_attr_spec,
        ),
    )
    await signed.post_signature_processing(output)
    assert isinstance(output, BytesIO)  # pyHanko's own buffer, given no output stream
    return output.getvalue(), signed_at.astimezone(thai.BANGKOK)


def _stamp_text(person: Person, title: str, signed_at: datetime) -> str:
    return "\n".join((
        f"ลงนามโดย {person.name}",
        title,
        f"ตำแหน่ง {person.position}",
        f"วันที่ {thai.long_datetime(signed_at)}",
    ))


def _check_signer(signer: LoadedSigner, person: Person) -> None:
    cert = signer.certificate
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise SigningError(
            f"the certificate of {signer.name} is valid from {cert.not_valid_before_utc:%Y-%m-%d} "
            f"to {cert.not_valid_after_utc:%Y-%m-%d}, not now ({now:%Y-%m-%d}): "
            f"renew it before signing"
        )
    if thai.name_key(person.name) != thai.name_key(signer.name):
        raise SigningError(f"the stamp would name {person.name} but the key belongs to "
                           f"{signer.name}: check the signer's name or key in the configuration")


def leading(size: int) -> int:
    """The line spacing for ``size``: never less than LEADING_RATIO times it."""
    return math.ceil(size * LEADING_RATIO)


@functools.cache
def _advances(font: Path) -> tuple[dict[int, int], float]:
    """Each character's advance width in the font's units, and the units per point of size."""
    with TTFont(str(font), lazy=True) as face:
        cmap, metrics = face.getBestCmap(), face["hmtx"].metrics
        widths = {code: metrics[glyph][0] for code, glyph in cmap.items() if glyph in metrics}
        return widths, float(face["head"].unitsPerEm)


def text_width(text: str, font: Path, size: float) -> float:
    """The width of one line of ``text`` in points, from the font's advances (Thai marks
    advance nothing; the shaping pyHanko does moves them only)."""
    widths, per_em = _advances(font)
    return sum(widths.get(ord(c), per_em / 2) for c in text) * size / per_em


def stamp_size(text: str, font: Path, width: float, height: float) -> int:
    """The largest font size (whole points) at which ``text``'s lines fill a stamp of
    ``width`` x ``height`` points, between STAMP_MIN_SIZE and STAMP_MAX_SIZE."""
    lines = text.splitlines() or [""]
    room_w = (width - _STAMP_MARGINS.left - _STAMP_MARGINS.right) * _WIDTH_SLACK
    room_h = height - _STAMP_MARGINS.top - _STAMP_MARGINS.bottom
    for size in range(STAMP_MAX_SIZE, STAMP_MIN_SIZE, -1):
        if (len(lines) * leading(size) <= room_h
                and max(text_width(line, font, size) for line in lines) <= room_w):
            return size
    return STAMP_MIN_SIZE


@functools.cache
def _stamp_style(font: Path, size: int = STAMP_MIN_SIZE) -> TextStampStyle:
    thai_font = GlyphAccumulatorFactory(
        str(font), ot_script_tag="thai", ot_language_tag="THA ", bcp47_lang_code="th"
    )
    return TextStampStyle(
        stamp_text="%(stamp)s",
        border_width=1,
        text_box_style=TextBoxStyle(
            font=thai_font,
            font_size=size,
            leading=leading(size),
            box_layout_rule=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MIN,
                y_align=layout.AxisAlignment.ALIGN_MID,
                margins=_STAMP_MARGINS,
            ),
        ),
        inner_content_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MID
        ),
    )


def sign_at_bookmark(
    src: Path,
    dst: Path,
    *,
    bookmark: str,
    field: str,
    title: str,
    signer: LoadedSigner,
    person: Person,
    font: Path,
    evidence: Evidence = B_B_ONLY,
) -> SignatureInfo:
    """Sign ``src`` into ``dst`` in a new visible field ``field`` placed below the template's
    bookmark ``bookmark`` (as the form's fields are), with a Thai stamp naming ``title``: for
    documents without pre-made fields, such as a report the director acknowledges."""
    writer = open_incremental(src)
    dests = writer.root["/Dests"] if "/Dests" in writer.root else generic.DictionaryObject()
    if "/" + bookmark not in dests:
        raise TemplateError(f"{src.name} has no named destination {bookmark}: the template "
                            f"needs a bookmark of that name in the signature box")
    where = field_box(writer, bookmark, dests["/" + bookmark])
    fields.append_signature_field(writer, fields.SigFieldSpec(
        field, on_page=where.page, box=where.box))  # type: ignore[arg-type]  # see FieldBox
    return _sign_field(writer, src, dst, field=field, title=title, signer=signer,
                       person=person, font=font, certify=False, evidence=evidence,
                       level=evidence.level)
