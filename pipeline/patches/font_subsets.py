"""Each stamp's font subset made once per glyph set, for pyHanko 0.38's GlyphAccumulator.

Every signature's stamp embeds a subset of the Thai font. pyHanko makes it by running
fontTools' subsetter over a freshly parsed copy of the whole font (``_extract_subset``),
which decompiles its layout tables each time: ~22 ms of CPU per signature, two or three
signatures per request (``bench/bench_profile.py``). The subset is a pure function of the
font's bytes and the set of glyphs the stamp uses, and a batch stamps the same names,
roles and positions again and again, so the subset is kept per exact (font bytes, glyph
set) and a later accumulator with the same inputs is handed a font parsed from the kept
bytes. What pyHanko later does with it is unchanged: ``CIDFontType2.set_font_file``
saves it into the PDF (``tests/test_patches.py`` checks that the embedded font program is
byte for byte the one pyHanko's own path writes, at the same time of day). Only TrueType
fonts with pyHanko's default options take this path; anything else runs pyHanko's code.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from io import BytesIO
from typing import Any

from fontTools import ttLib
from pyhanko.pdf_utils.font import opentype

_pyhanko_extract_subset = opentype.GlyphAccumulator._extract_subset
_KEPT = 64  # glyph sets (a subset of Laksaman is ~20 KB)
_subsets: OrderedDict[bytes, bytes] = OrderedDict()  # (font, glyphs) digest -> subset font


def _font_digest(accumulator: opentype.GlyphAccumulator) -> bytes:
    """SHA-256 of the font file the accumulator parsed (~0.2 ms for a 110 KB font)."""
    handle = accumulator.tt.reader.file
    where = handle.tell()
    handle.seek(0)
    digest = hashlib.sha256(handle.read()).digest()
    handle.seek(where)
    return digest


def extract_subset(self: opentype.GlyphAccumulator, options: Any = None) -> None:
    if (options is not None or not self.use_raw_gids
            or not isinstance(self.cidfont_obj, opentype.CIDFontType2)):
        _pyhanko_extract_subset(self, options)
        return
    glyphs = sorted(self._glyphs)
    key = hashlib.sha256(_font_digest(self) + repr(glyphs).encode()).digest()
    data = _subsets.get(key)
    if data is None:
        _pyhanko_extract_subset(self)
        saved = BytesIO()
        self.tt.save(saved)
        _subsets[key] = saved.getvalue()
        if len(_subsets) > _KEPT:
            _subsets.popitem(last=False)
        return
    _subsets.move_to_end(key)
    subset = ttLib.TTFont(BytesIO(data))
    self.tt = subset  # as the subsetter leaves it: the accumulator's font is the subset
    self.cidfont_obj._tt = subset  # what set_font_file saves into the PDF


def install() -> None:
    """Use it in this process (only through :func:`pipeline.patches.install`)."""
    opentype.GlyphAccumulator._extract_subset = extract_subset  # type: ignore[method-assign]
