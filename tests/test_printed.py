"""What a PDF shows, read with poppler: the colour set-up poppler would spend most of its time
on is skipped through the catalog only, never by changing what a page says."""

from __future__ import annotations

from pipeline.audit import printed


def _pdf(text: str) -> tuple[bytes, int]:
    """A one-page PDF showing ``text`` (Helvetica), with an output intent in its catalog;
    and the catalog's offset."""
    stream = f"BT /F1 12 Tf 72 700 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /OutputIntents [5 0 R] >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 6 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB) >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out), offsets[0]


def test_a_page_that_says_the_key_keeps_saying_it() -> None:
    data, catalog = _pdf("Approved by /OutputIntents and no one else")
    shown = printed.read(data, catalog).compact()
    assert "Approvedby/OutputIntentsandnooneelse" in shown
    assert shown == printed.read(data).compact()


def test_only_the_catalogs_key_is_renamed() -> None:
    data, catalog = _pdf("x")
    renamed = printed._without_output_intents(data, catalog)
    assert len(renamed) == len(data) and renamed.count(b"/OutputIntentZ") == 1
    assert renamed.index(b"/OutputIntentZ") < renamed.index(b"endobj")  # in object 1
    assert printed._without_output_intents(data, None) == data
