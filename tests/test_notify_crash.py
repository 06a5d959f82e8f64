"""The watcher killed with SIGKILL after the server accepted a notice and before the journal
recorded it: after a restart the notice is delivered again, with the same Message-ID, and
nothing else repeats; nothing is lost."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from mailservers import PROVIDER_EMAIL, Mailbox, smtp_lines, with_notify

from pipeline import demo
from pipeline.records.journal import Journal, State

PIPELINE = [sys.executable, "-m", "pipeline"]


def _watcher(root) -> subprocess.Popen:
    return subprocess.Popen([*PIPELINE, "--workspace", str(root), "watch", "--workers", "0",
                             "--settle", "0", "--rescan", "0.2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_sigkill_between_the_state_change_and_the_notice_loses_nothing(demo_ws) -> None:
    box = Mailbox().start()
    try:
        cfg = with_notify(demo_ws, smtp_lines(box))
        root = cfg.workspace.root
        demo.drop_sample(demo.Demo(cfg, root / demo.SAMPLE))
        box.hold()  # the server keeps the message but does not answer 250 yet
        watcher = _watcher(root)
        try:
            [first] = box.wait_for(1, timeout=120)  # archived, and its notice being sent
        finally:
            watcher.send_signal(signal.SIGKILL)
            watcher.wait()
        box.release()
        journal = Journal(cfg.workspace.journal_file, cfg.id_prefix)
        try:
            [entry] = journal.in_state(State.ARCHIVED)
            [row] = journal.notices.all()
            assert row.kind == "approved" and row.sent_at is None  # the kill came first

            watcher = _watcher(root)
            try:
                received = box.wait_for(2, timeout=120)
                deadline = time.monotonic() + 60
                while journal.notices.all()[0].sent_at is None:
                    assert time.monotonic() < deadline and watcher.poll() is None
                    time.sleep(0.05)
            finally:
                watcher.terminate()
                _, err = watcher.communicate(timeout=60)
            assert watcher.returncode == 0, err
            ids = [m.message["Message-ID"] for m in box.received]
            again = received[1]
            assert again.rcpt_tos == first.rcpt_tos == (PROVIDER_EMAIL,)
            assert again.message["Message-ID"] == first.message["Message-ID"]
            assert entry.id in again.message["Subject"]
            # the one message repeated; anything else the restart sent (the webmaster's
            # digest, after 08:30) went once
            assert ids.count(first.message["Message-ID"]) == 2
            assert len(set(ids)) == len(ids) - 1
            assert all(q.sent_at is not None for q in journal.notices.all())
        finally:
            journal.close()
    finally:
        box.stop()
