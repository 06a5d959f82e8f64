"""Creating a workspace: its folders, a starting ``pipeline.toml`` and the form template."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from pipeline.core import fsutil
from pipeline.core.folders import CONFIG_NAME, Workspace
from pipeline.settings.config import DEFAULT_FONT

TEMPLATE_FILES = ("approval_form.docx", "monthly_report.docx")


def builtin_template(name: str) -> Path:
    """The template ``name`` shipped inside the package (``pipeline/templates/``, package
    data of the wheel), found through :mod:`importlib.resources` so that an installed copy
    finds its own files wherever it was installed, not a source tree's.

    docxtpl and LibreOffice open templates by path, so the resource must be a real file: it
    is for every install pip makes (wheels are unpacked). A zipped import is refused here,
    by name, rather than failing later inside docxtpl."""
    resource = resources.files("pipeline") / "templates" / name
    if not isinstance(resource, Path):
        raise RuntimeError(f"the pipeline's template {name} is not a file on disk "
                           f"({resource!r}): install the pipeline unzipped (pip does)")
    if not resource.is_file():
        raise FileNotFoundError(f"the pipeline's template {name} is missing from {resource.parent}"
                                "; reinstall the pipeline")
    return resource


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(values: list[str] | tuple[str, ...]) -> str:
    return "[\n" + "".join(f"    {_toml_str(v)},\n" for v in values) + "]"


def _toml_value(value: str | int) -> str:
    return str(value) if isinstance(value, int) else _toml_str(value)


OBLIGATIONS_HELP = (
    "# What the office must publish, by whom and when (pipeline obligations; reminders):\n"
    "# id, title, category (or its number), work_group (or \"all\", or work_groups = [...]),\n"
    "# every = \"month\" | \"quarter\" | \"year\" (fiscal, from October) with day (of the\n"
    "# period; 0 = its last day), or dates = [...]; optional indicator (ITA) and remind_days.\n"
    "# A provider's work_group in [[providers]] says who is reminded.\n")


def config_text(*, unit: str, work_groups: list[str], director: dict[str, str],
                auto_approve: bool, publisher: dict[str, str],
                providers: list[dict[str, str]], trust_roots: list[str], tsa: str,
                revocation: str, header: str = "",
                obligations: tuple[dict[str, str | int], ...] = ()) -> str:
    """A commented ``pipeline.toml``. Signing keys are named here, passphrases never are:
    only the environment variable or file that holds each one."""

    def table(values: dict[str, str] | dict[str, str | int]) -> str:
        return "".join(f"{k} = {_toml_value(v)}\n" for k, v in values.items())

    parts = [
        header,
        "[unit]\n",
        f"name = {_toml_str(unit)}\n",
        "# Request IDs look like REQ-2569-00001 (prefix, Buddhist-Era year, number).\n",
        'id_prefix = "REQ"\n',
        f"work_groups = {_toml_list(work_groups)}\n",
        "# categories = [...]  # default: the ten kinds of the publication framework\n\n",
        "# The head of the office, who approves (ผู้อนุมัติรับรอง).\n[director]\n",
        table(director),
        f"auto_approve = {'true' if auto_approve else 'false'}\n\n",
        "# The webmaster (ผู้รับผิดชอบการนำข้อมูลขึ้นเผยแพร่).\n[publisher]\n",
        table(publisher),
        "\n",
    ]
    for p in providers:
        parts += ["# A person who may provide information (ผู้รับผิดชอบการให้ข้อมูล).\n",
                  "[[providers]]\n", table(p), "\n"]
    parts += [
        "[signing]\n",
        "# PAdES level: B-B, B-T (timestamped), B-LT (+ revocation data), B-LTA (+ document\n",
        "# timestamp; what keeps signatures verifiable for years).\n",
        'level = "B-LTA"\n',
        "# RFC 3161 timestamp authority: its URL, or \"demo\" for the demo PKI's own,\n",
        "# in-process. As needed: tsa_timeout, tsa_retries, tsa_username and tsa_password_env\n",
        "# (basic auth), tsa_client_cert and tsa_client_key (a TLS client certificate).\n",
        f"tsa = {_toml_str(tsa)}\n",
        "# Revocation data: \"online\" (OCSP/CRLs where the certificates point) or \"demo\".\n",
        f"revocation = {_toml_str(revocation)}\n",
        "# Certificates (PEM) whose chains are trusted when verifying.\n",
        f"trust_roots = {_toml_list(trust_roots)}\n",
        f"font = {_toml_str(str(DEFAULT_FONT))}\n",
        'template = "templates/approval_form.docx"\n\n',
        "[office]\n# Seconds LibreOffice may take for one document before it is restarted.\n",
        "timeout = 60\n\n",
        "[watch]\n# Seconds a sheet waits for the attachments it names (and a file no sheet\n",
        "# names waits for its sheet) before it is rejected.\n",
        "attachment_wait = 300\n",
        "# MB that must stay free on the workspace's disks: below it, requests wait (held,\n",
        "# with the reason in `pipeline status`) and resume by themselves when space returns.\n",
        "min_free_mb = 200\n\n",
        "[sheet]\n# What a request sheet may be: date range (days), sizes (MB). Also possible:\n",
        "# [sheet.max_length] title = 300 (characters per field); [sheet.certificate_names]\n",
        '# "name on sheets" = "name in the certificate"; [[sheet.acting_directors]] with\n',
        "# name, position, title = \"รักษาราชการแทน\" or \"ปฏิบัติราชการแทน\" (and pkcs12...).\n",
        "max_days_past = 365\nmax_days_future = 60\nmax_sheet_mb = 20\n",
        "max_attachment_mb = 50\nmax_request_mb = 200\n\n",
        OBLIGATIONS_HELP,
    ]
    if not obligations:
        parts.append("# [[obligations]]\n# id = \"procurement\"\n# title = \"...\"\n"
                     "# category = 5\n# work_group = \"...\"\n# every = \"month\"\n"
                     "# day = 10\n")
    for item in obligations:
        parts += ["[[obligations]]\n", table(item), "\n"]
    return "".join(parts)


EXAMPLE_CONFIG = config_text(
    header="# pipeline.toml: edit the names and key files below for your office.\n\n",
    unit="สำนักงานสาธารณสุขอำเภอ...",
    work_groups=["กลุ่มงานบริหารทั่วไป"],
    director={"name": "ชื่อ นามสกุล", "position": "สาธารณสุขอำเภอ...",
              "pkcs12": "keys/director.p12", "passphrase_env": "PIPELINE_DIRECTOR_PASSPHRASE"},
    auto_approve=False,
    publisher={"name": "ชื่อ นามสกุล", "position": "นักวิชาการคอมพิวเตอร์"},
    providers=[{"name": "ชื่อ นามสกุล", "position": "ตำแหน่ง", "pkcs12": "keys/provider.p12",
                "passphrase_env": "PIPELINE_PROVIDER_PASSPHRASE"}],
    trust_roots=["keys/root.pem"],
    tsa="",
    revocation="online",
)


def init(root: Path, config: str = EXAMPLE_CONFIG) -> Workspace:
    """Create what is missing; never overwrite what the office already has."""
    ws = Workspace(root.resolve())
    for folder in (ws.root, ws.inbox, ws.outbox, ws.templates, ws.state):
        folder.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATE_FILES:
        if not (ws.templates / name).exists():
            shutil.copyfile(builtin_template(name), ws.templates / name)
    if not ws.config_file.exists():
        fsutil.write_bytes(ws.root / CONFIG_NAME, config.encode("utf-8"))
    return ws
