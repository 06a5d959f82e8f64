"""The files a signed PDF carries (PDF/A-3 associated files: the request sheet and the
attachments), as its first signature covers them, and a bundle's published files against
them: what goes on the website must be what both signers signed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from pipeline.core import fsutil


def signed_files(reader: PdfFileReader, signatures: Sequence[EmbeddedPdfSignature]
                 ) -> dict[str, str]:
    """Name → SHA-256 of each file embedded in the revision the first signature signed
    (every later signature covers that revision too; what a later revision adds is the
    change analysis' to judge). Empty when unsigned or when nothing is embedded."""
    if not signatures:
        return {}
    first = min(signatures, key=lambda s: s.signed_revision)
    root = reader.get_historical_root(first.signed_revision)
    try:
        names = root["/Names"]["/EmbeddedFiles"]["/Names"]
    except KeyError:
        return {}
    files = {}
    for i in range(0, len(names) - 1, 2):
        stream = names[i + 1]["/EF"]["/F"]
        files[str(names[i])] = hashlib.sha256(stream.data).hexdigest()
    return files


def disagreements(files: Mapping[str, tuple[str, Path]], signed: Mapping[str, str]
                  ) -> tuple[list[str], list[str]]:
    """Each published file (``files``: the name it was embedded under → its name in the
    bundle and the bundle's copy) against the signed copy: the problems (a file that
    differs, or is not inside a PDF that embeds the others of its group) and the notes (a
    PDF signed before such files were embedded holds none of them: nothing to compare,
    not wrong)."""
    if not files:
        return [], []
    if not any(name in signed for name in files):
        listed = ", ".join(label for label, _path in files.values())
        return [], [f"แบบฟอร์มที่ลงนามไม่มี {listed} อยู่ภายใน (ลงนามก่อนระบบฝังไฟล์) จึงเทียบกับ"
                    f"ที่ลงนามไม่ได้ / the signed PDF embeds none of {listed} (signed before "
                    f"they were embedded): they could not be compared with what was signed"]
    problems = []
    for name, (label, path) in files.items():
        if name not in signed:
            problems.append(f"{label} ไม่อยู่ในแบบฟอร์มที่ลงนาม / {label} is not "
                            f"inside the signed PDF: the signatures do not cover it")
        elif not path.is_file() or fsutil.sha256_file(path) != signed[name]:
            problems.append(f"{label} ไม่ตรงกับไฟล์ที่ลงนามไว้ในแบบฟอร์ม / {label} "
                            f"differs from the copy inside the signed PDF (SHA-256): it is "
                            f"not the file the signatures cover")
    return problems, []
