"""Accounts: local key storage; no network.

Private keys are kept in encrypted Ethereum v3 keystore files (eth-account ``Account.encrypt``, scrypt
KDF, aes-128-ctr + MAC), one ``<name>.json`` per account, in a keystore directory:

1. the ``directory`` argument, else
2. ``$NVM_KEYSTORE_DIR``, else
3. ``$XDG_CONFIG_HOME/nvm-chain/keystores`` (``~/.config/nvm-chain/keystores`` when XDG_CONFIG_HOME is unset).

File safety (docs/keys.md#files): the directory is created 0700; keystores are written atomically (a
temp file in the same directory, mode 0600 fixed before the first byte is written, fsync, then linked into
place so an existing keystore is never overwritten); a decrypted key never touches the disk; loading
refuses a keystore that is group- or world-accessible. Mode checks are POSIX-only (skipped on Windows).

Secrets: this module never prompts (callers pass the password, see :func:`resolve_password`), and no key,
password or decrypted keystore content appears in a log record, an exception message or a ``repr``.
Third-party exceptions are re-raised ``from None`` so their text (which may quote inputs) is dropped.

scrypt cost: the default ``n = 2**18`` (eth-account's) costs about a second and 256 MiB per encrypt or
decrypt. ``scrypt_n=`` or ``$NVM_KEYSTORE_SCRYPT_N`` lowers it for tests and automation; a lower ``n``
makes an offline password-guessing attack on a stolen keystore proportionally cheaper, so leave it at the
default for keys that hold real funds. The ``n`` is stored in each file, so loading needs no setting.

Environment variables: ``NVM_KEYSTORE_DIR``, ``NVM_KEYSTORE_PASSWORD``, ``NVM_KEYSTORE_PASSWORD_FILE``,
``NVM_KEYSTORE_SCRYPT_N`` and ``NVM_PRIVATE_KEY`` (a raw key, for automation only) are read here;
``NVM_KEYSTORE`` (a keystore path) and ``NVM_ACCOUNT`` (an account name) are exported as constants for the
CLI, which passes their value to :func:`load_signer`.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_keys import keys
from eth_utils import to_checksum_address

from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.errors import (
    AccountExistsError,
    AccountNotFoundError,
    InsecureFileError,
    KeystoreError,
    PasswordUnavailableError,
    ValidationError,
    WrongPasswordError,
)

__all__ = [
    "DEFAULT_SCRYPT_N",
    "ENV_ACCOUNT",
    "ENV_KEYSTORE",
    "ENV_KEYSTORE_DIR",
    "ENV_PASSWORD",
    "ENV_PASSWORD_FILE",
    "ENV_PRIVATE_KEY",
    "ENV_SCRYPT_N",
    "AccountExistsError",
    "AccountNotFoundError",
    "InsecureFileError",
    "KeystoreAccount",
    "KeystoreError",
    "PasswordUnavailableError",
    "WrongPasswordError",
    "create_account",
    "import_account",
    "keystore_dir",
    "list_accounts",
    "load_signer",
    "read_password_file",
    "resolve_password",
    "signer_from_env",
]

log = logging.getLogger(__name__)

ENV_KEYSTORE_DIR = "NVM_KEYSTORE_DIR"
ENV_KEYSTORE = "NVM_KEYSTORE"
ENV_ACCOUNT = "NVM_ACCOUNT"
ENV_PASSWORD = "NVM_KEYSTORE_PASSWORD"
ENV_PASSWORD_FILE = "NVM_KEYSTORE_PASSWORD_FILE"
ENV_PRIVATE_KEY = "NVM_PRIVATE_KEY"
ENV_SCRYPT_N = "NVM_KEYSTORE_SCRYPT_N"

DEFAULT_SCRYPT_N = 2**18
_MAX_SCRYPT_N = 2**20  # 1 GiB of scrypt memory at r=8; anything above is a typo, not a choice
_MAX_FILE_BYTES = 1 << 20  # a keystore or password file is a few hundred bytes

_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_KEY_RE = re.compile(r"(?:0x)?[0-9a-fA-F]{64}")
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_POSIX = os.name == "posix"


@dataclass(frozen=True)
class KeystoreAccount:
    """One stored account: its name, checksum address and keystore path (no key material)."""

    name: str
    address: str
    path: Path


# --- directory and names ---------------------------------------------------------------------------


def keystore_dir(directory: str | os.PathLike | None = None, *, environ: Mapping[str, str] | None = None) -> Path:
    """Return the keystore directory (argument, then $NVM_KEYSTORE_DIR, then the XDG config default).

    Does not create it.
    """
    env = os.environ if environ is None else environ
    if directory is not None:
        return Path(directory).expanduser()
    if env.get(ENV_KEYSTORE_DIR):
        return Path(env[ENV_KEYSTORE_DIR]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "nvm-chain" / "keystores"


def _check_name(name: str) -> str:
    """Raises: ValidationError: the name is not 1-64 of [A-Za-z0-9_.-] starting with [A-Za-z0-9_], or ends in .json."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name.lower().endswith(".json"):
        raise ValidationError(
            f"invalid account name {name!r}: use 1-64 characters from A-Z a-z 0-9 _ . - "
            "(not starting with '.', not ending in '.json')"
        )
    return name


def _ensure_dir(directory: Path) -> None:
    """Create the keystore directory 0700 (parents with default mode); warn if an existing one is open to others."""
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700, exist_ok=True)
        if _POSIX:
            os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
        log.debug("created keystore directory %s", directory)
    elif not directory.is_dir():
        raise KeystoreError(f"keystore directory {directory} exists and is not a directory")
    elif _POSIX and directory.stat().st_mode & 0o077:
        log.warning("keystore directory %s is accessible to group/others; fix with: chmod 700 %s", directory, directory)


# --- scrypt cost -----------------------------------------------------------------------------------


def _scrypt_n(scrypt_n: int | None) -> int:
    """Resolve the scrypt N: argument, then $NVM_KEYSTORE_SCRYPT_N, then DEFAULT_SCRYPT_N.

    Raises:
        ValidationError: not a power of two in [2, 2**20].
    """
    source = "scrypt_n"
    value: object = scrypt_n
    if value is None and os.environ.get(ENV_SCRYPT_N):
        source, raw = ENV_SCRYPT_N, os.environ[ENV_SCRYPT_N].strip()
        try:
            value = int(raw, 0)
        except ValueError:
            raise ValidationError(f"{ENV_SCRYPT_N} must be an integer power of two, got {raw!r}") from None
    if value is None:
        return DEFAULT_SCRYPT_N
    if (isinstance(value, bool) or not isinstance(value, int)
            or value < 2 or value > _MAX_SCRYPT_N or value & (value - 1)):
        raise ValidationError(f"{source} must be a power of two between 2 and 2**20, got {value!r}")
    if value < DEFAULT_SCRYPT_N:
        log.debug("encrypting with scrypt n=%d (below the default %d: weaker protection)", value, DEFAULT_SCRYPT_N)
    return value


# --- file helpers ----------------------------------------------------------------------------------


def _mode_fix(path: Path, st_mode: int, what: str) -> None:
    """Raises: InsecureFileError: group or other permission bits are set (POSIX only)."""
    if _POSIX and st_mode & 0o077:
        raise InsecureFileError(
            f"{what} {path} is accessible to group/others (mode {st_mode & 0o777:03o}); "
            f"refusing to use it. Fix with: chmod 600 {path}"
        )


def _read_private_file(path: Path, what: str) -> bytes:
    """Read a small file only after checking (on the open descriptor) that it is private to its owner.

    Raises:
        AccountNotFoundError: the file does not exist.
        InsecureFileError: the file is group/world-accessible.
        KeystoreError: not a regular file, too large, or unreadable.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise AccountNotFoundError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise KeystoreError(f"cannot open {what} {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not _is_regular(st.st_mode):
            raise KeystoreError(f"{what} {path} is not a regular file")
        _mode_fix(path, st.st_mode, what)
        if st.st_size > _MAX_FILE_BYTES:
            raise KeystoreError(f"{what} {path} is too large ({st.st_size} bytes)")
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise KeystoreError(f"cannot read {what} {path}: {exc.strerror}") from None
    finally:
        os.close(fd)


def _is_regular(st_mode: int) -> bool:
    return stat.S_ISREG(st_mode)


def _atomic_write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``path`` atomically, mode 0600, never replacing an existing file.

    The temp file is created 0600 (O_EXCL) and fchmod'ed to 0600 before any byte is written, fsync'ed, then
    hard-linked to ``path`` (fails if ``path`` exists); filesystems without hard links fall back to a
    checked ``os.replace``. On any failure the temp file is removed.

    Raises:
        AccountExistsError: ``path`` already exists.
        KeystoreError: the write failed.
    """
    directory = path.parent
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    created = False
    try:
        fd = os.open(tmp, flags, 0o600)
        created = True
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)  # exact mode before any key material, whatever the umask
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise AccountExistsError(f"keystore {path} already exists") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            if path.exists():
                raise AccountExistsError(f"keystore {path} already exists") from None
            os.replace(tmp, path)
        _fsync_dir(directory)
    except KeystoreError:
        raise
    except OSError as exc:
        raise KeystoreError(f"could not write keystore {path}: {exc.strerror or type(exc).__name__}") from None
    finally:
        if created:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass


def _fsync_dir(directory: Path) -> None:
    """Best effort: persist the new directory entry (the file itself is already fsync'ed)."""
    if not _POSIX:
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _stored_address(doc: object) -> str | None:
    """The checksum address recorded in a keystore JSON document, or None."""
    if not isinstance(doc, dict) or not isinstance(doc.get("address"), str):
        return None
    try:
        return to_checksum_address("0x" + doc["address"].lower().removeprefix("0x"))
    except (ValueError, TypeError):
        return None


# --- accounts --------------------------------------------------------------------------------------


def list_accounts(directory: str | os.PathLike | None = None) -> list[KeystoreAccount]:
    """List stored accounts sorted by name; reads only the public ``address`` field, never decrypts.

    A missing directory lists as empty; files that are not keystore JSON are skipped with a warning.
    """
    root = keystore_dir(directory)
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.glob("*.json")):
        name = path.stem
        if name.startswith(".") or not path.is_file():
            continue
        try:
            address = _stored_address(json.loads(path.read_bytes()[:_MAX_FILE_BYTES]))
        except (OSError, ValueError):
            address = None
        if address is None:
            log.warning("skipping %s: not a keystore file with an address", path)
            continue
        found.append(KeystoreAccount(name=name, address=address, path=path))
    return found


def create_account(
    name: str, password: str, directory: str | os.PathLike | None = None, *, scrypt_n: int | None = None
) -> KeystoreAccount:
    """Generate a new random key and store it encrypted as ``<name>.json``.

    Raises:
        ValidationError: bad name, password not a str, or bad scrypt_n / $NVM_KEYSTORE_SCRYPT_N.
        AccountExistsError: the name is taken.
        KeystoreError: encryption or the write failed.
    """
    while True:
        key = secrets.token_bytes(32)
        if 0 < int.from_bytes(key, "big") < _SECP256K1_N:
            break
    return _store(name, key, password, directory, scrypt_n)


def import_account(
    name: str,
    private_key: str | bytes,
    password: str,
    directory: str | os.PathLike | None = None,
    *,
    scrypt_n: int | None = None,
) -> KeystoreAccount:
    """Store an existing key (32 bytes, or 64 hex chars with optional 0x) encrypted as ``<name>.json``.

    Raises:
        ValidationError: bad name, malformed key (the message omits it), password not a str, or bad scrypt_n.
        AccountExistsError: the name is taken, or the address is already stored under another name (named).
        KeystoreError: encryption or the write failed.
    """
    if isinstance(private_key, str):
        text = private_key.strip()
        if not _KEY_RE.fullmatch(text):
            raise ValidationError(
                "invalid private key (expected 32 bytes as 64 hex characters, optionally 0x-prefixed)")
        key = bytes.fromhex(text.removeprefix("0x"))
    elif isinstance(private_key, (bytes, bytearray, memoryview)) and len(private_key) == 32:
        key = bytes(private_key)
    else:
        raise ValidationError("invalid private key (expected 32 bytes as 64 hex characters, optionally 0x-prefixed)")
    if not 0 < int.from_bytes(key, "big") < _SECP256K1_N:
        raise ValidationError("invalid private key (outside the secp256k1 range)")
    return _store(name, key, password, directory, scrypt_n)


def _store(name: str, key: bytes, password: str, directory, scrypt_n: int | None) -> KeystoreAccount:
    _check_name(name)
    if not isinstance(password, str):
        raise ValidationError("password must be a str")
    n = _scrypt_n(scrypt_n)
    root = keystore_dir(directory)
    path = root / f"{name}.json"
    address = to_checksum_address(keys.PrivateKey(key).public_key.to_canonical_address())
    for acct in list_accounts(root):
        if acct.name == name:
            raise AccountExistsError(f"account {name!r} already exists ({acct.path})")
        if acct.address == address:
            raise AccountExistsError(f"address {address} is already stored as account {acct.name!r} ({acct.path})")
    if path.exists():
        raise AccountExistsError(f"account {name!r} already exists ({path})")
    try:
        doc = Account.encrypt(key, password, kdf="scrypt", iterations=n)
    except Exception as exc:  # noqa: BLE001 - any failure becomes one typed error that names only the exception type
        raise KeystoreError(f"could not encrypt the key for account {name!r}: {type(exc).__name__}") from None
    data = json.dumps(doc, indent=2).encode() + b"\n"
    del doc
    _ensure_dir(root)
    _atomic_write_new(path, data)
    log.info("stored account %s (%s) in %s", name, address, path)
    return KeystoreAccount(name=name, address=address, path=path)


def _keystore_path(name_or_path: str | os.PathLike, directory) -> tuple[Path, bool]:
    """Map an account name or a keystore path to a path; the flag says whether it was a name.

    A ``Path``, or a string containing a path separator or ending in ``.json``, is a path; any other
    string is an account name in the keystore directory.
    """
    if isinstance(name_or_path, os.PathLike):
        return Path(name_or_path).expanduser(), False
    text = str(name_or_path)
    seps = [os.sep] + ([os.altsep] if os.altsep else [])
    if any(s in text for s in seps) or text.lower().endswith(".json") or text.startswith("~"):
        return Path(text).expanduser(), False
    return keystore_dir(directory) / f"{_check_name(text)}.json", True


def load_signer(
    name_or_path: str | os.PathLike, password: str, directory: str | os.PathLike | None = None
) -> LocalSigner:
    """Decrypt a keystore (by account name or file path) and return a :class:`LocalSigner`.

    Raises:
        ValidationError: the value is neither a valid account name nor a path.
        AccountNotFoundError: no such account or file.
        InsecureFileError: the keystore is group- or world-accessible (message gives the chmod fix).
        WrongPasswordError: the password does not decrypt it.
        KeystoreError: not a valid v3 keystore, or its stored address does not match the decrypted key.
    """
    path, by_name = _keystore_path(name_or_path, directory)
    if not isinstance(password, str):
        raise ValidationError("password must be a str")
    what = "keystore"
    try:
        raw = _read_private_file(path, what)
    except AccountNotFoundError:
        if by_name:
            raise AccountNotFoundError(f"no account named {path.stem!r} in {path.parent}") from None
        raise
    try:
        doc = json.loads(raw)
        if not isinstance(doc, dict) or ("crypto" not in doc and "Crypto" not in doc):
            raise ValueError
    except ValueError:
        raise KeystoreError(f"{path} is not a keystore JSON file") from None
    del raw
    try:
        key = bytes(Account.decrypt(doc, password))
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise WrongPasswordError(f"wrong password for keystore {path}") from None
        raise KeystoreError(f"{path} is not a valid v3 keystore ({type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - a malformed keystore fails in many ways; none may echo its content
        raise KeystoreError(f"{path} is not a valid v3 keystore ({type(exc).__name__})") from None
    signer = LocalSigner(key)
    del key
    stored = _stored_address(doc)
    if stored is not None and stored != signer.address:
        raise KeystoreError(f"keystore {path} records address {stored} but its key belongs to {signer.address}")
    log.debug("unlocked %s (%s)", path, signer.address)
    return signer


# --- environment and passwords ---------------------------------------------------------------------


def signer_from_env(environ: Mapping[str, str] = os.environ) -> LocalSigner | None:
    """Return a signer for ``$NVM_PRIVATE_KEY`` (automation only), or None when it is unset or empty.

    Raises:
        ValidationError: the value is not a valid private key (the message never echoes it).
    """
    value = environ.get(ENV_PRIVATE_KEY)
    if not value or not value.strip():
        return None
    text = value.strip()
    msg = f"{ENV_PRIVATE_KEY} is not a valid private key (expected 64 hex characters, optionally 0x-prefixed)"
    if not _KEY_RE.fullmatch(text):
        raise ValidationError(msg)
    try:
        return LocalSigner("0x" + text.removeprefix("0x"))
    except ValidationError:
        raise ValidationError(msg) from None


def read_password_file(path: str | os.PathLike) -> str:
    """Read a password file (UTF-8), stripping one trailing newline (``\\n`` or ``\\r\\n``).

    The file is **refused**, like a keystore, when group or others can access it: a readable password
    file next to a keystore defeats the encryption. Use ``chmod 600`` (or $NVM_KEYSTORE_PASSWORD).

    Raises:
        InsecureFileError: group/world-accessible (POSIX).
        KeystoreError: missing, unreadable, not UTF-8, or empty.
    """
    p = Path(path).expanduser()
    try:
        raw = _read_private_file(p, "password file")
    except AccountNotFoundError as exc:  # not an account: report as a plain keystore error
        raise KeystoreError(str(exc)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeystoreError(f"password file {p} is not UTF-8 text") from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise KeystoreError(f"password file {p} is empty")
    return text


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed or detached stdin
        return False


def resolve_password(
    *,
    password_file: str | os.PathLike | None = None,
    environ: Mapping[str, str] = os.environ,
    prompt: Callable[[], str] | None = None,
    interactive: bool | None = None,
) -> str:
    """Find the keystore password; first match wins.

    1. ``password_file`` (the CLI's ``--password-file``);
    2. ``$NVM_KEYSTORE_PASSWORD`` (non-empty), then ``$NVM_KEYSTORE_PASSWORD_FILE``;
    3. ``prompt()`` (the CLI passes a hidden-input prompt), only when ``interactive`` (default:
       stdin is a terminal).

    Raises:
        PasswordUnavailableError: none of the above applies; the message lists the three ways.
        InsecureFileError, KeystoreError: from :func:`read_password_file`.
    """
    if password_file is not None:
        return read_password_file(password_file)
    if environ.get(ENV_PASSWORD):
        return environ[ENV_PASSWORD]
    if environ.get(ENV_PASSWORD_FILE):
        return read_password_file(environ[ENV_PASSWORD_FILE])
    if interactive is None:
        interactive = _stdin_is_tty()
    if prompt is not None and interactive:
        password = prompt()
        if not isinstance(password, str):
            raise ValidationError("the password prompt returned no text")
        return password
    raise PasswordUnavailableError(
        "no keystore password available and stdin is not a terminal; give it one of three ways: "
        f"--password-file PATH, the {ENV_PASSWORD} (or {ENV_PASSWORD_FILE}) environment variable, "
        "or run in a terminal to be prompted"
    )
