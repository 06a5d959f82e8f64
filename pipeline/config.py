"""The workspace: where things live, and ``pipeline.toml`` read into frozen dataclasses.

Relative paths in the config are relative to the workspace, so a workspace folder can be
moved or shared as a whole.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pipeline.request import Person

CONFIG_NAME = "pipeline.toml"
DEFAULT_FONT = Path("/usr/share/fonts/truetype/tlwg/Laksaman.ttf")

# The ten kinds of information of the Ministry's website publication framework.
DEFAULT_CATEGORIES = (
    "ข้อมูลหน่วยงาน",
    "กฎหมาย ระเบียบ ข้อบังคับ",
    "คลังความรู้",
    "รายชื่อเว็บไซต์หน่วยงานที่เกี่ยวข้อง",
    "ข้อมูลข่าวสารตาม พ.ร.บ.ข้อมูลข่าวสารของราชการ พ.ศ.๒๕๔๐",
    "คู่มือมาตรฐานการปฏิบัติงาน",
    "คู่มือสำหรับประชาชน",
    "ข่าวประชาสัมพันธ์",
    "ระบบงานให้บริการ e-Service",
    "สถิติการเข้าใช้บริการเว็บไซต์และความพึงพอใจ",
)


class ConfigError(Exception):
    """The workspace or its pipeline.toml is missing or wrong; the message says how to fix it."""


@dataclass(frozen=True)
class KeySource:
    """Where a PKCS#12 key and its passphrase come from. The passphrase itself is never
    stored in the config: only the name of an environment variable or of a file."""

    pkcs12: Path
    passphrase_env: str | None = None
    passphrase_file: Path | None = None

    def passphrase(self) -> bytes | None:
        if self.passphrase_env and self.passphrase_env in os.environ:
            return os.environ[self.passphrase_env].encode()
        if self.passphrase_file:
            try:
                return self.passphrase_file.read_bytes().rstrip(b"\r\n")
            except OSError as exc:
                raise ConfigError(f"cannot read passphrase file {self.passphrase_file}: "
                                  f"{exc.strerror}") from None
        if self.passphrase_env:
            raise ConfigError(f"environment variable {self.passphrase_env} is not set "
                              f"(passphrase for {self.pkcs12.name})")
        return None


@dataclass(frozen=True)
class SignerConfig:
    person: Person
    key: KeySource


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def rejected(self) -> Path:
        return self.inbox / "rejected"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def templates(self) -> Path:
        return self.root / "templates"

    @property
    def pending(self) -> Path:
        """Provider-signed forms waiting for the director, for the director to read."""
        return self.root / "pending"

    @property
    def state(self) -> Path:
        """Private working area: the journal, per-request work folders, the log."""
        return self.root / ".pipeline"

    @property
    def journal_file(self) -> Path:
        return self.state / "journal.sqlite"

    @property
    def work(self) -> Path:
        return self.state / "work"


@dataclass(frozen=True)
class Config:
    workspace: Workspace
    unit: str
    work_groups: tuple[str, ...]
    categories: tuple[str, ...]
    director: SignerConfig
    auto_approve: bool
    publisher: Person
    providers: tuple[SignerConfig, ...]
    trust_roots: tuple[Path, ...]
    font: Path
    template: Path
    office_timeout: float
    id_prefix: str
    attachment_wait: float  # seconds a sheet waits for the attachments it names


def load(root: Path) -> Config:
    """Read ``root/pipeline.toml``; every error names the key and the file."""
    ws = Workspace(root.resolve())
    if not ws.config_file.is_file():
        raise ConfigError(f"{ws.config_file} not found: run `pipeline init` "
                          f"(or `pipeline init --demo`) to create a workspace")
    try:
        data = tomllib.loads(ws.config_file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{ws.config_file}: {exc}") from None
    return _parse(ws, data)


def _parse(ws: Workspace, data: dict) -> Config:
    def section(name: str) -> dict:
        value = data.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{ws.config_file}: [{name}] must be a table")
        return value

    def need(table: dict, key: str, where: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{ws.config_file}: {where}.{key} is required (text)")
        return value.strip()

    def path(value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else ws.root / p

    def key_source(table: dict, where: str) -> KeySource:
        return KeySource(
            pkcs12=path(need(table, "pkcs12", where)),
            passphrase_env=table.get("passphrase_env"),
            passphrase_file=(path(table["passphrase_file"]) if table.get("passphrase_file")
                             else None),
        )

    def signer(table: dict, where: str) -> SignerConfig:
        person = Person(need(table, "name", where), need(table, "position", where))
        return SignerConfig(person, key_source(table, where))

    unit = section("unit")
    director = section("director")
    publisher = section("publisher")
    signing = section("signing")
    office = section("office")
    providers = data.get("providers", [])
    if not isinstance(providers, list):
        raise ConfigError(f"{ws.config_file}: [[providers]] must be an array of tables")
    work_groups = tuple(unit.get("work_groups", ()))
    if not work_groups:
        raise ConfigError(f"{ws.config_file}: unit.work_groups must list at least one work group")
    template = signing.get("template", "templates/approval_form.docx")
    return Config(
        workspace=ws,
        unit=need(unit, "name", "unit"),
        work_groups=work_groups,
        categories=tuple(unit.get("categories", DEFAULT_CATEGORIES)),
        director=signer(director, "director"),
        auto_approve=bool(director.get("auto_approve", False)),
        publisher=Person(need(publisher, "name", "publisher"),
                         need(publisher, "position", "publisher")),
        providers=tuple(signer(p, f"providers[{i}]") for i, p in enumerate(providers)),
        trust_roots=tuple(path(p) for p in signing.get("trust_roots", ())),
        font=path(signing.get("font", str(DEFAULT_FONT))),
        template=path(template),
        office_timeout=float(office.get("timeout", 60)),
        id_prefix=str(unit.get("id_prefix", "REQ")),
        attachment_wait=float(section("watch").get("attachment_wait", 300)),
    )
