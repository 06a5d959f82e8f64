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

pyHanko's ``opentype`` module imports fontTools' subsetter (~0.1 s), which a process that
only verifies never needs: the patch is put in place when that module is first imported
(:class:`_WhenImported`, a finder on ``sys.meta_path`` that wraps its loader), or at once if
it already is. Importing this module imports neither.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections import OrderedDict
from collections.abc import Callable, Sequence
from io import BytesIO
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyhanko.pdf_utils.font import opentype

TARGET = "pyhanko.pdf_utils.font.opentype"
_pyhanko_extract_subset: Callable[..., None] | None = None  # pyHanko's own, once patched
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
    from fontTools import ttLib  # loaded already: pyHanko's opentype imports it

    module = sys.modules[TARGET]
    original = pyhanko_extract_subset()
    if (options is not None or not self.use_raw_gids
            or not isinstance(self.cidfont_obj, module.CIDFontType2)):
        original(self, options)
        return
    glyphs = sorted(self._glyphs)
    key = hashlib.sha256(_font_digest(self) + repr(glyphs).encode()).digest()
    data = _subsets.get(key)
    if data is None:
        original(self)
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


def pyhanko_extract_subset() -> Callable[..., None]:
    """pyHanko's own ``_extract_subset`` (importing its module if need be)."""
    if _pyhanko_extract_subset is None:
        module = importlib.import_module(TARGET)
        return module.GlyphAccumulator._extract_subset
    return _pyhanko_extract_subset


def _apply(module: ModuleType) -> None:
    global _pyhanko_extract_subset
    if _pyhanko_extract_subset is None:
        _pyhanko_extract_subset = module.GlyphAccumulator._extract_subset
        module.GlyphAccumulator._extract_subset = extract_subset


class _Loader(importlib.abc.Loader):
    """pyHanko's loader of the module, then the patch on the module it made."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _apply(module)


class _WhenImported(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != TARGET:
            return None
        sys.meta_path.remove(self)  # once; the real finders find it
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def install() -> None:
    """Use it in this process (only through :func:`pipeline.patches.install`)."""
    if TARGET in sys.modules:
        _apply(sys.modules[TARGET])
    elif not any(isinstance(f, _WhenImported) for f in sys.meta_path):
        sys.meta_path.insert(0, _WhenImported())
