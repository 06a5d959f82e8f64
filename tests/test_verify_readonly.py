"""`pipeline verify` never writes (issue 11): an outbox on a read-only medium verifies as a
writable copy does, even with a bundle whose update a crash interrupted after its commit
point, which verify judges as committed and reports, leaving the finishing to the writers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from seeding import archived_sample, power_cut_after_commit

from pipeline.bundles import bundle, publish

PIPELINE = [sys.executable, "-m", "pipeline"]


def _listing(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every file and folder under ``root``: size, modification time (ns), mode."""
    out = {}
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        out[path.relative_to(root).as_posix()] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return out


@contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """``folder`` as a read-only bind mount of itself."""
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    bind = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True,
                          text=True)
    if bind.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {bind.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True,
                       capture_output=True)
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True, capture_output=True)


def _verify(outbox: Path, root_pem: Path, cwd: Path) -> tuple[int, dict]:
    run = subprocess.run([*PIPELINE, "verify", "--json", "--workers", "1", "--trust",
                          str(root_pem), str(outbox)], cwd=cwd, capture_output=True,
                         text=True, timeout=600)
    assert "Traceback" not in run.stderr, run.stderr
    return run.returncode, json.loads(run.stdout)


def _verdicts(document: dict) -> list[dict]:
    """What was found per item, without where the copy was and when it was verified."""
    return [{"name": Path(item["path"]).name, "indication": item["indication"],
             "exit_code": item["exit_code"], "error": item["error"],
             "bundle_problems": item["bundle_problems"], "notes": item["notes"],
             "signatures": [(s["field"], s["indication"], s["subindication"], s["intact"],
                             s["signer"], (s["certificate"] or {}).get("sha256"))
                            for s in item["signatures"]]}
            for item in document["items"]]


def test_verify_of_a_read_only_outbox_with_an_unfinished_update(processor, demo_ws, tmp_path,
                                                                 monkeypatch):
    outcome = archived_sample(processor, demo_ws, tmp_path)
    cfg = demo_ws  # the demo names the webmaster's key
    folder = outcome.bundle
    # the webmaster signs: the new PDF (three signatures) and manifest are staged, committed
    with power_cut_after_commit(monkeypatch):
        publish.record(cfg, outcome.request_id, "https://example.go.th/news/7")
    staged_pdf = folder / f".{outcome.request_id}.pdf.pending"
    assert (folder / ".manifest.json.pending").is_file() and staged_pdf.is_file()

    before = _listing(folder)
    view = bundle.committed(folder)
    assert view.unfinished and view.file(f"{outcome.request_id}.pdf") == staged_pdf
    assert bundle.check_bundle(folder) == []  # judged as committed, nothing renamed
    assert _listing(folder) == before

    writable = tmp_path / "writable" / "outbox"
    read_only = tmp_path / "read-only" / "outbox"
    for copy in (writable, read_only):
        shutil.copytree(demo_ws.workspace.outbox, copy, symlinks=True)  # times kept
    root_pem = tmp_path / "root.pem"
    shutil.copyfile(cfg.trust_roots[0], root_pem)

    untouched = _listing(writable)
    code, on_writable = _verify(writable, root_pem, tmp_path)
    assert _listing(writable) == untouched  # verify wrote nothing, though it could have
    with _read_only(read_only):
        untouched_ro = _listing(read_only)
        with pytest.raises(OSError):
            (read_only / "probe").write_bytes(b"")
        code_ro, on_read_only = _verify(read_only, root_pem, tmp_path)
        assert _listing(read_only) == untouched_ro

    assert (code_ro, _verdicts(on_read_only)) == (code, _verdicts(on_writable))
    assert code == 0, on_writable
    [item] = on_writable["items"]
    assert item["indication"] == "TOTAL_PASSED" and item["bundle_problems"] == []
    # the committed state: the staged PDF with the webmaster's signature
    assert [s["role"] for s in item["signatures"]] == ["provider", "director", "publisher"]
    assert any("committed but not yet finished" in n and "ยังไม่เสร็จ" in n
               for n in item["notes"]), item["notes"]

    # a writer finishes it; then verify has nothing to note about it
    bundle.recover(folder)
    assert not (folder / ".manifest.json.pending").exists() and not staged_pdf.exists()
    assert not bundle.committed(folder).unfinished
    assert bundle.check_bundle(folder) == []
