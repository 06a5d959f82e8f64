"""The workspace: where things live, and ``pipeline.toml`` read into frozen dataclasses.

Relative paths in the config are relative to the workspace, so a workspace folder can be
moved or shared as a whole.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from pipeline.core.folders import Workspace
from pipeline.core.request import FIELD_NAMES, Person

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
class TokenSource:
    """A key on a PKCS#11 token (USB token, smart card, HSM): the module that drives it, the
    token's label, the key's label and/or ID (CKA_ID), and the environment variable holding
    the PIN. The signer's certificate is the token's certificate with the key's ID (without
    an ID, its label). ``chain`` names PEM files with the CA certificates to embed; without
    them, the other certificates on the token are embedded."""

    module: Path
    token_label: str
    pin_env: str
    key_label: str | None = None
    key_id: bytes | None = None
    chain: tuple[Path, ...] = ()

    def pin(self) -> str:
        try:
            return os.environ[self.pin_env]
        except KeyError:
            raise ConfigError(f"environment variable {self.pin_env} is not set "
                              f"(PIN for token {self.token_label!r})") from None


@dataclass(frozen=True)
class SignerConfig:
    person: Person
    key: KeySource | TokenSource


ACTING_TITLES = ("รักษาราชการแทน", "ปฏิบัติราชการแทน")
MB = 1 << 20
_V = TypeVar("_V")  # the kind of value of a [sheet.*] table


@dataclass(frozen=True)
class ActingDirector:
    """Someone who may approve in the director's place: ``title`` is รักษาราชการแทน or
    ปฏิบัติราชการแทน. ``key`` is the one they sign with, when they have their own."""

    person: Person
    title: str
    key: KeySource | TokenSource | None = None


@dataclass(frozen=True)
class SheetRules:
    """``[sheet]`` in pipeline.toml: what a request sheet and its attachments may be."""

    max_days_past: int = 365  # how old a request date may be
    max_days_future: int = 60  # how far ahead a request date may be
    max_length: tuple[tuple[str, int], ...] = ()  # (defined name, characters): overrides
    max_sheet_bytes: int = 20 * MB  # the .xlsx file itself
    max_unpacked_bytes: int = 100 * MB  # everything in the .xlsx (a zip), unpacked
    max_xml_bytes: int = 10 * MB  # the parts that are parsed (the rest is pictures)
    max_entries: int = 1000  # files inside the .xlsx
    max_attachment_bytes: int = 50 * MB  # each attachment
    max_request_bytes: int = 200 * MB  # all attachments of one request
    acting_directors: tuple[ActingDirector, ...] = ()
    # (name on the sheet, name in that person's certificate) when they differ beyond
    # titles and spacing, e.g. a certificate issued in English
    certificate_names: tuple[tuple[str, str], ...] = ()


LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


@dataclass(frozen=True)
class SigningPolicy:
    """``[signing]``: the PAdES level and where its evidence comes from. ``tsa`` is an RFC 3161
    URL, or ``demo`` for the demo PKI's own authority (in-process, no network); ``revocation``
    is ``online`` (OCSP/CRLs fetched where the certificates point) or ``demo`` (fresh CRLs
    from the demo PKI)."""

    level: str = "B-LTA"
    tsa: str = ""
    tsa_timeout: float = 10.0
    tsa_username: str | None = None
    tsa_password_env: str | None = None
    tsa_retries: int = 2  # more attempts, with backoff, before the request is held
    tsa_client_cert: Path | None = None  # PEM: TLS client certificate (and its key)
    tsa_client_key: Path | None = None  # PEM: the key, when not in tsa_client_cert
    revocation: str = "online"
    demo_pki: Path | None = None  # the demo PKI folder, for tsa/revocation = "demo"


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
    sheet: SheetRules = SheetRules()
    # a step is not started when a workspace folder's disk has less free (faults.low_space)
    min_free_mb: int = 200
    # seconds before the first retry of a held request (doubling after each failure)
    retry_first: float = 30.0
    signing: SigningPolicy = SigningPolicy()
    # the webmaster's key, when the webmaster signs the third block on publication
    publisher_key: KeySource | TokenSource | None = None
    # [verify] max_mb: the largest PDF (or manifest) `pipeline verify` reads
    verify_max_mb: int = 100


def _non_negative_int(ws: Workspace, table: dict, key: str, default: int) -> int:
    value = table.get(key.rsplit(".", 1)[-1], default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{ws.config_file}: {key} must be a whole number, 0 or more")
    return value


def _positive_int(ws: Workspace, table: dict, key: str, default: int) -> int:
    value = table.get(key.rsplit(".", 1)[-1], default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{ws.config_file}: {key} must be a whole number, 1 or more")
    return value


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

    def key_source(table: dict, where: str) -> KeySource | TokenSource:
        if "pkcs12" in table and "pkcs11_module" in table:
            raise ConfigError(f"{ws.config_file}: {where} has both pkcs12 and pkcs11_module: "
                              f"a signer's key is either in a file or on a token")
        if "pkcs11_module" in table:
            return token_source(table, where)
        if "pkcs12" not in table:
            raise ConfigError(f"{ws.config_file}: {where} needs pkcs12 (a PKCS#12 key file) "
                              f"or pkcs11_module (the PKCS#11 module of a USB token)")
        return KeySource(
            pkcs12=path(need(table, "pkcs12", where)),
            passphrase_env=table.get("passphrase_env"),
            passphrase_file=(path(table["passphrase_file"]) if table.get("passphrase_file")
                             else None),
        )

    def token_source(table: dict, where: str) -> TokenSource:
        key_label, key_hex = table.get("key_label"), table.get("key_id")
        if not key_label and not key_hex:
            raise ConfigError(f"{ws.config_file}: {where} needs key_label or key_id to find "
                              f"the key on the token (`pkcs11-tool --list-objects` shows them)")
        try:
            key_id = bytes.fromhex(key_hex.replace(":", "")) if key_hex else None
        except (AttributeError, ValueError):
            raise ConfigError(f"{ws.config_file}: {where}.key_id must be hexadecimal text, "
                              f"e.g. \"01\"") from None
        chain = table.get("chain", [])
        if not isinstance(chain, list) or not all(isinstance(p, str) for p in chain):
            raise ConfigError(f"{ws.config_file}: {where}.chain must be a list of PEM files")
        return TokenSource(
            module=path(need(table, "pkcs11_module", where)),
            token_label=need(table, "token_label", where),
            pin_env=need(table, "pin_env", where),
            key_label=need(table, "key_label", where) if key_label else None,
            key_id=key_id,
            chain=tuple(path(p) for p in chain),
        )

    def signer(table: dict, where: str) -> SignerConfig:
        person = Person(need(table, "name", where), need(table, "position", where))
        return SignerConfig(person, key_source(table, where))

    def sheet_rules(table: dict) -> SheetRules:
        def number(key: str, default: float, scale: int = 1) -> int:
            value = table.get(key, default / scale)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"{ws.config_file}: sheet.{key} must be a positive number")
            return int(value * scale)

        def pairs(key: str, kind: type[_V]) -> tuple[tuple[str, _V], ...]:
            value = table.get(key, {})
            if not isinstance(value, dict) or not all(
                    isinstance(v, kind) and not isinstance(v, bool) for v in value.values()):
                raise ConfigError(f"{ws.config_file}: [sheet.{key}] must map names to "
                                  f"{'numbers' if kind is int else 'text'}")
            return tuple(value.items())

        max_length = pairs("max_length", int)
        unknown = [name for name, _ in max_length if name not in FIELD_NAMES]
        if unknown:
            raise ConfigError(f"{ws.config_file}: sheet.max_length: unknown field "
                              f"{', '.join(unknown)} (known: {', '.join(FIELD_NAMES)})")
        acting = []
        entries = table.get("acting_directors", [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ConfigError(f"{ws.config_file}: [[sheet.acting_directors]] must be an array "
                              f"of tables")
        for i, entry in enumerate(entries):
            where = f"sheet.acting_directors[{i}]"
            title = need(entry, "title", where)
            if title not in ACTING_TITLES:
                raise ConfigError(f"{ws.config_file}: {where}.title must be one of "
                                  f"{', '.join(ACTING_TITLES)}")
            acting.append(ActingDirector(
                Person(need(entry, "name", where), need(entry, "position", where)), title,
                key_source(entry, where) if entry.get("pkcs12") else None))
        d = SheetRules()
        return SheetRules(
            max_days_past=number("max_days_past", d.max_days_past),
            max_days_future=number("max_days_future", d.max_days_future),
            max_length=max_length,
            max_sheet_bytes=number("max_sheet_mb", d.max_sheet_bytes, MB),
            max_unpacked_bytes=number("max_unpacked_mb", d.max_unpacked_bytes, MB),
            max_xml_bytes=number("max_xml_mb", d.max_xml_bytes, MB),
            max_entries=number("max_entries", d.max_entries),
            max_attachment_bytes=number("max_attachment_mb", d.max_attachment_bytes, MB),
            max_request_bytes=number("max_request_mb", d.max_request_bytes, MB),
            acting_directors=tuple(acting),
            certificate_names=pairs("certificate_names", str),
        )

    def signing_policy(table: dict) -> SigningPolicy:
        where = f"{ws.config_file}: signing"
        level = str(table.get("level", SigningPolicy.level))
        if level not in LEVELS:
            raise ConfigError(f"{where}.level must be one of {', '.join(LEVELS)}, not {level!r}")
        tsa = str(table.get("tsa", ""))
        if level != "B-B" and not tsa:
            raise ConfigError(f"{where}.level {level} needs signing.tsa: the URL of an RFC 3161 "
                              f"timestamp authority (or level = \"B-B\" to sign without one)")
        revocation = str(table.get("revocation", SigningPolicy.revocation))
        if revocation not in ("online", "demo"):
            raise ConfigError(f"{where}.revocation must be \"online\" or \"demo\"")
        return SigningPolicy(
            level=level, tsa=tsa, tsa_timeout=float(table.get("tsa_timeout", 10)),
            tsa_username=table.get("tsa_username"),
            tsa_password_env=table.get("tsa_password_env"),
            tsa_retries=int(table.get("tsa_retries", SigningPolicy.tsa_retries)),
            tsa_client_cert=(path(table["tsa_client_cert"]) if table.get("tsa_client_cert")
                             else None),
            tsa_client_key=path(table["tsa_client_key"]) if table.get("tsa_client_key") else None,
            revocation=revocation, demo_pki=path(str(table.get("demo_pki", "demo-pki"))))

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
        min_free_mb=_non_negative_int(ws, section("watch"), "watch.min_free_mb", 200),
        retry_first=float(_non_negative_int(ws, section("watch"), "watch.retry_first", 30)),
        sheet=sheet_rules(section("sheet")),
        signing=signing_policy(signing),
        publisher_key=(key_source(publisher, "publisher")
                       if "pkcs12" in publisher or "pkcs11_module" in publisher else None),
        verify_max_mb=_positive_int(ws, section("verify"), "verify.max_mb", 100),
    )
