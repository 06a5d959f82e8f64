"""The signed form is still PDF/A-3b after both signatures and after an archive timestamp
refresh: pyHanko's incremental updates must not break what LibreOffice made (identification,
embedded fonts, output intent, the request sheet as an associated file, PDF version), and
without the structure tree, which PDF/A-3b does not need."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from pipeline import demo
from pipeline.bundles import bundle
from pipeline.flow import archive
from pipeline.flow.processing import Processor
from pipeline.records.journal import State
from pipeline.settings import config

STAGES = ("signed", "refreshed")


@pytest.fixture(scope="module")
def pdfs(demo_template, converter, tmp_path_factory) -> dict[str, Path]:
    """The bundle's PDF right after the director's signature, and after a forced refresh."""
    root = shutil.copytree(demo_template, tmp_path_factory.mktemp("pdfa") / "ws")
    ws = config.load(root)
    with Processor(ws, converter) as proc:
        outcome = proc.process(demo.create(root).sample)
    assert outcome.state == State.ARCHIVED, outcome.problems
    pdf = outcome.bundle / bundle.pdf_name(outcome.request_id)
    signed = shutil.copy(pdf, root / "signed.pdf")
    [done] = archive.refresh_timestamps(ws, [outcome.bundle], force=True)
    assert done.result == archive.Result.REFRESHED, done
    return {"signed": Path(signed), "refreshed": pdf}


def _run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True,
                          text=True).stdout


def _catalog(pdf: Path):
    return PdfFileReader(pdf.open("rb")).root


@pytest.mark.parametrize("stage", STAGES)
def test_xmp_identifies_pdf_a_3b(pdfs, stage):
    xmp = _run("pdfinfo", "-meta", pdfs[stage])
    assert re.search(r'pdfaid:part(="|>)3\b', xmp), xmp
    assert re.search(r'pdfaid:conformance(="|>)B\b', xmp), xmp


@pytest.mark.parametrize("stage", STAGES)
def test_every_font_is_embedded(pdfs, stage):
    lines = _run("pdffonts", pdfs[stage]).splitlines()
    dashes = lines[1].split(" ")  # column widths, as the header's underline shows them
    start = sum(len(d) + 1 for d in dashes[:3])
    emb = [line[start:start + 3] for line in lines[2:]]
    assert lines[0][start:start + 3] == "emb"
    assert emb and set(emb) == {"yes"}, lines


@pytest.mark.parametrize("stage", STAGES)
def test_the_output_intent_is_still_there(pdfs, stage):
    intents = _catalog(pdfs[stage])["/OutputIntents"]
    pdfa = [i.get_object() for i in intents if i.get_object()["/S"] == "/GTS_PDFA1"]
    assert len(pdfa) == 1 and "/DestOutputProfile" in pdfa[0]


@pytest.mark.parametrize("stage", STAGES)
def test_the_request_sheet_is_an_associated_source_file(pdfs, stage):
    listed = _run("pdfdetach", "-list", pdfs[stage])
    assert re.search(r"^1: sample_request\.xlsx$", listed, re.MULTILINE), listed
    associated = [spec.get_object() for spec in _catalog(pdfs[stage])["/AF"]]
    assert [(s["/F"], s["/AFRelationship"]) for s in associated] == [
        ("sample_request.xlsx", "/Source")]


@pytest.mark.parametrize("stage", STAGES)
def test_the_pdf_version_stays_at_most_1_7(pdfs, stage):
    header = pdfs[stage].read_bytes()[:16]
    match = re.match(rb"%PDF-(\d)\.(\d)", header)
    assert match and (int(match[1]), int(match[2])) <= (1, 7), header
    version = _catalog(pdfs[stage]).get("/Version")
    assert version is None or version in ("/1.4", "/1.5", "/1.6", "/1.7"), version
    assert "PDF version:     1.7" in _run("pdfinfo", pdfs[stage])


@pytest.mark.parametrize("stage", STAGES)
def test_no_structure_tree_for_the_change_analysis_to_walk(pdfs, stage):
    # PDF/A-3b does not need one; verification of every later signature walks it otherwise
    catalog = _catalog(pdfs[stage])
    assert "/StructTreeRoot" not in catalog and "/MarkInfo" not in catalog
    assert "Tagged:          no" in _run("pdfinfo", pdfs[stage])
