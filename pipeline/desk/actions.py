"""Account changes and sign-ins, each with its audit entry: the one implementation that the
command line (``pipeline user …``) and the desk's pages call, so that neither can change an
account without the log saying who did it, from where.

The entries name the account changed and the role or person given, never a password or a
code; a failed sign-in names the login typed only when it is an account's (people type
their password into the login field, and the log must not keep it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from pipeline.desk.accounts import Account, Accounts, Role, SignInRefused
from pipeline.desk.audit_log import Action, AuditLog

_log = logging.getLogger(__name__)
UNKNOWN_LOGIN = "?"  # a failed sign-in's account when the login typed is no account's


@dataclass(frozen=True)
class Actor:
    """Who makes a change and from where: a desk account and its client address, or the
    command line (``cli:<OS user>``, ``local``)."""

    account: str
    address: str


def add(accounts: Accounts, log: AuditLog, by: Actor, now: datetime, login: str,
        role: Role | str, password: str, person: str = "", email: str = "") -> Account:
    account = accounts.add(login, role, password, person, email, now=now)
    _log.info("account added: %s (%s) by %s", account.login, account.role, by.account)
    log.append(now, by.account, by.address, Action.ACCOUNT_ADD,
               detail=" ".join(filter(None, (account.login, account.role, account.person,
                                             account.email))))
    return account


def set_password(accounts: Accounts, log: AuditLog, by: Actor, now: datetime, login: str,
                 password: str) -> None:
    accounts.set_password(login, password)
    _log.info("password changed: %s by %s", login.strip().lower(), by.account)
    log.append(now, by.account, by.address, Action.ACCOUNT_PASSWD, detail=login.strip().lower())


def disable(accounts: Accounts, log: AuditLog, by: Actor, now: datetime, login: str) -> None:
    accounts.disable(login)
    _log.info("account disabled: %s by %s", login.strip().lower(), by.account)
    log.append(now, by.account, by.address, Action.ACCOUNT_DISABLE,
               detail=login.strip().lower())


def confirm_totp(accounts: Accounts, log: AuditLog, by: Actor, now: datetime, login: str,
                 code: str) -> None:
    accounts.confirm_totp(login, code, now)
    _log.info("second factor set up: %s by %s", login.strip().lower(), by.account)
    log.append(now, by.account, by.address, Action.ACCOUNT_TOTP, detail=login.strip().lower())


def sign_in(accounts: Accounts, log: AuditLog, login: str, password: str, code: str | None,
            address: str, now: datetime) -> Account:
    """:meth:`Accounts.sign_in`, recorded: succeeded, or failed with the kind of refusal."""
    try:
        account = accounts.sign_in(login, password, code, address, now)
    except SignInRefused as refused:
        known = accounts.get(login)
        log.append(now, known.login if known else UNKNOWN_LOGIN, address,
                   Action.SIGN_IN_FAILED, detail=_kind(refused, code))
        raise
    log.append(now, account.login, address, Action.SIGN_IN)
    return account


def _kind(refused: SignInRefused, code: str | None) -> str:
    """What kind of refusal, in words that hold nothing typed."""
    if refused.disabled:  # its user was told "wrong login or password", as anyone is
        return "account disabled (the password was right)"
    if refused.retry_at:
        return f"back-off until {refused.retry_at.isoformat(timespec='seconds')}"
    if refused.needs_totp_setup:
        return "no second factor set up"
    if refused.needs_code:
        return "one-time code wrong" if code and code.strip() else "one-time code asked"
    return "refused"
