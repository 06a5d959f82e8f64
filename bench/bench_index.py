"""Index benchmark: regenerate outbox/index.xlsx and index.csv for an archive of N bundles.

    .venv/bin/python bench/bench_index.py [-n 20000] [--rejected 500] [--waiting 50]

Makes a workspace with N bundle manifests (as bundle.write_bundle writes them; the PDFs and
sheets themselves are not needed by the index), a journal holding the same requests plus
returned and waiting ones, then times a full regeneration (gathering the rows, writing the
workbook, writing the CSV) a few times. The watcher regenerates at most every 5 s during a
burst (watch.py, WatchOptions.index_every), so the printed duty cycle is the share of a
burst's time spent on the index, against once per request without the debounce.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pipeline.core.folders import Workspace
from pipeline.records import index, index_files
from pipeline.records.journal import Journal


def _manifest(request_id: str, n: int, received: datetime) -> dict:
    signed = received + timedelta(minutes=2)
    pdf = f"{request_id}.pdf"
    events = []
    if n % 3 == 0:
        events.append({"type": "published", "url": f"https://example.go.th/news/{n}",
                       "published_on": (signed + timedelta(days=2)).date().isoformat(),
                       "recorded_at": (signed + timedelta(days=2)).isoformat(),
                       "recorded_by": "นายธนพล แก้วมณี", "signature": None,
                       "previous_pdf": None})
    person = {"name": "นางสาวนูรีซัน หะยีมะ", "position": "นักวิชาการสาธารณสุขชำนาญการ"}
    return {
        "schema": "pipeline.bundle/1",
        "request_id": request_id,
        "status": "published" if events else "approved",
        "request": {
            "unit": "สำนักงานสาธารณสุขอำเภอเมืองปัตตานี",
            "work_group": "กลุ่มงานควบคุมโรคติดต่อและโรคไม่ติดต่อ",
            "request_date": received.date().isoformat(),
            "title": f"ประชาสัมพันธ์การรณรงค์ป้องกันโรคไข้เลือดออก ลำดับที่ {n}",
            "category": "ข่าวประชาสัมพันธ์",
            "detail": "ขอเผยแพร่ข่าวการรณรงค์กำจัดลูกน้ำยุงลายในชุมชน ๑๒ หมู่บ้าน " * 3,
            "provider": person,
            "approver": {"name": "นายอับดุลรอแม สาและ", "position": "สาธารณสุขอำเภอเมืองปัตตานี"},
            "publisher": {"name": "นายธนพล แก้วมณี", "position": "นักวิชาการคอมพิวเตอร์"},
            "link": "https://ddc.moph.go.th/", "note": "", "attachments": ["poster.pdf"],
        },
        "source": {"name": f"คำขอ {n}.xlsx", "sha256": "0" * 64},
        "signed_pdf": pdf,
        "files": {pdf: {"sha256": f"{n:064x}", "size": 131072},
                  "request.xlsx": {"sha256": "1" * 64, "size": 9000},
                  "attachments/poster.pdf": {"sha256": "2" * 64, "size": 50000}},
        "signatures": [
            {"role": "provider", "signer": person["name"], "cert_sha256": "3" * 64,
             "signed_at": (signed - timedelta(minutes=1)).isoformat()},
            {"role": "director", "signer": "นายอับดุลรอแม สาและ", "cert_sha256": "4" * 64,
             "signed_at": signed.isoformat()},
        ],
        "times": {"received": received.isoformat(), "archived": signed.isoformat()},
        "events": events,
    }


def make_archive(root: Path, bundles: int, rejected: int, waiting: int) -> Workspace:
    ws = Workspace(root)
    ws.outbox.mkdir(parents=True)
    Journal(ws.journal_file).close()  # the schema
    start = datetime(2025, 10, 1, 2, tzinfo=UTC)
    rows = []
    for n in range(1, bundles + rejected + waiting + 1):
        request_id = f"REQ-2569-{n:05d}"
        received = start + timedelta(minutes=20 * n)
        if n <= bundles:
            state, message = "archived", ""
            folder = ws.outbox / request_id
            folder.mkdir()
            (folder / "manifest.json").write_text(
                json.dumps(_manifest(request_id, n, received), ensure_ascii=False, indent=2),
                encoding="utf-8")
        elif n <= bundles + rejected:
            state, message = "rejected", "title (title): is empty; please fill it in"
        else:
            state, message = "awaiting-director", ""
        rows.append((request_id, f"คำขอ {n}.xlsx", f"/inbox/คำขอ {n}.xlsx", f"{n:064x}", state,
                     received.isoformat(), received.isoformat(), message, 1))
    with sqlite3.connect(ws.journal_file) as db:
        db.executemany("INSERT INTO requests (id, source_name, source_path, source_sha256, "
                       "state, received_at, updated_at, message, taken) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20000, help="bundles in the archive")
    parser.add_argument("--rejected", type=int, default=500)
    parser.add_argument("--waiting", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        started = time.perf_counter()
        ws = make_archive(Path(tmp) / "ws", args.n, args.rejected, args.waiting)
        print(f"archive of {args.n} bundles, {args.rejected} returned, {args.waiting} waiting "
              f"made in {time.perf_counter() - started:.1f} s")
        gathers, totals = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            rows = index.gather(ws)
            gathers.append(time.perf_counter() - t)
            result = index_files.refresh(ws, retry_after=None)
            assert result.written and result.rows == len(rows)
            totals.append(result.seconds)
        xlsx, csv = ws.outbox / index_files.INDEX_NAME, ws.outbox / index_files.CSV_NAME
        total = statistics.median(totals)
        print(f"rows: {len(rows)}")
        print(f"gather (manifests + journal), median of {args.runs}: "
              f"{statistics.median(gathers):.2f} s")
        print(f"full regeneration (gather + xlsx + csv), median of {args.runs}: {total:.2f} s "
              f"(runs: {', '.join(f'{s:.2f}' for s in totals)})")
        print(f"sizes: index.xlsx {xlsx.stat().st_size / 1e6:.1f} MB, "
              f"index.csv {csv.stat().st_size / 1e6:.1f} MB")
        every = 5.0
        print(f"during a burst the watcher regenerates at most every {every:g} s: "
              f"{total / (every + total):.0%} of the burst's time, whatever the burst's size; "
              f"once per request it would cost {total:.1f} s per request")


if __name__ == "__main__":
    main()
