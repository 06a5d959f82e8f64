"""The workspace: where things live, and ``pipeline.toml`` read into frozen dataclasses.

Relative paths in the config are relative to the workspace, so a workspace folder can be
moved or shared as a whole.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from pipeline.core.errors import PipelineError
from pipeline.core.folders import Workspace
from pipeline.core.request import FIELD_NAMES, Person
from pipeline.settings import notify as notify_settings
from pipeline.settings import obligations as obligations_mod
from pipeline.settings import web as web_settings

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


class ConfigError(PipelineError):
    """The workspace or its pipeline.toml is missing or wrong; the message says how to fix it."""


@dataclass(frozen=True)
class KeySource:
    """Where a PKCS#12 key and its passphrase come from. The passphrase itself is never
    stored in the config: only the name of an environment variable or of a file."""

    pkcs12: Path
    passphrase_env: str | None = None
    passphrase_file: Path | None = None
    # typed by the signer for one action (a prompt, the desk's form): kept in this object
    # only, never in the environment, a file or a repr
    given: str | None = field(default=None, repr=False, compare=False)

    def secret_needed(self) -> str | None:
        """What must be typed to use the key when the configuration names no source for
        its passphrase (a prompt's words), else None."""
        if self.given is None and not (self.passphrase_env or self.passphrase_file):
            return f"passphrase of {self.pkcs12.name}"
        return None

    def passphrase(self) -> bytes | None:
        if self.given is not None:
            return self.given.encode()
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
    given: str | None = field(default=None, repr=False, compare=False)  # as KeySource.given

    def secret_needed(self) -> str | None:
        """As :meth:`KeySource.secret_needed`: the PIN, when its variable is not set."""
        if self.given is None and self.pin_env not in os.environ:
            return f"PIN of token {self.token_label}"
        return None

    def pin(self) -> str:
        if self.given is not None:
            return self.given
        try:
            return os.environ[self.pin_env]
        except KeyError:
            raise ConfigError(f"environment variable {self.pin_env} is not set "
                              f"(PIN for token {self.token_label!r})") from None


@dataclass(frozen=True)
class SignerConfig:
    person: Person
    key: KeySource | TokenSource

    def secret_needed(self) -> str | None:
        return self.key.secret_needed()

    def with_secret(self, secret: str) -> SignerConfig:
        """This signer with the passphrase or PIN typed for one action."""
        return replace(self, key=replace(self.key, given=secret))


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
    # [notify]: notices by e-mail, webhook and LINE (pipeline.settings.notify)
    notify: notify_settings.NotifySettings = notify_settings.NotifySettings()
    # [[obligations]]: what must be published, by whom, when (settings/obligations.py)
    obligations: obligations_mod.Obligations = obligations_mod.Obligations()
    web: web_settings.WebSettings = web_settings.WebSettings()  # [web]: the web desk


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
    return _Reader(ws, data).config()


class _Reader:
    """Reads pipeline.toml's tables into the dataclasses above, one method per table; every
    error names the file and the key."""

    def __init__(self, ws: Workspace, data: dict) -> None:
        self.ws = ws
        self.data = data

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self.ws.config_file}: {message}")

    def section(self, name: str) -> dict:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise self.fail(f"[{name}] must be a table")
        return value

    def need(self, table: dict, key: str, where: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{key} is required (text)")
        return value.strip()

    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.ws.root / p

    def key_source(self, table: dict, where: str) -> KeySource | TokenSource:
        if "pkcs12" in table and "pkcs11_module" in table:
            raise self.fail(f"{where} has both pkcs12 and pkcs11_module: a signer's key is "
                            f"either in a file or on a token")
        if "pkcs11_module" in table:
            return self.token_source(table, where)
        if "pkcs12" not in table:
            raise self.fail(f"{where} needs pkcs12 (a PKCS#12 key file) or pkcs11_module "
                            f"(the PKCS#11 module of a USB token)")
        return KeySource(
            pkcs12=self.path(self.need(table, "pkcs12", where)),
            passphrase_env=table.get("passphrase_env"),
            passphrase_file=(self.path(table["passphrase_file"])
                             if table.get("passphrase_file") else None),
        )

    def token_source(self, table: dict, where: str) -> TokenSource:
        key_label, key_hex = table.get("key_label"), table.get("key_id")
        if not key_label and not key_hex:
            raise self.fail(f"{where} needs key_label or key_id to find the key on the token "
                            f"(`pkcs11-tool --list-objects` shows them)")
        try:
            key_id = bytes.fromhex(key_hex.replace(":", "")) if key_hex else None
        except (AttributeError, ValueError):
            raise self.fail(f"{where}.key_id must be hexadecimal text, e.g. \"01\"") from None
        chain = table.get("chain", [])
        if not isinstance(chain, list) or not all(isinstance(p, str) for p in chain):
            raise self.fail(f"{where}.chain must be a list of PEM files")
        return TokenSource(
            module=self.path(self.need(table, "pkcs11_module", where)),
            token_label=self.need(table, "token_label", where),
            pin_env=self.need(table, "pin_env", where),
            key_label=self.need(table, "key_label", where) if key_label else None,
            key_id=key_id,
            chain=tuple(self.path(p) for p in chain),
        )

    def signer(self, table: dict, where: str) -> SignerConfig:
        person = Person(self.need(table, "name", where), self.need(table, "position", where))
        return SignerConfig(person, self.key_source(table, where))

    def number(self, table: dict, key: str, default: float, scale: int = 1) -> int:
        value = table.get(key, default / scale)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(f"sheet.{key} must be a positive number")
        return int(value * scale)

    def pairs(self, table: dict, key: str, kind: type[_V]) -> tuple[tuple[str, _V], ...]:
        value = table.get(key, {})
        if not isinstance(value, dict) or not all(
                isinstance(v, kind) and not isinstance(v, bool) for v in value.values()):
            raise self.fail(f"[sheet.{key}] must map names to "
                            f"{'numbers' if kind is int else 'text'}")
        return tuple(value.items())

    def acting_directors(self, table: dict) -> tuple[ActingDirector, ...]:
        entries = table.get("acting_directors", [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise self.fail("[[sheet.acting_directors]] must be an array of tables")
        acting = []
        for i, entry in enumerate(entries):
            where = f"sheet.acting_directors[{i}]"
            title = self.need(entry, "title", where)
            if title not in ACTING_TITLES:
                raise self.fail(f"{where}.title must be one of {', '.join(ACTING_TITLES)}")
            acting.append(ActingDirector(
                Person(self.need(entry, "name", where), self.need(entry, "position", where)),
                title, self.key_source(entry, where) if entry.get("pkcs12") else None))
        return tuple(acting)

    def sheet_rules(self, table: dict) -> SheetRules:
        max_length = self.pairs(table, "max_length", int)
        unknown = [name for name, _ in max_length if name not in FIELD_NAMES]
        if unknown:
            raise self.fail(f"sheet.max_length: unknown field {', '.join(unknown)} "
                            f"(known: {', '.join(FIELD_NAMES)})")
        d = SheetRules()
        return SheetRules(
            max_days_past=self.number(table, "max_days_past", d.max_days_past),
            max_days_future=self.number(table, "max_days_future", d.max_days_future),
            max_length=max_length,
            max_sheet_bytes=self.number(table, "max_sheet_mb", d.max_sheet_bytes, MB),
            max_unpacked_bytes=self.number(table, "max_unpacked_mb", d.max_unpacked_bytes, MB),
            max_xml_bytes=self.number(table, "max_xml_mb", d.max_xml_bytes, MB),
            max_entries=self.number(table, "max_entries", d.max_entries),
            max_attachment_bytes=self.number(table, "max_attachment_mb",
                                             d.max_attachment_bytes, MB),
            max_request_bytes=self.number(table, "max_request_mb", d.max_request_bytes, MB),
            acting_directors=self.acting_directors(table),
            certificate_names=self.pairs(table, "certificate_names", str),
        )

    def signing_policy(self, table: dict) -> SigningPolicy:
        level = str(table.get("level", SigningPolicy.level))
        if level not in LEVELS:
            raise self.fail(f"signing.level must be one of {', '.join(LEVELS)}, not {level!r}")
        tsa = str(table.get("tsa", ""))
        if level != "B-B" and not tsa:
            raise self.fail(f"signing.level {level} needs signing.tsa: the URL of an RFC 3161 "
                            f"timestamp authority (or level = \"B-B\" to sign without one)")
        revocation = str(table.get("revocation", SigningPolicy.revocation))
        if revocation not in ("online", "demo"):
            raise self.fail("signing.revocation must be \"online\" or \"demo\"")
        optional = {key: self.path(table[key]) if table.get(key) else None
                    for key in ("tsa_client_cert", "tsa_client_key")}
        return SigningPolicy(
            level=level, tsa=tsa, tsa_timeout=float(table.get("tsa_timeout", 10)),
            tsa_username=table.get("tsa_username"),
            tsa_password_env=table.get("tsa_password_env"),
            tsa_retries=int(table.get("tsa_retries", SigningPolicy.tsa_retries)),
            tsa_client_cert=optional["tsa_client_cert"],
            tsa_client_key=optional["tsa_client_key"],
            revocation=revocation, demo_pki=self.path(str(table.get("demo_pki", "demo-pki"))))

    def config(self) -> Config:
        ws = self.ws
        unit = self.section("unit")
        director = self.section("director")
        publisher = self.section("publisher")
        signing = self.section("signing")
        office = self.section("office")
        watch = self.section("watch")
        providers = self.data.get("providers", [])
        if not isinstance(providers, list):
            raise self.fail("[[providers]] must be an array of tables")
        work_groups = tuple(unit.get("work_groups", ()))
        if not work_groups:
            raise self.fail("unit.work_groups must list at least one work group")
        categories = tuple(unit.get("categories", DEFAULT_CATEGORIES))
        return Config(
            workspace=ws,
            unit=self.need(unit, "name", "unit"),
            work_groups=work_groups,
            categories=categories,
            director=self.signer(director, "director"),
            auto_approve=bool(director.get("auto_approve", False)),
            publisher=Person(self.need(publisher, "name", "publisher"),
                             self.need(publisher, "position", "publisher")),
            providers=tuple(self.signer(p, f"providers[{i}]") for i, p in enumerate(providers)),
            trust_roots=tuple(self.path(p) for p in signing.get("trust_roots", ())),
            font=self.path(signing.get("font", str(DEFAULT_FONT))),
            template=self.path(signing.get("template", "templates/approval_form.docx")),
            office_timeout=float(office.get("timeout", 60)),
            id_prefix=str(unit.get("id_prefix", "REQ")),
            attachment_wait=float(watch.get("attachment_wait", 300)),
            min_free_mb=_non_negative_int(ws, watch, "watch.min_free_mb", 200),
            retry_first=float(_non_negative_int(ws, watch, "watch.retry_first", 30)),
            sheet=self.sheet_rules(self.section("sheet")),
            signing=self.signing_policy(signing),
            publisher_key=(self.key_source(publisher, "publisher")
                           if "pkcs12" in publisher or "pkcs11_module" in publisher else None),
            verify_max_mb=_positive_int(ws, self.section("verify"), "verify.max_mb", 100),
            notify=notify_settings.read(self.data, self.fail, ws.root),
            obligations=obligations_mod.read(self.data, work_groups=work_groups,
                                             categories=categories, fail=self.fail),
            web=web_settings.read(self.section("web"), self.fail),
        )
