"""The approval form end to end through a real LibreOffice: Thai text, fonts, escaping, the
stamp areas the signing step relies on, and a converter that outlives a crashed or hung soffice."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import threading
import time
import zipfile
from datetime import date
from pathlib import Path

import docx
import pytest
from printed_form import detail_parts, pdftotext, printed_detail, squash

from pipeline.core.request import Person, Request
from pipeline.external.office import Converter
from pipeline.form import render as render_mod
from pipeline.form.render import RenderError, context, render_docx, render_pdf
from pipeline.settings.workspace import builtin_template
from pipeline.signatures.fields import FIELD_HEIGHT, FIELD_WIDTH

TEMPLATE = builtin_template("approval_form.docx")
STAMP_FIELDS = ("SigProvider", "SigDirector", "SigPublisher")
FIELD_HALF_WIDTH = FIELD_WIDTH / 2  # the signing step's field hangs below each destination
Box = tuple[float, float, float, float]

REQUEST = Request(
    unit="สำนักงานสาธารณสุขอำเภอเมืองตัวอย่าง",
    work_group="ส่งเสริมสุขภาพ",
    request_date=date(2026, 11, 25),
    title="กำหนดการประชุมผู้บริหาร ประจำเดือนพฤศจิกายน ๒๕๖๙",
    category="ข่าวประชาสัมพันธ์",
    detail="ขอเผยแพร่กำหนดการประชุมผู้บริหารให้ผู้ใหญ่บ้านหมู่ที่ ๑๒ ทราบ\nแนบกำหนดการ ๑ ฉบับ",
    provider=Person("นางสาวมิ่งขวัญ ใจดี", "นักวิชาการสาธารณสุขชำนาญการ"),
    approver=Person("นายสมชาย รักษาดี", "สาธารณสุขอำเภอเมืองตัวอย่าง"),
    publisher=Person("นายเกร็ด ความรู้", "เจ้าพนักงานธุรการ"),
)

# Thai words, each a unit a line may not split; joined without spaces as Thai is written.
LONG_WORDS = ("ประกาศ", "รับสมัคร", "อาสาสมัคร", "สาธารณสุข", "ประจำ", "หมู่บ้าน", "เพื่อ",
              "เฝ้าระวัง", "โรค", "ไข้เลือดออก", "และ", "โรคติดต่อ", "ที่", "นำ", "โดย", "ยุงลาย",
              "ใน", "พื้นที่", "ตำบล", "บ้านใหม่", "ประจำ", "ปีงบประมาณ", "๒๕๖๙")
TRICKY = {
    "flash flood, sara am": ("น้ำท่วมฉับพลัน", "น้ำท่วมฉับพลันทำให้ชาวบ้านต้องอพยพ"),
    "meeting": ("กำหนดการประชุมผู้บริหาร", "ประชุมคณะกรรมการบริหารงานสาธารณสุขระดับอำเภอ"),
    "Thai digits": ("ผู้ใหญ่บ้านหมู่ที่ ๑๒", "ประชุมวันที่ ๒๕ พฤศจิกายน ๒๕๖๙ เวลา ๐๙.๓๐ น."),
    "stacked marks": ("ปู่ย่าตายาย", "กิจกรรมสำหรับปู่ย่าตายายและผู้สูงอายุที่บ้านน้ำเชี่ยว"),
    "ru and lakkhangyao": ("ฤๅษีดัดตน", "ท่าฤๅษีดัดตนเพื่อสุขภาพ ฤดูฝน ฦๅชา"),
    "names": ("มิ่งขวัญ ศรีสุข", "เกร็ดความรู้เรื่องการล้างมือ ๗ ขั้นตอน"),
    "long, wraps": ("".join(LONG_WORDS), "".join(LONG_WORDS[::-1]) * 2),
}


def request(**changes: object) -> Request:
    return dataclasses.replace(REQUEST, **changes)


def pdftotext_raw(pdf: Path, page: int | None = None) -> str:
    """The text of ``pdf``, or of one page of it (much faster on a long document)."""
    return pdftotext(pdf) if page is None else pdftotext(pdf, page, page)


def test_template_placeholders_are_whole_runs_and_match_render() -> None:
    """Each placeholder sits whole in one text run, so Word edits elsewhere cannot split it,
    and they are exactly the names render provides."""
    xml = zipfile.ZipFile(TEMPLATE).read("word/document.xml").decode()
    runs = re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml)
    in_runs = [name for run in runs for name in re.findall(r"\{\{ ([\w.]+) \}\}", run)]
    assert len(in_runs) == len(re.findall(r"\{\{", xml))
    values = context(REQUEST, "REQ-1", [render_mod.Attached("a.pdf", 1, "0" * 64)])
    # the attachment list's loop variable is "a", an item of "attachments"
    assert {n for n in in_runs if "." not in n} | {"attachments"} == values.keys()
    fields = {n.split(".")[1] for n in in_runs if n.startswith("a.")}
    assert fields == values["attachments"][0].keys()


def test_unknown_placeholder_is_an_error(tmp_path: Path) -> None:
    template = docx.Document()
    template.add_paragraph("{{ titel }}")
    template.save(tmp_path / "edited.docx")
    with pytest.raises(RenderError, match="titel"):
        render_docx(REQUEST, "REQ-1", tmp_path / "edited.docx", tmp_path / "form.docx")
    assert not (tmp_path / "form.docx").exists()


@pytest.fixture(scope="module")
def sample_pdf(converter: Converter, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("form") / "form.pdf"
    return render_pdf(REQUEST, "REQ-2569-0001", TEMPLATE, out, converter)


@pytest.mark.parametrize(("title", "detail"), TRICKY.values(), ids=TRICKY.keys())
def test_thai_title_and_detail_print_exactly(converter: Converter, tmp_path: Path,
                                             title: str, detail: str) -> None:
    pdf = render_pdf(request(title=title, detail=detail), "REQ-1", TEMPLATE,
                     tmp_path / "form.pdf", converter)
    text = pdftotext_raw(pdf)
    assert squash(title) in squash(text)
    assert printed_detail(pdf) == squash(detail)  # in the box, or going on after the form
    assert "\u200b" not in text


def test_long_thai_title_wraps_between_words(converter: Converter, tmp_path: Path) -> None:
    title = "".join(LONG_WORDS)
    pdf = render_pdf(request(title=title), "REQ-1", TEMPLATE, tmp_path / "form.pdf", converter)
    text = pdftotext_raw(pdf)
    start = text.index("หัวข้อ:") + len("หัวข้อ:")
    printed = text[start:text.index("รายละเอียดข้อมูล", start)].strip().split("\n")
    assert len(printed) > 1, "expected the title to wrap"
    word_ends = {sum(map(len, LONG_WORDS[:i])) for i in range(1, len(LONG_WORDS))}
    line_ends = {sum(len(squash(line)) for line in printed[:i]) for i in range(1, len(printed))}
    assert line_ends <= word_ends, f"a line broke inside a word: {printed}"


def test_form_fields_dates_and_line_breaks(sample_pdf: Path) -> None:
    text = pdftotext_raw(sample_pdf)
    flat = squash(text)
    for expected in ("เลขที่คำขอREQ-2569-0001", "ประเภทข้อมูลข่าวประชาสัมพันธ์",
                     "วัน/เดือน/ปี:๒๕พฤศจิกายน๒๕๖๙", "(นางสาวมิ่งขวัญใจดี)",
                     "ตำแหน่งสาธารณสุขอำเภอเมืองตัวอย่าง", "วันที่๒๕พฤศจิกายน๒๕๖๙",
                     "วันที่........../........../..........", "Linkภายนอก:-", "หมายเหตุ:-"):
        assert expected in flat
    assert "ทราบ\nแนบกำหนดการ ๑ ฉบับ\n" in text  # the detail's line break is a line break


def test_laksaman_is_embedded(sample_pdf: Path) -> None:
    listing = subprocess.run(["pdffonts", str(sample_pdf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    fonts = {line.split()[0].split("+")[-1]: line.split()[-5] for line in listing}
    assert "Laksaman" in fonts
    assert set(fonts.values()) == {"yes"}, f"not every font is embedded: {fonts}"


@pytest.mark.parametrize("value", [
    "{{ config }}",
    "{% for x in y %}{{ x }}{% endfor %}",
    "<b>bold</b> & <w:t> &amp;",
    "]]> <![CDATA[ x ]]>",
    "{_{ docxtpl }_} {_% tag %_} {# comment #}",
])
def test_template_like_values_print_literally(converter: Converter, tmp_path: Path,
                                              value: str) -> None:
    pdf = render_pdf(request(title=value, detail=value, note=value), "REQ-1", TEMPLATE,
                     tmp_path / "form.pdf", converter)
    assert squash(pdftotext_raw(pdf)).count(squash(value)) == 3


def test_control_characters_are_dropped(converter: Converter, tmp_path: Path) -> None:
    pdf = render_pdf(request(detail="ก่อน\f\aหลัง\x00"), "REQ-1", TEMPLATE,
                     tmp_path / "form.pdf", converter)
    text = pdftotext_raw(pdf)
    assert "ก่อนหลัง" in squash(text)
    assert text.count("\f") == 1, "one page (pdftotext ends each page with a form feed)"


def destinations(pdf: Path) -> dict[str, tuple[int, float, float]]:
    """Named destinations as ``name: (page, left, top)``, as pdfinfo prints them (whole points)."""
    listing = subprocess.run(["pdfinfo", "-dests", str(pdf)], capture_output=True, text=True,
                             check=True).stdout
    return {name: (int(page), float(left), float(top)) for page, left, top, name
            in re.findall(r'^\s*(\d+) \[ XYZ\s+(\S+)\s+(\S+) .*\] "(.+)"$', listing, re.M)}


def word_boxes(pdf: Path, page: int) -> tuple[float, float, list[tuple[str, Box]]]:
    """Page width, height and its words with their boxes in PDF user space (origin bottom left;
    pdftotext measures from the top)."""
    xml = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r'<page width="([\d.]+)" height="([\d.]+)"', xml).groups())
    words = [(word, (float(x0), height - float(y1), float(x1), height - float(y0)))
             for x0, y0, x1, y1, word in re.findall(
                 r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                 r"(.*?)</word>", xml)]
    return width, height, words


def test_stamp_areas_are_named_destinations_free_of_text(sample_pdf: Path) -> None:
    dests = destinations(sample_pdf)
    assert set(STAMP_FIELDS) <= dests.keys()
    for name in STAMP_FIELDS:
        page, left, top = dests[name]
        width, height, words = word_boxes(sample_pdf, page)
        # The signing step's field, half a point larger each way for pdfinfo's rounding.
        x0, y0 = left - FIELD_HALF_WIDTH - 0.5, top - FIELD_HEIGHT - 0.5
        x1, y1 = left + FIELD_HALF_WIDTH + 0.5, top + 0.5
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        for word, (wx0, wy0, wx1, wy1) in words:
            overlaps = wx0 < x1 and wx1 > x0 and wy0 < y1 and wy1 > y0
            assert not overlaps, f"{word!r} is inside the {name} stamp area"


def test_restarts_soffice_that_was_killed(converter: Converter, tmp_path: Path) -> None:
    docx = tmp_path / "form.docx"
    render_docx(REQUEST, "REQ-1", TEMPLATE, docx)
    converter.convert(docx, tmp_path / "before.pdf")
    killed = converter.pid
    os.kill(killed, signal.SIGKILL)

    converter.convert(docx, tmp_path / "after.pdf")

    assert converter.pid != killed
    assert squash(REQUEST.title) in squash(pdftotext_raw(tmp_path / "after.pdf"))


def test_recycles_soffice_after_so_many_documents(converter: Converter, tmp_path: Path) -> None:
    docx = tmp_path / "form.docx"
    render_docx(REQUEST, "REQ-1", TEMPLATE, docx)
    converter.convert(docx, tmp_path / "warm.pdf")
    running = converter.pid
    kept = converter.recycle_after
    converter.recycle_after = 1
    try:
        converter.convert(docx, tmp_path / "last.pdf")  # the last one this soffice converts
        assert converter.pid is None  # stopped gracefully: its memory is given back
        with pytest.raises(ProcessLookupError):
            os.kill(running, 0)
    finally:
        converter.recycle_after = kept
    converter.convert(docx, tmp_path / "fresh.pdf")
    assert converter.pid not in (None, running)
    assert squash(REQUEST.title) in squash(pdftotext_raw(tmp_path / "fresh.pdf"))


def test_kills_and_restarts_soffice_that_hangs(tmp_path: Path) -> None:
    docx = tmp_path / "form.docx"
    render_docx(REQUEST, "REQ-1", TEMPLATE, docx)
    with Converter(timeout=5, profile_dir=tmp_path / "profile") as converter:
        converter.convert(docx, tmp_path / "before.pdf")
        hung = converter.pid
        os.kill(hung, signal.SIGSTOP)

        converter.convert(docx, tmp_path / "after.pdf")

        assert converter.pid != hung
        with pytest.raises(ProcessLookupError):
            os.kill(hung, 0)
    assert squash(REQUEST.title) in squash(pdftotext_raw(tmp_path / "after.pdf"))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_group(pgid: int) -> list[int]:
    """Pids of the processes still in process group ``pgid``, zombies included."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid:
            members.append(int(stat.parent.name))
    return members


def test_restarts_soffice_killed_mid_conversion(converter: Converter, tmp_path: Path) -> None:
    """SIGKILL soffice while it is busy with a document: the retry on a new soffice still
    writes the whole PDF. The document, 100 pages of Thai, takes about 1.3 s of soffice's CPU
    time, and the kill comes once soffice has spent 0.3 s on it."""
    pages = 100
    long_doc = docx.Document()
    for page in range(1, pages + 1):
        long_doc.add_paragraph(f"หน้า {page}")
        long_doc.add_paragraph("".join(LONG_WORDS) * 3)
        long_doc.add_paragraph("".join(LONG_WORDS[::-1]) * 3)
        if page < pages:
            long_doc.add_page_break()
    last_page = "สิ้นสุดเอกสารฉบับยาว END-OF-LONG-DOC"
    long_doc.add_paragraph(last_page)
    source = tmp_path / "long.docx"
    long_doc.save(source)
    small = tmp_path / "form.docx"
    render_docx(REQUEST, "REQ-1", TEMPLATE, small)
    converter.convert(small, tmp_path / "warm.pdf")  # soffice running and idle
    busy = converter.pid
    target = tmp_path / "long.pdf"

    done = threading.Event()
    killed: list[tuple[list[Path], bool]] = []  # (partial files, target existed) at the kill

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 10
        while not list(tmp_path.glob(".long.pdf.*.part")):  # convert() has begun
            if done.is_set() or time.monotonic() > deadline:
                return
            time.sleep(0.005)
        start = cpu_seconds(busy)
        while cpu_seconds(busy) - start < 0.3:  # soffice is working on the document
            if done.is_set() or time.monotonic() > deadline:
                return
            time.sleep(0.005)
        killed.append((list(tmp_path.glob(".long.pdf.*.part")), target.exists()))
        os.kill(busy, signal.SIGKILL)

    killer = threading.Thread(target=kill_when_busy, daemon=True)
    killer.start()
    try:
        converter.convert(source, target)
    finally:
        done.set()
        killer.join()

    assert killed, "the conversion ended before soffice could be killed"
    partials, target_existed = killed[0]
    assert partials and not target_existed, "the kill came after the conversion"
    assert converter.pid != busy, "soffice was not restarted"
    with pytest.raises(ProcessLookupError):
        os.kill(busy, 0)  # reaped, not left a zombie
    assert process_group(busy) == [], "a process of the killed soffice is still running"
    assert not list(tmp_path.glob(".long.pdf.*.part"))
    info = subprocess.run(["pdfinfo", str(target)], capture_output=True, text=True,
                          check=True).stdout
    assert int(re.search(r"^Pages:\s+(\d+)$", info, re.M).group(1)) == pages
    assert squash(last_page) in squash(pdftotext_raw(target, page=pages))


@pytest.mark.parametrize("kind", ["words", "one-unbroken-run"])
def test_a_long_detail_goes_on_over_a_page_of_its_own(converter: Converter, tmp_path: Path,
                                                      kind: str) -> None:
    words = [" ".join(LONG_WORDS[i:] + LONG_WORDS[:i]) for i in range(len(LONG_WORDS))]
    detail = ("\n".join(words * 3) if kind == "words" else "".join(LONG_WORDS) * 12)[:3000]
    pdf = render_pdf(request(detail=detail), "REQ-1", TEMPLATE, tmp_path / "form.pdf",
                     converter)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert int(re.search(r"^Pages:\s+(\d+)$", info, re.M)[1]) >= 2, info
    # the whole form, signature blocks included, is on the first page
    assert {page for page, _x, _y in destinations(pdf).values()} == {1}
    boxed, rest = detail_parts(pdf)
    assert len(boxed) > 100  # the box is filled (a line holds about 60), not skipped
    assert boxed + rest == squash(detail)  # nothing lost, nothing repeated, Thai intact


def test_a_detail_that_fits_stays_in_the_box(sample_pdf: Path) -> None:
    text = pdftotext_raw(sample_pdf)
    assert text.count("\f") == 1 and "รายละเอียดเพิ่มเติม" not in text
    assert squash(render_mod.CONTINUED) not in squash(text)


def test_cuts_never_split_a_character_from_its_marks() -> None:
    detail = "เก็บข้อมูลผู้ป่วยที่ไม่ได้รับวัคซีนไข้หวัดใหญ่"
    for cut in render_mod._cut_points(detail):
        assert detail[cut] not in "ัิีึืุู่้๊๋็์ะาำ" and detail[cut - 1] not in "เแโใไ", cut


def test_an_older_template_without_a_continuation_lets_the_box_grow(
        converter: Converter, tmp_path: Path) -> None:
    old = tmp_path / "old.docx"
    document = docx.Document(TEMPLATE)
    body = document.element.body
    start = next(i for i, p in enumerate(body) if "{%p if detail_more %}" in "".join(
        p.itertext()))
    for element in list(body)[start:start + 5]:
        body.remove(element)
    document.save(old)
    detail = "".join(LONG_WORDS) * 12
    pdf = render_pdf(request(detail=detail), "REQ-1", old, tmp_path / "form.pdf", converter)
    assert squash(detail) in squash(pdftotext_raw(pdf)).replace("\f", "")
