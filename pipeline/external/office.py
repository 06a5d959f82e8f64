"""LibreOffice as a document converter: the only module that talks to it.

One ``soffice`` process is started on demand and kept for every document, because a cold start
costs about a second and a warm conversion well under a tenth of that. It is driven over UNO from
this process (``import uno`` needs Debian's python3-uno, hence the venv made from
``/usr/bin/python3 --system-site-packages``). LibreOffice is a large program fed files from
outside, so each conversion runs under a watchdog: a process that died is started again, one
that hangs is killed with its whole process group and started again, and after a bounded number
of attempts the caller gets a :class:`ConversionError`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any

from pipeline.core import fsutil
from pipeline.core.errors import PipelineError
from pipeline.external import tools

ATTEMPTS = 2  # a conversion is tried on at most this many soffice processes
POLL_INTERVAL = 0.05  # seconds between connection attempts while soffice starts
STOP_GRACE = 5.0  # seconds soffice gets to quit when asked before it is killed
# soffice.bin exits with this code after creating a new profile, expecting to be started again
# (oosplash, behind the `soffice` script, normally does that).
_RESTART_REQUESTED = 81

# PDF/A-3b (PDF/A-2b plus associated files: the request sheet travels inside the signed PDF)
# with every font embedded; Word bookmarks become named destinations, which is how the signing
# step finds where each signature goes.
PDF_EXPORT = {
    "SelectPdfVersion": 3,
    "EmbedStandardFonts": True,
    "ExportBookmarksToPDFDestination": True,
}


class ConversionError(PipelineError):
    """A document could not be converted; the message says which and why."""


class _OfficeFailure(Exception):
    """LibreOffice itself failed (died, hung, would not start): worth a restart and a retry."""


@functools.cache
def _uno() -> SimpleNamespace:
    """LibreOffice's Python bridge, imported when first needed rather than with this module.

    A process that bootstraps UNO while it is being spawned (a worker re-importing a main
    module that imported the pipeline) found its runtime gone by the time it converted
    ("pyuno runtime is not initialized"), when its parent had used UNO itself; importing on
    first use keeps that bootstrap out of the spawn."""
    import uno
    from com.sun.star.beans import PropertyValue
    from com.sun.star.connection import NoConnectException
    from com.sun.star.lang import DisposedException
    from com.sun.star.uno import Exception as UnoException

    return SimpleNamespace(uno=uno, PropertyValue=PropertyValue,
                           NoConnectException=NoConnectException,
                           DisposedException=DisposedException, UnoException=UnoException)


def _props(**values: object) -> tuple[object, ...]:
    return tuple(_uno().PropertyValue(Name=name, Value=value) for name, value in values.items())


def _soffice_bin() -> Path:
    """``soffice.bin`` itself rather than the ``soffice`` script, whose launcher stays in
    between: the pid we hold is then the process that converts."""
    script = tools.path(tools.SOFFICE)
    binary = script.resolve().with_name("soffice.bin")
    if not binary.is_file():
        raise ConversionError(f"{binary} not found next to {script}")
    return binary


class _Watchdog:
    """Calls ``on_timeout`` after ``seconds`` unless the ``with`` block has ended first."""

    def __init__(self, seconds: float, on_timeout: Callable[[], None]) -> None:
        self.fired = threading.Event()

        def fire() -> None:
            self.fired.set()
            on_timeout()

        self._timer = threading.Timer(seconds, fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()


class _Office:
    """One ``soffice.bin`` in its own process group, and the UNO desktop connected to it.

    Its temporary files go to ``<profile>/tmp``, cleared at each start, so that a killed process
    leaves nothing behind in /tmp.
    """

    def __init__(self, profile: Path) -> None:
        self._pipe = f"pipeline-{os.getpid()}-{secrets.token_hex(4)}"
        # setpriv (util-linux) has the kernel kill soffice when the thread that started it
        # dies, even by kill -9, so a crashed watcher leaves no orphan LibreOffice behind.
        self._command = [
            str(tools.path(tools.SETPRIV)), "--pdeathsig", "KILL",
            str(_soffice_bin()), "--headless", "--invisible", "--norestore", "--nologo",
            "--nodefault", "--nolockcheck", f"-env:UserInstallation={profile.as_uri()}",
            f"--accept=pipe,name={self._pipe};urp;StarOffice.ComponentContext",
        ]
        tmp = profile / "tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        self._env = os.environ | {"TMPDIR": str(tmp)}
        self.desktop: Any = None  # LibreOffice's desktop, a UNO proxy (untyped) once connected
        self.process = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self._command, env=self._env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def connect(self, deadline: float) -> None:
        """Poll until soffice accepts the UNO connection (nothing to do once connected)."""
        if self.desktop is not None:
            return
        local = _uno().uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local)
        url = f"uno:pipe,name={self._pipe};urp;StarOffice.ComponentContext"
        while True:
            code = self.process.poll()
            if code == _RESTART_REQUESTED:
                self.process = self._spawn()
            elif code is not None:
                raise _OfficeFailure(f"soffice exited with code {code} while starting")
            try:
                context = resolver.resolve(url)
                break
            except _uno().NoConnectException:
                if time.monotonic() > deadline:
                    raise _OfficeFailure("soffice did not accept a connection in time") from None
                time.sleep(POLL_INTERVAL)
        self.desktop = context.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", context)

    def convert(self, source: Path, target: Path) -> None:
        """Load ``source`` hidden, export it to ``target`` as PDF, close it."""
        filter_data = _uno().uno.Any("[]com.sun.star.beans.PropertyValue",
                                     _props(**PDF_EXPORT))
        document = self.desktop.loadComponentFromURL(
            source.as_uri(), "_blank", 0, _props(Hidden=True, ReadOnly=True))
        if document is None:
            raise ConversionError(f"LibreOffice could not open {source}")
        sheet = document.supportsService("com.sun.star.sheet.SpreadsheetDocument")
        try:  # a spreadsheet (the blank request sheet, printed) through Calc's export
            document.storeToURL(target.as_uri(), _props(
                FilterName="calc_pdf_Export" if sheet else "writer_pdf_Export",
                FilterData=filter_data, Overwrite=True))
        except BaseException:
            # Closing fails too when soffice has died, and with an error ("illegal object
            # given") that would hide the DisposedException saying so.
            with contextlib.suppress(_uno().UnoException):
                document.close(True)
            raise
        document.close(True)

    def answers(self) -> bool:
        """Whether soffice runs and still answers over UNO. A killed soffice closes its end of
        the pipe, failing the call in progress, before the kernel lets it be reaped: poll()
        alone can still see it running then."""
        if self.desktop is None or not self.alive:
            return False
        try:
            self.desktop.getImplementationName()
        except _uno().UnoException:
            return False
        return True

    def kill(self) -> None:
        """SIGKILL the whole process group (a stopped process too) and reap it."""
        if self.process.poll() is None:
            # ProcessLookupError: reaped meanwhile by another thread's kill()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        # A killed soffice leaves its socket behind; osl keeps pipes in /tmp whatever TMPDIR says.
        Path(f"/tmp/OSL_PIPE_{os.getuid()}_{self._pipe}").unlink(missing_ok=True)

    def stop(self) -> None:
        """Ask soffice to quit over UNO, so that it removes its pipes and temporary files;
        kill it if it has not quit within STOP_GRACE seconds."""
        if self.desktop is not None and self.alive:
            with _Watchdog(STOP_GRACE, self.kill):
                # UnoException: the connection may close before the answer comes
                with contextlib.suppress(_uno().UnoException):
                    self.desktop.terminate()
                self.process.wait()
        self.kill()


@dataclass
class _State:
    """What a Converter owns, apart from it so that its finalizer does not keep it alive."""

    office: _Office | None = None
    temp_profile: Path | None = None

    def release(self) -> None:
        if self.office is not None:
            self.office.stop()
            self.office = None
        if self.temp_profile is not None:
            shutil.rmtree(self.temp_profile, ignore_errors=True)
            self.temp_profile = None


class Converter:
    """Converts .docx files to PDF/A with one long-lived LibreOffice, one document at a time.

    ``timeout`` bounds one attempt at one document, starting soffice included, so a document
    takes at most ATTEMPTS times that. soffice keeps caches that grow with the documents it has
    seen (~165 MB after 50, ~205 MB after 200), so it is restarted after ``recycle_after``
    documents: memory stays flat for a service that runs for months, at the cost of one cold
    start per ``recycle_after`` documents. Use as a context manager or call :meth:`close`; a
    converter still open when it is garbage collected or when the interpreter exits is closed
    then.
    """

    def __init__(self, *, timeout: float = 60.0, profile_dir: Path | None = None,
                 recycle_after: int = 200) -> None:
        _uno()  # a missing python3-uno shows now, not at the first document
        self.timeout = timeout
        self.recycle_after = recycle_after
        self._converted = 0  # by the soffice now running
        self._state = _State()
        if profile_dir is None:
            profile_dir = self._state.temp_profile = Path(tempfile.mkdtemp(prefix="pipeline-lo-"))
        self._profile = profile_dir.resolve()
        self._lock = threading.Lock()
        self._release = weakref.finalize(self, self._state.release)

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The pid of the soffice.bin in use; None before the first conversion and after close."""
        office = self._state.office
        return office.process.pid if office is not None else None

    def close(self) -> None:
        """Stop LibreOffice and remove the temporary profile; later calls do nothing."""
        with self._lock:
            self._release()

    def convert(self, docx: Path, pdf: Path) -> None:
        """Write ``docx`` as PDF/A-2b to ``pdf`` atomically: ``pdf`` is either the complete new
        file or as it was. Raises ConversionError when LibreOffice cannot do it."""
        source = docx.resolve()
        if not source.is_file():
            raise FileNotFoundError(source)
        target = pdf.resolve()
        with self._lock:
            if not self._release.alive:
                raise ValueError("convert() on a closed Converter")
            partial = fsutil.temp_beside(target)  # the mode open() gives, not 0600
            try:
                self._convert_with_retries(source, partial)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)

    def _convert_with_retries(self, source: Path, target: Path) -> None:
        failures = []
        for _ in range(ATTEMPTS):
            try:
                self._convert_once(source, target)
                self._converted += 1
                if self._converted >= self.recycle_after:
                    self._recycle()
                return
            except _OfficeFailure as failure:
                failures.append(str(failure))
                self._discard_office()
        raise ConversionError(f"LibreOffice failed to convert {source} {ATTEMPTS} times: "
                              f"{'; '.join(failures)}")

    def _convert_once(self, source: Path, target: Path) -> None:
        """One attempt, starting soffice if none is running, under a watchdog that kills it at
        the deadline. Failures of LibreOffice itself become _OfficeFailure; errors about the
        document stay ConversionError, since another attempt would fail the same way."""
        if self._state.office is not None and not self._state.office.alive:
            self._discard_office()
        if self._state.office is None:
            self._state.office = _Office(self._profile)
        office = self._state.office
        with _Watchdog(self.timeout, office.kill) as watchdog:
            try:
                office.connect(deadline=time.monotonic() + self.timeout)
                office.convert(source, target)
            except (_uno().UnoException, _OfficeFailure) as exc:
                if watchdog.fired.is_set():
                    raise _OfficeFailure(f"no answer within {self.timeout:g} s") from None
                if isinstance(exc, _OfficeFailure):
                    raise
                reason = exc.Message or type(exc).__name__
                if isinstance(exc, _uno().DisposedException) or not office.answers():
                    raise _OfficeFailure(f"soffice stopped ({reason})") from None
                raise ConversionError(f"LibreOffice could not convert {source}: {reason}"
                                      ) from None

    def _recycle(self) -> None:
        """Stop soffice gracefully; the next document starts a fresh one."""
        self._converted = 0
        if self._state.office is not None:
            self._state.office.stop()
            self._state.office = None

    def _discard_office(self) -> None:
        self._converted = 0
        if self._state.office is not None:
            self._state.office.kill()
            self._state.office = None
