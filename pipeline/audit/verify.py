"""Auditor verification of bundles and whole archives: a bundle's files against its
manifest, the manifest against its signed PDF and the outbox's index, then the PDF's
signatures (signature.py); an outbox becomes its bundles, verified on all cores.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from pipeline import patches
from pipeline.audit import embedded, printed
from pipeline.audit.model import Report, SignatureStatus, Trust, VerificationError
from pipeline.audit.signature import verify_pdf_with_text
from pipeline.audit.trust import load_roots, read_input
from pipeline.bundles import bundle
from pipeline.core import logs
from pipeline.records import freshness, index_files


def verify_path(path: Path, trust_roots: Sequence[Path] | Trust, crls: Sequence[bytes] = (),
                online: bool = False) -> Report:
    """Verify a signed PDF, or a bundle: its files against the manifest, the manifest
    against its PDF and the outbox's index, then its PDF. An unreadable input is reported
    (``Report.error``), never raised."""
    trust = (trust_roots if isinstance(trust_roots, Trust)
             else Trust(tuple(trust_roots), tuple(crls), online))
    load_roots(trust.roots)  # a broken trust root is the auditor's error: raised
    if not path.is_dir():
        try:
            signatures = tuple(verify_pdf_with_text(path, trust)[0])
        except VerificationError as exc:
            return Report(path, (), error=str(exc))
        if not signatures:
            return Report(path, (), error=f"{path} holds no signature")
        return Report(path, signatures)
    if not bundle.is_bundle(path):
        return Report(path, (), error=f"{path} is a folder but neither a bundle (no "
                                      f"{bundle.MANIFEST}) nor an outbox of bundles")
    view = bundle.committed(path)  # read-only: an unfinished update is judged as committed
    report = _verify_bundle(path, trust, view)
    if view.unfinished and not view.manifest_path.exists():
        # a writer finished the update while it was read: judge the finished bundle
        report = _verify_bundle(path, trust, bundle.committed(path))
    return report


def _verify_bundle(path: Path, trust: Trust, view: bundle.Committed) -> Report:
    """A bundle as ``view`` shows it, without writing anything."""
    problems = list(bundle.check_bundle(path, view))
    try:
        # read once (hashed as parsed), within bounds
        raw = read_input(view.manifest_path, trust.max_bytes, what="manifest")
        written = view.manifest_path.stat().st_mtime
        manifest = json.loads(raw)
        name = (path / manifest["signed_pdf"]).name
        pdf = view.file(manifest["signed_pdf"])
    except VerificationError as exc:
        return Report(path, (), tuple(problems), True, error=str(exc))
    except (OSError, ValueError, KeyError, TypeError):
        return Report(path, (), tuple(problems), True)
    if not pdf.is_file():
        return Report(path, (), tuple(problems), True)
    try:
        statuses, text, signed_files = verify_pdf_with_text(pdf, trust)
    except VerificationError as exc:
        return Report(path, (), tuple(problems), True, error=str(exc))
    signatures = tuple(statuses)
    problems += _manifest_agrees(path, manifest, name, signatures, text)
    file_notes = []
    for group in _published(manifest, view):
        file_problems, group_notes = embedded.disagreements(group, signed_files)
        problems += file_problems
        file_notes += group_notes
    row_problems, notes = freshness.row_agrees(path, manifest, raw, written)
    notes = (*file_notes, *notes)
    if view.unfinished:
        notes = (_unfinished_note(path), *notes)
    return Report(path, signatures, tuple(problems + row_problems), True, notes=notes)


def _published(manifest: dict, view: bundle.Committed) -> list[dict[str, tuple[str, Path]]]:
    """The bundle's sheet, then its attachments, by the name each is embedded under in the
    signed PDF (the sheet under the name the clerk gave it, an attachment under its own),
    as two groups: a form signed before attachments were embedded still embeds its sheet."""
    attachments = {rel.split("/", 1)[1]: (rel, view.file(rel))
                   for rel in manifest.get("files", {})
                   if rel.startswith(f"{bundle.ATTACHMENTS}/")}
    source = manifest.get("source", {}).get("name")
    sheet = ({source: (bundle.SHEET_NAME, view.file(bundle.SHEET_NAME))}
             if isinstance(source, str) else {})
    return [sheet, attachments]


def _unfinished_note(folder: Path) -> str:
    return (f"การปรับปรุง {folder.name} บันทึกแล้วแต่ยังไม่เสร็จ (ตรวจตามที่บันทึกไว้) "
            f"ตัวเฝ้ากล่องเข้าหรือคำสั่งถัดไปที่ปรับปรุงแฟ้มนี้จะทำให้เสร็จ / an update of "
            f"{folder.name} is committed but not yet finished (checked as committed: the staged "
            f"{bundle.MANIFEST} and files); the watcher or the next command that updates the "
            f"bundle finishes it")


def _manifest_agrees(folder: Path, manifest: dict, pdf_name: str,
                     signatures: Sequence[SignatureStatus], shown: printed.PrintedText
                     ) -> list[str]:
    problems = []
    request_id = manifest.get("request_id", "")
    if request_id != folder.name or pdf_name != bundle.pdf_name(request_id):
        problems.append(f"manifest.json names request {request_id}, not {folder.name}")
    text = shown.compact()
    title = manifest.get("request", {}).get("title", "")
    if "".join(request_id.split()) not in text:
        problems.append(f"the signed PDF does not show request ID {request_id}")
    if "".join(title.split()) not in text:
        problems.append("the signed PDF does not show the title in manifest.json")
    signed = {s.role: s.cert_sha256 for s in signatures if s.role}
    for record in manifest.get("signatures", ()):
        if signed.get(record.get("role")) != record.get("cert_sha256"):
            problems.append(f"manifest.json's {record.get('role')} certificate is not the one "
                            f"that signed the PDF")
    return problems


def expand(paths: Iterable[Path]) -> list[Path]:
    """PDFs and bundles as given; an outbox (a folder of bundles) becomes its bundles, and
    an outbox with none yet (a new office's: nothing but the index, the reports folder and
    hidden files) becomes nothing."""
    out = []
    for path in paths:
        if path.is_dir() and not bundle.is_bundle(path):
            found = sorted(p for p in path.iterdir() if p.is_dir() and bundle.is_bundle(p))
            out.extend(found or ([] if _empty_outbox(path) else [path]))
        else:
            out.append(path)
    return out


_OUTBOX_OWN = {index_files.INDEX_NAME, index_files.CSV_NAME, "reports"}  # report_files.REPORTS_DIR


def _empty_outbox(folder: Path) -> bool:
    return all(p.name.startswith(".") or p.name in _OUTBOX_OWN for p in folder.iterdir())


def verify_all(paths: Sequence[Path], trust: Trust, *, workers: int | None = None,
               progress: Callable[[int], None] | None = None) -> list[Report]:
    """Verify every path (in order), whole bundles per worker process: pyHanko validation is
    CPU-bound Python, so only processes use more than one core."""
    load_roots(trust.roots)
    workers = min(workers or os.cpu_count() or 1, len(paths))
    if workers <= 1:
        return [_step(verify_path(p, trust), progress) for p in paths]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                             initializer=_worker_start, initargs=(logs.state_dir(),)) as pool:
        return [_step(r, progress)
                for r in pool.map(verify_path, paths, [trust] * len(paths), chunksize=4)]


def _worker_start(log_dir: Path | None) -> None:
    """Patch as the parent did (a spawned process starts with pristine pyHanko) and log as
    it does (pyHanko's warnings to the log file, not to stderr). Then leave what the
    imports made out of garbage collection: pyHanko's objects make cycles by the hundred
    thousand, and each full collection would walk the modules too (8 % of a worker's time,
    measured with ``bench/bench_verify.py``)."""
    patches.install()
    logs.configure(log_dir)
    gc.collect()
    gc.freeze()


def _step(report: Report, progress: Callable[[int], None] | None) -> Report:
    if progress:
        progress(1)
    return report
