"""The command line as a clerk, a service manager and an auditor use it (real subprocesses)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from pipeline import demo
from pipeline.bundles import bundle
from pipeline.intake import blank_sheet, sheet
from pipeline.settings import config

PIPELINE = [sys.executable, "-m", "pipeline"]


def _run(*args: str, ws: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*PIPELINE, "--workspace", str(ws), *args], capture_output=True,
                          text=True, **kwargs)


def _wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_init_makes_a_workspace_and_keeps_an_existing_config(tmp_path):
    ws = tmp_path / "office"
    assert _run("init", ws=ws).returncode == 0
    for name in ("pipeline.toml", "inbox", "outbox", "templates/approval_form.docx"):
        assert (ws / name).exists()
    (ws / "pipeline.toml").write_text("# mine\n" + (ws / "pipeline.toml").read_text())
    assert _run("init", ws=ws).returncode == 0
    assert (ws / "pipeline.toml").read_text().startswith("# mine")
    # the example config names no passphrase, only where one comes from
    assert "passphrase =" not in (ws / "pipeline.toml").read_text()


def test_init_demo_makes_keys_and_a_valid_sample(tmp_path):
    ws = tmp_path / "demo"
    assert _run("init", "--demo", ws=ws).returncode == 0
    cfg = config.load(ws)
    assert cfg.auto_approve
    assert (ws / "demo-pki" / "root.pem").is_file()
    assert sheet.read_sheet(ws / "samples" / "sample_request.xlsx", cfg).ok
    assert not any((ws / "inbox").glob("*.xlsx"))  # the sample is not dropped by init


def test_process_exits_1_for_a_rejected_sheet_and_explains(demo_ws, tmp_path):
    bad = tmp_path / "ผิด.xlsx"
    blank_sheet.new_request(bad, demo_ws)
    run = _run("process", str(bad), ws=demo_ws.workspace.root)
    assert run.returncode == 1
    assert "title" in run.stderr and "หัวข้อ" in run.stderr
    assert bad.exists()


def test_a_missing_config_is_a_clear_error(tmp_path):
    run = _run("watch", "--once", ws=tmp_path)
    assert run.returncode != 0
    assert "pipeline init" in run.stderr and "Traceback" not in run.stderr


def test_watch_service_processes_a_drop_and_stops_cleanly_on_sigterm(demo_ws, tmp_path):
    root = demo_ws.workspace.root
    form = tmp_path / "ข่าว.xlsx"
    blank_sheet.new_request(form, demo_ws)
    blank_sheet.fill(form, demo.sample_values(date.today()))
    proc = subprocess.Popen([*PIPELINE, "--workspace", str(root), "watch", "--settle", "0.3",
                             "--rescan", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        tmp = root / "inbox" / ".ข่าว.xlsx.part"
        tmp.write_bytes(form.read_bytes())
        tmp.rename(root / "inbox" / "ข่าว.xlsx")
        outbox = root / "outbox"
        _wait_for(lambda: any(bundle.is_bundle(p) for p in outbox.iterdir()))
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "REQ-" in out
    assert not (root / "inbox" / "ข่าว.xlsx").exists()
    log = (root / ".pipeline" / "pipeline.log").read_text(encoding="utf-8")
    assert "archived" in log
    passphrase = (root / demo.PKI_DIR / "passphrase.txt").read_text().strip()
    assert passphrase not in log + out + err


def test_verify_fails_on_a_tampered_bundle(demo_ws, tmp_path):
    root = demo_ws.workspace.root
    form = tmp_path / "r.xlsx"
    blank_sheet.new_request(form, demo_ws)
    blank_sheet.fill(form, demo.sample_values(date.today()))
    assert _run("process", str(form), ws=root).returncode == 0
    folder = next(p for p in (root / "outbox").iterdir() if bundle.is_bundle(p))
    assert _run("verify", str(folder), ws=root).returncode == 0
    pdf = folder / f"{folder.name}.pdf"
    data = bytearray(pdf.read_bytes())
    at = data.index(b"/Contents") - 200  # a byte inside the signed content
    data[at] ^= 0x01
    pdf.write_bytes(bytes(data))
    run = _run("verify", str(folder), ws=root)
    assert run.returncode == 1
    assert "SHA-256 differs" in run.stdout
    assert "NOT OK" in run.stdout


def test_a_second_watcher_refuses_to_start(demo_ws):
    root = demo_ws.workspace.root
    first = subprocess.Popen([*PIPELINE, "--workspace", str(root), "watch"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        lock = root / ".pipeline" / "watch.lock"
        _wait_for(lambda: lock.exists() and lock.read_text().strip() == str(first.pid))
        second = _run("watch", "--once", ws=root)
        assert second.returncode != 0
        assert f"pid {first.pid}" in second.stderr and "already" in second.stderr
    finally:
        first.terminate()
        first.wait(timeout=30)
    assert first.returncode == 0
    assert _run("watch", "--once", ws=root).returncode == 0  # the lock went with the process


def test_status_counts_states_and_shows_problems(demo_ws, tmp_path):
    root = demo_ws.workspace.root
    bad = tmp_path / "ว่าง.xlsx"
    blank_sheet.new_request(bad, demo_ws)
    assert _run("process", str(bad), ws=root).returncode == 1
    run = _run("status", ws=root)
    assert run.returncode == 0
    assert "rejected" in run.stdout and "ว่าง.xlsx" in run.stdout and "title" in run.stdout


def test_each_command_is_found_in_the_module_commands_names() -> None:
    """common.COMMANDS lists every command of pipeline/cli/ with its module (only that one
    is imported to run it), and a process verifying a file loads none of the signing,
    LibreOffice or docxtpl code (openpyxl it needs: a bundle's index is a workbook)."""
    import importlib
    import pkgutil

    import pipeline.cli
    from pipeline.cli import common

    for module in pkgutil.iter_modules(pipeline.cli.__path__):
        importlib.import_module(f"pipeline.cli.{module.name}")
    registered = {name: command.callback.__module__.rsplit(".", 1)[-1]
                  for name, command in common.main.commands.items()}
    assert registered == common.COMMANDS
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom pipeline.cli import main\n"
         "main.get_command(None, 'verify')\nprint(' '.join(sys.modules))"],
        capture_output=True, text=True, check=True).stdout.split()
    heavy = {"pipeline.signatures.signing", "pipeline.external.office", "docxtpl",
             "pipeline.flow.processing", "fontTools.subset"}
    assert heavy.isdisjoint(loaded), heavy & set(loaded)
