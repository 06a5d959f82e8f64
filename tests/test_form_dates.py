"""The director's "วันที่ ……/……/……" is filled when the director signs, written as the
provider's date is (Thai digits, Buddhist Era), over the dots, and the signatures stay valid
(filling a form field is what the certification permits)."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

from printed_form import squash

from pipeline import demo
from pipeline.audit import model, signature
from pipeline.bundles import bundle
from pipeline.core import thai
from pipeline.intake import blank_sheet
from pipeline.records.journal import State

_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                   r"([^<]*)</word>")


def _words(pdf: Path) -> list[tuple[float, float, float, float, str]]:
    xml = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    return [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in _WORD.findall(xml)]


def test_the_directors_date_is_printed_on_its_line_when_signed(processor, demo_ws, tmp_path):
    path = tmp_path / "r.xlsx"
    blank_sheet.new_request(path, demo_ws)
    blank_sheet.fill(path, demo.sample_values(date.today()))
    outcome = processor.process(path)
    assert outcome.state == State.ARCHIVED, outcome.problems
    pdf = outcome.bundle / bundle.pdf_name(outcome.request_id)
    words = _words(pdf)
    # the date lines of the two blocks side by side: "วันที่" then the date, on one line
    labels = sorted((w for w in words if w[4] == "วันที่"), key=lambda w: w[1])
    provider_label, director_label = sorted(
        (w for w in labels if abs(w[1] - labels[0][1]) < 2 or w[0] > 300), key=lambda w: w[0])[:2]
    today = thai.long_date(thai.today())
    on_line = [w for w in words if abs(w[1] - director_label[1]) < 4 and w[0] > director_label[2]
               and not w[4].startswith(".")]
    assert squash(" ".join(w[4] for w in sorted(on_line))) == squash(today), on_line
    assert on_line[0][0] - director_label[2] < 12  # right after "วันที่", where the dots were
    statuses = signature.verify_pdf(pdf, demo_ws.trust_roots)
    assert [(s.indication, s.changes_permitted) for s in statuses] == [
        (model.Indication.PASSED, True)] * 2, statuses
    assert provider_label[0] < director_label[0]
