"""The demo workspace: a demo PKI, a config that uses it, and a filled sample request.

Everything here is marked demo-only: the certificates chain to a root that nobody trusts
outside this workspace, and the passphrase sits in a file beside them.
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from pipeline.core import fsutil, thai
from pipeline.core.folders import Workspace
from pipeline.core.request import Person
from pipeline.demo import pki
from pipeline.intake import blank_sheet
from pipeline.settings import config as config_mod
from pipeline.settings import workspace
from pipeline.settings.config import Config

UNIT = "สำนักงานสาธารณสุขอำเภอเมืองปัตตานี"
WORK_GROUPS = [
    "กลุ่มงานบริหารทั่วไป",
    "กลุ่มงานส่งเสริมสุขภาพและป้องกันโรค",
    "กลุ่มงานควบคุมโรคติดต่อและโรคไม่ติดต่อ",
    "กลุ่มงานคุ้มครองผู้บริโภคและเภสัชสาธารณสุข",
    "กลุ่มงานพัฒนาคุณภาพและรูปแบบบริการ",
    "กลุ่มงานยุทธศาสตร์และสารสนเทศ",
]
PEOPLE = {
    "provider": Person("นางสาวนูรีซัน หะยีมะ", "นักวิชาการสาธารณสุขชำนาญการ"),
    "director": Person("นายอับดุลรอแม สาและ", "สาธารณสุขอำเภอเมืองปัตตานี"),
    "webmaster": Person("นายธนพล แก้วมณี", "นักวิชาการคอมพิวเตอร์ปฏิบัติการ"),
}
# The publication framework's section 2ก: who answers for what must be published. The
# indicators are examples: match them to the numbering of the year's ITA manual.
OBLIGATIONS: tuple[dict[str, str | int], ...] = (
    {"id": "basic-info", "title": "ข้อมูลพื้นฐานและข้อมูลสถิติของหน่วยงาน",
     "category": "ข้อมูลหน่วยงาน", "work_group": WORK_GROUPS[5], "every": "year", "day": 31,
     "indicator": "O1"},
    {"id": "action-plan", "title": "แผนปฏิบัติการประจำปีงบประมาณ",
     "category": "ข้อมูลข่าวสารตาม พ.ร.บ.ข้อมูลข่าวสารของราชการ พ.ศ.๒๕๔๐",
     "work_group": WORK_GROUPS[5], "every": "year", "day": 31, "indicator": "O10"},
    {"id": "complaints", "title": "รายงานผลการดำเนินการเรื่องร้องเรียน",
     "category": "ข้อมูลหน่วยงาน", "work_group": WORK_GROUPS[0], "every": "quarter", "day": 15},
    {"id": "procurement", "title": "สรุปผลการจัดซื้อจัดจ้างประจำเดือน (แบบ สขร. ๑)",
     "category": "ข้อมูลข่าวสารตาม พ.ร.บ.ข้อมูลข่าวสารของราชการ พ.ศ.๒๕๔๐",
     "work_group": WORK_GROUPS[0], "every": "month", "day": 10, "indicator": "O15"},
    {"id": "activities", "title": "ข่าวกิจกรรมของกลุ่มงาน", "category": "ข่าวประชาสัมพันธ์",
     "work_group": "all", "every": "month", "day": 0},
)
PKI_DIR = "demo-pki"
SAMPLE = Path("samples") / "sample_request.xlsx"


@dataclass(frozen=True)
class Demo:
    config: Config
    sample: Path


def _demo_config(pki_files: pki.DemoPKI, root: Path) -> str:
    def rel(path: Path) -> str:
        return path.relative_to(root).as_posix()

    def key(role: str) -> dict[str, str]:
        return {"pkcs12": rel(pki_files.pkcs12[role]),
                "passphrase_file": rel(pki_files.passphrase_file)}

    return workspace.config_text(
        header=("# DEMO WORKSPACE: the keys in demo-pki/ are for trying the pipeline only.\n"
                "# Never use them to sign real documents.\n\n"),
        unit=UNIT,
        work_groups=WORK_GROUPS,
        director={"name": PEOPLE["director"].name, "position": PEOPLE["director"].position,
                  **key("director")},
        auto_approve=True,
        publisher={"name": PEOPLE["webmaster"].name, "position": PEOPLE["webmaster"].position,
                   **key("webmaster")},  # `published` signs the form's third block
        providers=[{"name": PEOPLE["provider"].name, "position": PEOPLE["provider"].position,
                    "work_group": WORK_GROUPS[2], **key("provider")}],
        trust_roots=[rel(pki_files.root_pem)],
        tsa="demo",
        revocation="demo",
        obligations=OBLIGATIONS,
    )


def sample_values(today: date) -> dict[str, object]:
    provider = PEOPLE["provider"]
    return {
        "work_group": WORK_GROUPS[2],
        "request_date": today,
        "title": "ประชาสัมพันธ์การรณรงค์ป้องกันโรคไข้เลือดออก ประจำปีงบประมาณ ๒๕๗๐",
        "category": "ข่าวประชาสัมพันธ์",
        "detail": ("ขอเผยแพร่ข่าวการรณรงค์กำจัดลูกน้ำยุงลายในชุมชน ๑๒ หมู่บ้าน "
                   "ระหว่างวันที่ ๑–๓๑ ธันวาคม ๒๕๖๙\n"
                   "ขอความร่วมมือผู้ใหญ่บ้านและอาสาสมัครสาธารณสุขประจำหมู่บ้าน (อสม.) "
                   "ทำลายแหล่งเพาะพันธุ์ยุงทุกสัปดาห์"),
        "link": "https://ddc.moph.go.th/",
        "note": "",
        "provider_name": provider.name,
        "provider_position": provider.position,
    }


def create(root: Path, today: date | None = None) -> Demo:
    """A ready demo workspace in ``root`` (kept if it is one already)."""
    ws = Workspace(root.resolve())
    if ws.config_file.exists():
        config = config_mod.load(ws.root)
    else:
        ws.root.mkdir(parents=True, exist_ok=True)
        pki_files = pki.create_pki(ws.root / PKI_DIR, UNIT, PEOPLE,
                                   secrets.token_urlsafe(18).encode())
        workspace.init(ws.root, _demo_config(pki_files, ws.root))
        config = config_mod.load(ws.root)
    sample = ws.root / SAMPLE
    if not sample.exists():
        sample.parent.mkdir(parents=True, exist_ok=True)
        blank_sheet.new_request(sample, config)
        blank_sheet.fill(sample, sample_values(today or datetime.now(thai.BANGKOK).date()))
    return Demo(config, sample)


def drop_sample(made: Demo, now: datetime | None = None) -> Path:
    """Put a copy of the sample into the inbox, as a clerk would. Each copy gets its own note
    (the time), so running the demo again is a new request, not a duplicate."""
    now = now or datetime.now(thai.BANGKOK)
    dropped = fsutil.unique_path(made.config.workspace.inbox, made.sample.name)
    tmp = dropped.with_name(f".{dropped.name}")  # hidden from the watcher until complete
    shutil.copyfile(made.sample, tmp)
    stamp = thai.thai_digits(f"{thai.short_date(now.date())} {now:%H:%M:%S}")
    blank_sheet.fill(tmp, {"note": f"ตัวอย่างทดลองระบบ {stamp}", "request_date": now.date()})
    tmp.rename(dropped)
    return dropped
