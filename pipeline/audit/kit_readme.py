"""The trust kit's README.txt: what an auditor reads first, on paper or on another computer.

A root is only worth trusting once its fingerprint is confirmed through another channel than
the folder it came in (a phone call to the office, a signed letter): so the README prints
each root's SHA-256 in groups of four hex digits, easy to read aloud and compare, and says
where the same digits show in Adobe Reader, in Windows and with openssl. Then the steps: in
Adobe Reader, and with the pipeline on another computer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

GROUP = 4  # hex digits read in one breath
GROUPS_PER_LINE = 8


@dataclass(frozen=True)
class Root:
    """A trust root as the README names it: its files in ``roots/``, subject and DER."""

    pem_name: str
    cer_name: str
    subject: str
    der: bytes


def fingerprint(der: bytes) -> list[str]:
    """The certificate's SHA-256, upper-case, in lines of eight groups of four digits:
    ``3F2A 9C01 …``. Adobe Reader and openssl show the same digits in pairs."""
    digest = hashlib.sha256(der).hexdigest().upper()
    groups = [digest[i:i + GROUP] for i in range(0, len(digest), GROUP)]
    return [" ".join(groups[i:i + GROUPS_PER_LINE])
            for i in range(0, len(groups), GROUPS_PER_LINE)]


def text(*, unit: str, made: str, crls: int, missing: str, roots: Sequence[Root]) -> str:
    """The README, Thai then English in each part."""
    listed = []
    for root in roots:
        first, *rest = fingerprint(root.der)
        listed += [f"  roots/{root.pem_name} (และ/and {root.cer_name}): {root.subject}",
                   f"    SHA-256: {first}", *(f"             {line}" for line in rest), ""]
    first_root = roots[0].cer_name if roots else "root-1.cer"
    return _TEXT.format(unit=unit, made=made, crls=crls, missing=missing,
                        roots="\n".join(listed).rstrip("\n"), cer=first_root)


_TEXT = """ชุดข้อมูลความเชื่อถือ (trust kit) ของ {unit}
ทำเมื่อ (made) {made}; CRL ปัจจุบัน (current CRLs): {crls}{missing}

roots/  ใบรับรองหลักที่เชื่อถือ (trust roots: .pem for the pipeline, .cer (DER) for Adobe
        Reader and Windows)
tsa/    ใบรับรองของหน่วยประทับเวลา (the timestamp authorities' certificates, for reference)
crls/   รายการเพิกถอนใบรับรองปัจจุบัน (current CRLs, DER; valid until their next update)

ลายนิ้วมือของใบรับรองหลัก (the roots' SHA-256 fingerprints)
------------------------------------------------------------
ก่อนเชื่อถือ โทรศัพท์ถึงสำนักงาน (หรือขอหนังสือที่ลงนาม) แล้วอ่านทวนทีละกลุ่ม ตัวเลขต้องตรงกันทุกตัว
หากไม่ตรง อย่าใช้ชุดข้อมูลนี้
Before trusting a root, call the office (or ask for a signed letter) and read these digits
back group by group: every one must match. If any differs, do not use this kit.

{roots}

The same digits appear, in pairs, in Adobe Reader (certificate details, "SHA-256 digest"),
and with:  openssl x509 -in roots/root-1.pem -noout -fingerprint -sha256
In Windows (double-click the .cer file, Details) only the SHA-1 "Thumbprint" shows: check
the SHA-256 in Adobe Reader or with openssl instead.

ตรวจด้วย Adobe Acrobat Reader (checking in Adobe Acrobat Reader)
----------------------------------------------------------------
1. เมนู Edit > Preferences > Signatures > Identities & Trusted Certificates > More...
   (Menu Edit > Preferences > Signatures > Identities & Trusted Certificates > More...)
2. Trusted Certificates > Import > Browse: เลือก roots/{cer} แล้ว Import
   (choose roots/{cer}, then Import)
3. เลือกใบรับรองที่นำเข้า > Certificate Details: ตรวจ SHA-256 ให้ตรงกับข้างบน
   (select the imported certificate > Certificate Details: check its SHA-256 against the above)
4. Edit Trust: เลือก "Use this certificate as a trusted root" และ "Certified documents" > OK
   (tick "Use this certificate as a trusted root" and "Certified documents", OK)
5. เปิด PDF ที่ลงนาม แผง Signatures ต้องแสดงทุกลายมือชื่อว่า valid และเอกสารไม่ถูกแก้ไข
   (open the signed PDF: the Signatures panel must show every signature valid and the
   document unmodified since; Adobe does not apply ETSI EN 319 102-1: the pipeline does)

ตรวจบนเครื่องอื่นด้วย pipeline (on another computer, with the pipeline)
---------------------------------------------------------------------
1. ติดตั้ง pipeline (Debian 12): คัดลอกซอร์สโค้ดแล้วรัน  bash scripts/setup.sh
   (install it: a copy of the source, then  bash scripts/setup.sh)
2. คัดลอกโฟลเดอร์นี้ และ PDF / โฟลเดอร์คำขอ / outbox ที่จะตรวจ ไปยังเครื่องนั้น
   (copy this folder and the PDFs, bundle folders or outbox to check)
3. ตรวจลายนิ้วมือข้างบนด้วย openssl (check the fingerprints above with openssl)
4. รัน (run):
     .venv/bin/pipeline verify --trust-kit THIS-FOLDER PATH...   (add --html report.html, --json)

Exit codes: 0 all TOTAL_PASSED; 1 any TOTAL_FAILED; 3 any INDETERMINATE and none failed;
2 usage error or unreadable input. Long after signing, ETSI validation needs current
revocation status for the timestamp authority: use a recently made kit, --crl FILE, or
--online.
"""
