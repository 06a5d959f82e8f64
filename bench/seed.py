"""What the benchmarks share: N distinct request sheets, N distinct bundles made by the
pipeline itself (LibreOffice, both signatures, the archive), and a cheap archive of many
bundles for the flatness benchmarks; and the CPU seconds of a process tree from /proc.

Distinct means distinct: each sheet gets its own title and note (so each form, each
signature and each bundle differs from the others), never a copy of one bundle.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline import demo
from pipeline.flow.processing import Processor
from pipeline.flow.watch import WatchOptions, watch
from pipeline.intake import blank_sheet
from pipeline.records.journal import Journal
from pipeline.settings.config import Config, load


def workspace(root: Path, level: str = "B-LTA") -> demo.Demo:
    """A demo workspace at ``root`` signing at ``level``."""
    made = demo.create(root)
    cfg = made.config.workspace.config_file
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace('level = "B-LTA"', f'level = "{level}"'), encoding="utf-8")
    return demo.Demo(load(made.config.workspace.root), made.sample)


def sheets(made: demo.Demo, folder: Path, n: int, start: int = 0) -> list[Path]:
    """``n`` distinct filled request sheets in ``folder`` (numbered from ``start``)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = demo.sample_values(date.today())
    out = []
    for i in range(start, start + n):
        path = folder / f"คำขอ {i:05d}.xlsx"
        shutil.copyfile(made.sample, path)
        blank_sheet.fill(path, {**base, "title": f"{base['title']} (ชุดทดสอบ {i:05d})",
                                "note": f"ชุดทดสอบเลขที่ {i}"})
        out.append(path)
    return out


def bundles(made: demo.Demo, n: int, workers: int | None = None) -> list[Path]:
    """``n`` distinct bundles in the workspace's outbox, made by the pipeline from ``n``
    distinct sheets on all cores (as ``pipeline watch --once`` does)."""
    config: Config = made.config
    for path in sheets(made, config.workspace.root / "seed-sheets", n):
        path.rename(config.workspace.inbox / path.name)
    logging.getLogger("pipeline").setLevel(logging.WARNING)  # one line per step otherwise
    with Processor(config) as processor:
        watch(processor, WatchOptions(once=True, settle=0,
                                      workers=workers or (os.cpu_count() or 1) + 1))
    found = sorted(p for p in config.workspace.outbox.iterdir() if (p / "manifest.json").is_file())
    assert len(found) >= n, f"only {len(found)} of {n} bundles were made"
    return found


def archive(config: Config, count: int) -> None:
    """``count`` archived requests, cheaply: a journal row and a bundle folder with a small
    manifest each (no PDF: what per-request work must not read). IDs from 90001 up, so the
    real requests that follow keep their own numbering."""
    if count == 0:
        return
    Journal(config.workspace.journal_file, config.id_prefix).close()  # the schema
    start = datetime(2025, 10, 1, 2, tzinfo=UTC)
    rows = []
    for n in range(count):
        request_id = f"{config.id_prefix}-2568-{n + 1:06d}"
        when = (start + timedelta(minutes=n)).isoformat()
        folder = config.workspace.outbox / request_id
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps(
            {"schema": "pipeline.bundle/1", "request_id": request_id, "status": "approved",
             "request": {"title": f"seeded {n}"}, "signed_pdf": f"{request_id}.pdf",
             "files": {}, "signatures": [], "times": {"received": when, "archived": when},
             "events": []}), encoding="utf-8")
        rows.append((request_id, f"seed {n}.xlsx", f"/inbox/seed {n}.xlsx", f"{n:064x}",
                     "archived", when, when, "", 1))
    with sqlite3.connect(config.workspace.journal_file) as db:
        db.executemany("INSERT INTO requests (id, source_name, source_path, source_sha256, "
                       "state, received_at, updated_at, message, taken) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its living descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        todo += children.get(p, [])
    return total


def load_average() -> str:
    """``uptime``'s load, to print beside every figure (this machine is shared)."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def pipeline_command(ws: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", "--workspace", str(ws), *args]
