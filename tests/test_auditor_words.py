"""What the auditor reads (issue 19 point 7): the trust kit's README with each root's
fingerprint to confirm by phone, checked against openssl's, and the steps for Adobe Reader
and another computer; the HTML report's values in Thai with the English term; the summary
naming what each count counts."""

from __future__ import annotations

import re
import subprocess

from seeding import archived_sample

from pipeline.audit import output, trustkit, verify
from pipeline.audit.model import Trust


def test_the_trust_kit_readme_has_the_fingerprint_to_read_aloud_and_the_steps(demo_ws, tmp_path):
    kit = trustkit.write(demo_ws, tmp_path / "kit")
    readme = (kit.directory / trustkit.README).read_text(encoding="utf-8")
    (root,) = kit.roots
    openssl = subprocess.run(["openssl", "x509", "-in", str(root), "-noout", "-fingerprint",
                              "-sha256"], check=True, capture_output=True, text=True).stdout
    digits = openssl.split("=", 1)[1].strip().replace(":", "")
    assert len(digits) == 64
    lines = [line for line in readme.splitlines()
             if re.fullmatch(r"\s*(SHA-256:)?\s*([0-9A-F]{4} ){7}[0-9A-F]{4}", line)]
    assert len(lines) == 2  # two lines of eight groups of four: read aloud in two breaths
    assert "".join(re.findall(r"\b[0-9A-F]{4}\b", "\n".join(lines))) == digits
    der = (kit.directory / trustkit.ROOTS / "root-1.cer").read_bytes()
    converted = subprocess.run(["openssl", "x509", "-inform", "PEM", "-in", str(root),
                                "-outform", "DER"], check=True, capture_output=True).stdout
    assert der == converted  # the .cer Adobe Reader imports is the same root
    for step in ("Adobe", "Trusted Certificates > Import", "roots/root-1.cer",
                 "Use this certificate as a trusted root", "bash scripts/setup.sh",
                 "pipeline verify --trust-kit", "โทรศัพท์"):
        assert step in readme, step
    assert trustkit.load(kit.directory).roots == kit.roots  # the .cer is not a second root


def test_the_html_report_speaks_thai_and_the_summary_labels_its_counts(processor, demo_ws,
                                                                      tmp_path):
    outcome = archived_sample(processor, demo_ws, tmp_path)
    report = verify.verify_path(outcome.bundle, demo_ws.trust_roots)
    assert report.ok, report
    page = output.to_html([report], Trust(tuple(demo_ws.trust_roots)))
    values = re.findall(r"<th>([^<]*)</th><td>([^<]*)</td>", page)
    shown = dict(values)
    assert shown["ความครบถ้วน (integrity)"] == "ใช่ (yes)"
    assert shown["ความน่าเชื่อถือ (trust)"] == "ใช่ (yes)"
    assert shown["สถานะการเพิกถอน (revocation at signing)"] == "ไม่ถูกเพิกถอน (good)"
    changes = [v for k, v in values if k.startswith("การแก้ไขภายหลัง")]
    assert changes and all(re.match(r"[\u0e00-\u0e7f]", v) and "(permitted)" in v
                           for v in changes), changes
    for english_only in ("<td>yes</td>", "<td>good</td>", "form_filling (permitted)",
                         "lta_updates (permitted)"):
        assert english_only not in page
    assert "ผ่าน (TOTAL_PASSED): 1" in page

    lines = list(output.to_text([report]))
    summary = next(line for line in lines if line.startswith("สรุป"))
    signatures = len(report.signatures)
    assert (f"1 รายการ (items), {signatures} ลายมือชื่อ (signatures); ผลของแต่ละรายการ "
            f"(items by result): TOTAL_PASSED 1,") in summary
