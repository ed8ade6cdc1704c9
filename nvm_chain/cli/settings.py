"""Global options and their resolution: flags, then ``NVM_*`` environment, then the profile file (CLI layer).

The profile file is ``$NVM_CONFIG`` or ``~/.config/nvm-chain/config.json``::

    {"default": "sepolia", "profiles": {"sepolia": {"network": "base-sepolia", "account": "me"}}}

It holds references (network, URLs, keystore account names), never keys or passwords.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import click

# option name → (flag declarations, help); every option defaults to None so that precedence can be resolved
_OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "network": (("--network",), {"help": "base-sepolia, base, local (with --rpc-url and --address-book) or "
                                          "embedded (a fresh in-process chain). Env NVM_NETWORK."}),
    "rpc_url": (("--rpc-url",), {"multiple": True, "help": "JSON-RPC endpoint; repeat it for fallbacks (tried in "
                                                          "order). Env NVM_RPC_URL, comma-separated."}),
    "address_book": (("--address-book",), {"help": "Deployment file {chainId, version, contracts}. "
                                                    "Env NVM_ADDRESS_BOOK."}),
    "profile": (("--profile",), {"help": "Profile of the config file. Env NVM_PROFILE."}),
    "format": (("--format", "-f"), {"type": click.Choice(["table", "json"]), "help": "Output format. Env NVM_FORMAT."}),
    "account": (("--account",), {"help": "Keystore account name (see `accounts`). Env NVM_ACCOUNT. "
                                          "A raw key is read only from NVM_PRIVATE_KEY."}),
    "password_file": (("--password-file",), {"type": click.Path(dir_okay=False),
                                             "help": "File holding the keystore password."}),
    "dry_run": (("--dry-run",), {"is_flag": True, "default": None,
                                 "help": "Simulate and print the decoded outcome; send nothing."}),
    "yes": (("--yes", "-y"), {"is_flag": True, "default": None,
                              "help": "Confirm spending without a prompt (required when stdin is not a terminal)."}),
    "max_amount": (("--max-amount",), {"help": "Refuse to spend more than this many base units in one command."}),
    "receipt_timeout": (("--receipt-timeout",), {"type": click.FloatRange(min=0),
                                                 "help": "Seconds a write waits for its receipt, retries included, "
                                                         "before exiting 5 (pending, hash printed). Default 120. "
                                                         "Env NVM_RECEIPT_TIMEOUT."}),
    "new": (("--new",), {"is_flag": True, "default": None,
                         "help": "Send a write even if the same one from an earlier run is still pending."}),
    "debug": (("--debug",), {"is_flag": True, "default": None, "help": "Show tracebacks."}),
}

_ENV = {"network": "NVM_NETWORK", "rpc_url": "NVM_RPC_URL", "address_book": "NVM_ADDRESS_BOOK",
        "profile": "NVM_PROFILE", "format": "NVM_FORMAT", "account": "NVM_ACCOUNT", "max_amount": "NVM_MAX_AMOUNT",
        "receipt_timeout": "NVM_RECEIPT_TIMEOUT"}
_PROFILE_KEYS = ("network", "rpc_url", "address_book", "account", "format", "max_amount")


def global_options(command):
    """Attach the global options to a click group or command (they may be given on either)."""
    for name, (decls, kwargs) in reversed(list(_OPTIONS.items())):
        command = click.option(*decls, name, **{"default": None, **kwargs})(command)
    return command


@dataclass(frozen=True)
class Settings:
    """Resolved global options."""

    network: str = "base-sepolia"
    rpc_url: tuple[str, ...] | None = None
    address_book: str | None = None
    profile: str | None = None
    format: str | None = None  # None: the command's default (a table, or JSON for config helpers)
    account: str | None = None
    password_file: str | None = None
    dry_run: bool = False
    yes: bool = False
    max_amount: int | None = None
    receipt_timeout: float = 120.0
    new: bool = False
    debug: bool = False


def config_path(environ: os._Environ | dict = os.environ) -> Path:
    """Where the profile file lives."""
    if environ.get("NVM_CONFIG"):
        return Path(environ["NVM_CONFIG"])
    base = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "nvm-chain" / "config.json"


def _profile(name: str | None, environ) -> dict[str, Any]:
    """The options of profile ``name`` (or the file's default profile).

    Raises:
        ConfigurationError: the file is missing while a profile is asked for, is not a JSON object of
            profiles, or lacks the profile (exit 7).
    """
    from nvm_chain.errors import ConfigurationError, shown

    path = config_path(environ)
    if not path.exists():
        if name:
            raise ConfigurationError(f"profile {shown(name)} requested but {path} does not exist")
        return {}
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"{path} is not a readable JSON file: {exc}") from None
    if not isinstance(config, dict) or not isinstance(config.get("profiles", {}), dict):
        raise ConfigurationError(f"{path} must be a JSON object with a \"profiles\" object")
    name = name or config.get("default")
    if not name:
        return {}
    profiles = config.get("profiles", {})
    if name not in profiles or not isinstance(profiles[name], dict):
        raise ConfigurationError(f"no profile {shown(name)} in {path} "
                                 f"(have: {', '.join(sorted(profiles)) or 'none'})")
    return {k: v for k, v in profiles[name].items() if k in _PROFILE_KEYS}


def resolve(ctx: click.Context, environ=os.environ) -> Settings:
    """Merge the options given on every level of ``ctx`` (innermost wins), the environment and the profile."""
    given: dict[str, Any] = {}
    for level in reversed(_chain(ctx)):
        for name in _OPTIONS:
            if level.params.get(name) not in (None, ()):
                given[name] = level.params[name]
    for name, var in _ENV.items():
        if name not in given and environ.get(var):
            given[name] = environ[var]
    profile = _profile(given.get("profile"), environ)
    for name, value in profile.items():
        given.setdefault(name, value)
    if "max_amount" in given:
        given["max_amount"] = _uint(given["max_amount"], "--max-amount")
    if "rpc_url" in given:
        given["rpc_url"] = _urls(given["rpc_url"])
    if "receipt_timeout" in given:
        given["receipt_timeout"] = _seconds(given["receipt_timeout"], "--receipt-timeout")
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in given.items() if k in known})


def _chain(ctx: click.Context | None) -> list[click.Context]:
    out = []
    while ctx is not None:
        out.append(ctx)
        ctx = ctx.parent
    return out


def _uint(value: Any, what: str) -> int:
    from nvm_chain.errors import shown

    text = str(value).strip()
    if not text.isdigit():
        raise click.UsageError(f"{what} must be a whole number of base units, got {shown(value)}")
    return int(text)


def _seconds(value: Any, what: str) -> float:
    from nvm_chain.errors import shown

    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds >= 0:
        raise click.UsageError(f"{what} must be a number of seconds, got {shown(value)}")
    return seconds


def _urls(value: Any) -> tuple[str, ...]:
    """RPC URLs from repeated flags, a comma-separated environment value or a profile string or list."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return tuple(u.strip() for item in items for u in str(item).split(",") if u.strip())
