"""What approving from the desk adds to the signing itself (issue 12: at most 100 ms).

    .venv/bin/python bench/bench_desk_approve.py [-n 6]

Makes a demo workspace whose director signs from the queue, has the pipeline sign 2N
requests for their provider, then approves N of them one at a time through the library
(``flow.decisions``, what ``pipeline approve`` runs) and N one at a time from the desk (a
signed-in client POSTs the approval and follows the progress page until it says finished,
as the browser does), and prints the median of each and their difference.
"""

from __future__ import annotations

import argparse
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

from pipeline import demo, patches
from pipeline.flow import decisions
from pipeline.flow.processing import Processor
from pipeline.intake import blank_sheet
from pipeline.settings import config as config_mod

PASSWORD = "bench password, not for use"
PIPELINE = [sys.executable, "-m", "pipeline"]


def _waiting(root: Path, n: int) -> list[str]:
    made = demo.create(root)
    text = made.config.workspace.config_file.read_text(encoding="utf-8")
    made.config.workspace.config_file.write_text(
        text.replace("auto_approve = true", "auto_approve = false"), encoding="utf-8")
    config = config_mod.load(root)
    ids = []
    with Processor(config) as processor:
        for i in range(n):
            path = root / f"sheet-{i}.xlsx"
            blank_sheet.new_request(path, config)
            blank_sheet.fill(path, {**demo.sample_values(date.today()), "title": f"ข่าว {i}"})
            outcome = processor.process(path)
            assert outcome.request_id is not None
            ids.append(outcome.request_id)
    return ids


def _library(root: Path, ids: list[str]) -> list[float]:
    config = config_mod.load(root)
    times = []
    for request_id in ids:
        began = time.perf_counter()
        with decisions.deciding(config) as decision:
            decision.approve(decision.choose([request_id]))
        times.append(time.perf_counter() - began)
    return times


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern} not in {text[:200]!r}"
    return match.group(1)


def _csrf(page: str) -> str:
    return _found(r'name="csrf" value="([^"]+)"', page)


def _desk(root: Path, ids: list[str]) -> list[float]:
    subprocess.run([*PIPELINE, "--workspace", str(root), "user", "add", "boss", "--role",
                    "director", "--person", config_mod.load(root).director.person.name],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    server = subprocess.Popen([*PIPELINE, "--workspace", str(root), "serve", "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    url = _found(r"(https?://\S+/)", server.stdout.readline())
    try:
        http = requests.Session()
        http.post(f"{url}signin", data={"csrf": _csrf(http.get(f"{url}signin").text),
                                        "login": "boss", "password": PASSWORD})
        csrf = _csrf(http.get(f"{url}director").text)
        times = []
        for request_id in ids:
            began = time.perf_counter()
            page = http.post(f"{url}director/approve", data={"csrf": csrf, "id": request_id})
            while 'id="outcomes"' not in page.text:
                time.sleep(0.005)  # a browser waits a second; this measures the work
                page = http.get(page.url)
            times.append(time.perf_counter() - began)
        return times
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=6, help="approvals each way")
    args = parser.parse_args()
    patches.install()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        ids = _waiting(root, 2 * args.n)
        direct = _library(root, ids[:args.n])
        desk = _desk(root, ids[args.n:])
    a, b = statistics.median(direct), statistics.median(desk)
    print(f"approve one request, median of {args.n}: library {a * 1000:.0f} ms, desk "
          f"{b * 1000:.0f} ms; the desk adds {(b - a) * 1000:.0f} ms (bound: 100 ms)")


if __name__ == "__main__":
    main()
