"""The attachments a request publishes are listed on the form (name, size, SHA-256), shown
to the director beside the form before signing, embedded in the signed PDF as PDF/A-3
associated files before the provider signs (so both signatures cover them), and checked
by ``verify`` against that signed copy."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from printed_form import pdftotext, squash
from pypdf import PdfReader

from pipeline import demo
from pipeline.audit import verify
from pipeline.bundles import bundle
from pipeline.core import thai
from pipeline.flow.processing import Processor
from pipeline.intake import blank_sheet
from pipeline.records.journal import State
from pipeline.settings import config

FILES = {"สรุปผลคัดกรอง ไตรมาส1.pdf": b"%PDF-1.4 screening summary " * 40,
         "poster2.jpg": b"\xff\xd8\xff\xe0 poster " * 300}
MIME = {"สรุปผลคัดกรอง ไตรมาส1.pdf": "/application#2Fpdf", "poster2.jpg": "/image#2Fjpeg"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def decided(demo_template, converter, tmp_path_factory):
    """A request with two attachments, as the director saw it in pending/ and after the
    approval: (pending item, form text while waiting, pending/ after, bundle, config)."""
    root = shutil.copytree(demo_template, tmp_path_factory.mktemp("attached") / "ws")
    toml = root / "pipeline.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        "auto_approve = true", "auto_approve = false"), encoding="utf-8")
    cfg = config.load(root)
    sheet = root / "inbox-copy" / "ขอเผยแพร่.xlsx"
    sheet.parent.mkdir()
    blank_sheet.new_request(sheet, cfg)
    blank_sheet.fill(sheet, {**demo.sample_values(date.today()),
                             "attachments": "\n".join(FILES)})
    for name, data in FILES.items():
        (sheet.parent / name).write_bytes(data)
    with Processor(cfg, converter) as proc:
        outcome = proc.process(sheet)
        assert outcome.state == State.AWAITING_DIRECTOR, outcome.problems
        [item] = proc.pending()
        shown = {p.name: p.read_bytes() for p in item.attachments}
        text = pdftotext(item.pdf)
        with proc.deciding():
            done = proc.approve(item.request_id)
    assert done.state == State.ARCHIVED, done.problems
    left = sorted(p.name for p in cfg.workspace.pending.iterdir())
    return item, shown, text, left, done.bundle, cfg


def test_the_director_finds_each_attachment_beside_the_form(decided):
    item, shown, _text, left, _folder, cfg = decided
    assert [p.parent for p in item.attachments] == [cfg.workspace.pending / item.request_id] * 2
    assert [p.name for p in item.attachments] == list(FILES)
    assert shown == FILES
    assert left == []  # decided: the form and its attachments leave pending/


def test_the_form_lists_each_attachment_with_size_and_hash(decided):
    _item, _shown, text, *_ = decided
    flat = squash(text)
    for n, (name, data) in enumerate(FILES.items(), 1):
        assert squash(f"{thai.thai_digits(n)}. {name} (ขนาด {thai.thai_digits(f'{len(data):,}')}"
                      f" ไบต์)") in flat, text
        assert f"SHA-256 {_sha(data)}" in text  # whole, on one line


def test_the_signed_pdf_carries_the_attachments_both_signatures_cover(decided):
    *_, folder, _cfg = decided
    pdf = folder / bundle.pdf_name(folder.name)
    reader = PdfReader(pdf)
    embedded = {name: datas[0] for name, datas in reader.attachments.items()}
    sheet = (folder / bundle.SHEET_NAME).read_bytes()
    assert {n: _sha(d) for n, d in embedded.items()} == {
        **{n: _sha(d) for n, d in FILES.items()}, "ขอเผยแพร่.xlsx": _sha(sheet)}
    for name, data in FILES.items():  # the published copies are the signed ones
        assert (folder / bundle.ATTACHMENTS / name).read_bytes() == data
    # the first signature's byte range already holds them: both signatures cover them
    first = min(int(f["/V"]["/ByteRange"][2]) for f in reader.get_fields().values()
                if f.get("/FT") == "/Sig" and "/V" in f)
    with pdf.open("rb") as f:
        signed_part = f.read(first)
    assert signed_part.count(b"/EmbeddedFile") >= len(FILES) + 1


def test_the_attachments_are_pdf_a3_associated_files(decided):
    *_, folder, _cfg = decided
    catalog = PdfReader(folder / bundle.pdf_name(folder.name)).trailer["/Root"]
    associated = {str(spec.get_object()["/F"]): spec.get_object() for spec in catalog["/AF"]}
    assert set(associated) == {*FILES, "ขอเผยแพร่.xlsx"}
    names = catalog["/Names"]["/EmbeddedFiles"]["/Names"]
    listed = [str(names[i]) for i in range(0, len(names), 2)]
    assert sorted(listed, key=_written) == listed  # a name tree's keys are in order
    for name, spec in associated.items():
        assert spec["/Type"] == "/Filespec" and spec["/UF"] == name and spec["/Desc"]
        assert spec["/AFRelationship"] == ("/Source" if name.endswith(".xlsx") else "/Data")
        stream = spec["/EF"]["/F"].get_object()
        assert stream["/Type"] == "/EmbeddedFile" and "/ModDate" in stream["/Params"]
        if name in MIME:
            assert stream["/Subtype"] in (MIME[name], MIME[name].replace("#2F", "/"))
        assert stream["/Params"]["/Size"] == len(stream.get_data())


def _written(key: str) -> bytes:
    try:
        return key.encode("latin-1")
    except UnicodeEncodeError:
        return b"\xfe\xff" + key.encode("utf-16-be")


def _tampered(folder: Path, tmp_path: Path, *, manifest_too: bool) -> Path:
    copy = shutil.copytree(folder, tmp_path / folder.name)
    target = copy / bundle.ATTACHMENTS / "poster2.jpg"
    target.write_bytes(b"\xff\xd8\xff\xe0 another poster")
    if manifest_too:  # the forger updates the manifest's hash as well: only the signed copy tells
        path = copy / bundle.MANIFEST
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest["files"]["attachments/poster2.jpg"] = {
            "sha256": _sha(target.read_bytes()), "size": target.stat().st_size}
        path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return copy


def test_verify_passes_the_bundle_as_signed(decided):
    *_, folder, cfg = decided
    report = verify.verify_path(folder, cfg.trust_roots)
    assert report.ok, (report.bundle_problems, report.signatures)
    assert not [n for n in report.notes if "embed" in n]


@pytest.mark.parametrize("manifest_too", [False, True])
def test_verify_fails_naming_an_attachment_that_differs(decided, tmp_path, manifest_too):
    *_, folder, cfg = decided
    report = verify.verify_path(_tampered(folder, tmp_path, manifest_too=manifest_too),
                                cfg.trust_roots)
    assert not report.ok and report.exit_code == 1
    named = [p for p in report.bundle_problems if "differs from the copy inside the signed PDF"
             in p]
    assert named and all("attachments/poster2.jpg" in p for p in named), report.bundle_problems
    assert not any("สรุปผลคัดกรอง" in p for p in report.bundle_problems)
