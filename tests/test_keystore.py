"""Account storage (nvm_chain.accounts.keystore): encrypted keystores, file modes, env keys and password sources."""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest
from eth_account import Account

from nvm_chain.accounts import keystore as ks
from nvm_chain.accounts.keystore import (
    KeystoreAccount,
    create_account,
    import_account,
    keystore_dir,
    list_accounts,
    load_signer,
    read_password_file,
    resolve_password,
    signer_from_env,
)
from nvm_chain.chain.tx.signer import LocalSigner
from nvm_chain.errors import (
    AccountExistsError,
    AccountNotFoundError,
    InsecureFileError,
    KeystoreError,
    NvmChainError,
    PasswordUnavailableError,
    ValidationError,
    WrongPasswordError,
)

N = 2**10  # cheap scrypt for tests; production default is 2**18
PASSWORD = "Sekrit-Horse-Battery-7731"
KEY_HEX = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KEY = "0x" + KEY_HEX
ADDRESS = Account.from_key(KEY).address
OTHER_KEY = "0x" + "11" * 32

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _secret_free(text: str) -> bool:
    low = text.lower()
    return PASSWORD.lower() not in low and KEY_HEX not in low


@pytest.fixture
def kdir(tmp_path):
    return tmp_path / "keystores"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in (ks.ENV_KEYSTORE_DIR, ks.ENV_SCRYPT_N, ks.ENV_PASSWORD, ks.ENV_PASSWORD_FILE, ks.ENV_PRIVATE_KEY):
        monkeypatch.delenv(var, raising=False)


# --- round trips -----------------------------------------------------------------------------------


def test_import_list_load_round_trip(kdir):
    acct = import_account("alice", KEY, PASSWORD, kdir, scrypt_n=N)
    assert acct == KeystoreAccount("alice", ADDRESS, kdir / "alice.json")
    doc = json.loads(acct.path.read_text())
    assert doc["version"] == 3 and doc["crypto"]["kdf"] == "scrypt" and doc["crypto"]["kdfparams"]["n"] == N
    assert "0x" + doc["address"].lower() == ADDRESS.lower()
    assert KEY_HEX not in acct.path.read_text()  # encrypted, not plain
    assert list_accounts(kdir) == [acct]
    signer = load_signer("alice", PASSWORD, kdir)
    assert isinstance(signer, LocalSigner) and signer.address == ADDRESS
    assert load_signer(acct.path, PASSWORD).address == ADDRESS  # by path
    assert load_signer(str(acct.path), PASSWORD).address == ADDRESS
    # the file is a standard v3 keystore: eth-account decrypts it to the same key
    assert Account.decrypt(doc, PASSWORD).hex() == KEY_HEX


def test_import_accepts_bytes_and_unprefixed_hex(kdir):
    a = import_account("raw-bytes", bytes.fromhex(KEY_HEX), PASSWORD, kdir, scrypt_n=N)
    b = import_account("plain_hex", "11" * 32, PASSWORD, kdir, scrypt_n=N)
    assert a.address == ADDRESS
    assert b.address == Account.from_key(OTHER_KEY).address


def test_create_makes_distinct_loadable_keys(kdir):
    a = create_account("a1", PASSWORD, kdir, scrypt_n=N)
    b = create_account("b.2", PASSWORD, kdir, scrypt_n=N)
    assert a.address != b.address
    assert [x.name for x in list_accounts(kdir)] == ["a1", "b.2"]
    assert load_signer("a1", PASSWORD, kdir).address == a.address
    assert load_signer("b.2", PASSWORD, kdir).address == b.address


def test_list_missing_dir_is_empty_and_skips_junk(kdir, caplog):
    assert list_accounts(kdir) == []
    assert not kdir.exists()  # listing never creates the directory
    import_account("alice", KEY, PASSWORD, kdir, scrypt_n=N)
    (kdir / "notes.json").write_text("not json")
    (kdir / "other.txt").write_text("{}")
    with caplog.at_level(logging.WARNING, logger="nvm_chain.accounts.keystore"):
        names = [a.name for a in list_accounts(kdir)]
    assert names == ["alice"]
    assert "notes.json" in caplog.text


# --- file modes and atomic writes ------------------------------------------------------------------


@posix_only
def test_file_0600_and_dir_0700_despite_permissive_umask(kdir):
    old = os.umask(0o000)
    try:
        acct = create_account("alice", PASSWORD, kdir, scrypt_n=N)
    finally:
        os.umask(old)
    assert _mode(acct.path) == 0o600
    assert _mode(kdir) == 0o700
    assert [p.name for p in kdir.iterdir()] == ["alice.json"]  # no temp file left


def test_encrypt_failure_leaves_no_file(kdir, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError(f"kaboom {a!r}")  # would quote the key if it leaked

    monkeypatch.setattr(ks.Account, "encrypt", boom)
    with pytest.raises(KeystoreError) as ei:
        import_account("alice", KEY, PASSWORD, kdir, scrypt_n=N)
    assert "RuntimeError" in str(ei.value) and _secret_free(str(ei.value))
    assert ei.value.__cause__ is None and ei.value.__suppress_context__
    assert not kdir.exists() or list(kdir.iterdir()) == []


def test_write_failure_midway_removes_temp_file(kdir, monkeypatch):
    def fail_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(ks.os, "fsync", fail_fsync)
    with pytest.raises(KeystoreError, match="could not write keystore"):
        import_account("alice", KEY, PASSWORD, kdir, scrypt_n=N)
    assert list(kdir.iterdir()) == []


@posix_only
def test_temp_file_is_0600_before_key_material_is_written(kdir, monkeypatch):
    seen = []
    real_write = os.write

    def spy_write(fd, data):
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    monkeypatch.setattr(ks.os, "write", spy_write)
    old = os.umask(0o000)
    try:
        import_account("alice", KEY, PASSWORD, kdir, scrypt_n=N)
    finally:
        os.umask(old)
    assert seen and all(m == 0o600 for m in seen)


@posix_only
def test_temp_file_is_created_0600_exclusively_never_wider_even_briefly(kdir, monkeypatch):
    """The temp file's mode is fixed by the creating open() itself (0600, O_CREAT|O_EXCL, no symlink follow),
    not by a chmod afterwards: with umask 0 the file is 0600 the instant it exists."""
    created = []
    real_open = os.open

    def spy_open(path, flags, mode=0o777, *args, **kwargs):
        fd = real_open(path, flags, mode, *args, **kwargs)
        if str(path).endswith(".tmp"):
            created.append((os.path.basename(path), flags, mode, stat.S_IMODE(os.fstat(fd).st_mode)))
        return fd

    monkeypatch.setattr(ks.os, "open", spy_open)
    old = os.umask(0o000)
    try:
        import_account("alice", KEY, PASSWORD, kdir, scrypt_n=N)
    finally:
        os.umask(old)
    assert len(created) == 1
    name, flags, mode, mode_at_creation = created[0]
    assert name.startswith(".alice.json.")
    assert mode == 0o600 and mode_at_creation == 0o600
    assert flags & os.O_CREAT and flags & os.O_EXCL and flags & os.O_NOFOLLOW
    assert [p.name for p in kdir.iterdir()] == ["alice.json"]


def test_existing_keystore_is_never_overwritten(kdir):
    import_account("alice", KEY, PASSWORD, kdir, scrypt_n=N)
    before = (kdir / "alice.json").read_bytes()
    with pytest.raises(AccountExistsError):
        ks._atomic_write_new(kdir / "alice.json", b"{}")
    assert (kdir / "alice.json").read_bytes() == before
    assert [p.name for p in kdir.iterdir()] == ["alice.json"]


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_group_or_world_accessible_keystore_is_refused(kdir, mode):
    acct = import_account("alice", KEY, PASSWORD, kdir, scrypt_n=N)
    os.chmod(acct.path, mode)
    with pytest.raises(InsecureFileError) as ei:
        load_signer("alice", PASSWORD, kdir)
    msg = str(ei.value)
    assert str(acct.path) in msg and f"chmod 600 {acct.path}" in msg
    os.chmod(acct.path, 0o600)
    assert load_signer("alice", PASSWORD, kdir).address == ADDRESS


@posix_only
def test_loose_existing_directory_is_warned_about(kdir, caplog):
    kdir.mkdir(mode=0o755)
    os.chmod(kdir, 0o755)
    with caplog.at_level(logging.WARNING, logger="nvm_chain.accounts.keystore"):
        import_account("alice", KEY, PASSWORD, kdir, scrypt_n=N)
    assert f"chmod 700 {kdir}" in caplog.text


# --- errors ----------------------------------------------------------------------------------------


def test_wrong_password_is_typed_and_secret_free(kdir):
    import_account("alice", KEY, PASSWORD, kdir, scrypt_n=N)
    wrong = "Not-The-Password-4242"
    with pytest.raises(WrongPasswordError) as ei:
        load_signer("alice", wrong, kdir)
    assert isinstance(ei.value, KeystoreError) and isinstance(ei.value, NvmChainError)
    assert "alice.json" in str(ei.value)
    assert wrong not in str(ei.value) and ei.value.__cause__ is None and ei.value.__suppress_context__


def test_duplicate_name_and_duplicate_address(kdir):
    import_account("alice", KEY, PASSWORD, kdir, scrypt_n=N)
    with pytest.raises(AccountExistsError, match="'alice' already exists"):
        import_account("alice", OTHER_KEY, PASSWORD, kdir, scrypt_n=N)
    with pytest.raises(AccountExistsError) as ei:
        import_account("bob", KEY, PASSWORD, kdir, scrypt_n=N)
    assert ADDRESS in str(ei.value) and "'alice'" in str(ei.value)
    with pytest.raises(AccountExistsError):
        create_account("alice", PASSWORD, kdir, scrypt_n=N)
    assert [a.name for a in list_accounts(kdir)] == ["alice"]


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".hidden", "", "x" * 65, "a b", "a\n", "key.json", "é"])
def test_bad_names_are_refused(kdir, name):
    with pytest.raises(ValidationError, match="invalid account name"):
        import_account(name, KEY, PASSWORD, kdir, scrypt_n=N)
    assert not kdir.exists()
    assert not (kdir.parent / "x.json").exists()


def test_name_limits_accept_64_chars(kdir):
    name = "A" * 60 + "_.-9"
    assert import_account(name, KEY, PASSWORD, kdir, scrypt_n=N).path.name == name + ".json"


def test_load_missing_account_or_path(kdir, tmp_path):
    with pytest.raises(AccountNotFoundError, match="no account named 'ghost'"):
        load_signer("ghost", PASSWORD, kdir)
    with pytest.raises(AccountNotFoundError):
        load_signer(tmp_path / "nope.json", PASSWORD)
    with pytest.raises(ValidationError):
        load_signer("bad name", PASSWORD, kdir)


def test_load_refuses_non_keystore_and_mismatched_address(kdir):
    acct = import_account("alice", KEY, PASSWORD, kdir, scrypt_n=N)
    junk = kdir / "junk.json"
    junk.write_text('{"hello": 1}')
    os.chmod(junk, 0o600)
    with pytest.raises(KeystoreError, match="not a keystore"):
        load_signer(junk, PASSWORD)
    doc = json.loads(acct.path.read_text())
    doc["address"] = Account.from_key(OTHER_KEY).address[2:]
    forged = kdir / "forged.json"
    forged.write_text(json.dumps(doc))
    os.chmod(forged, 0o600)
    with pytest.raises(KeystoreError, match="records address"):
        load_signer(forged, PASSWORD)


def test_bad_key_values_are_refused_without_echo(kdir):
    for bad in ["0x" + KEY_HEX[:-2], KEY_HEX + "zz", "0x" + "00" * 32, b"\x01" * 31, "0x" + "ff" * 32]:
        with pytest.raises(ValidationError) as ei:
            import_account("alice", bad, PASSWORD, kdir, scrypt_n=N)
        assert KEY_HEX[:-2] not in str(ei.value) and "ff" * 32 not in str(ei.value)


# --- scrypt cost -----------------------------------------------------------------------------------


def test_scrypt_n_default_env_and_validation(kdir, monkeypatch):
    used = []

    def fake_encrypt(key, password, kdf=None, iterations=None):
        used.append((kdf, iterations))
        raise RuntimeError("stop")

    monkeypatch.setattr(ks.Account, "encrypt", fake_encrypt)
    with pytest.raises(KeystoreError):
        create_account("a", PASSWORD, kdir)
    monkeypatch.setenv(ks.ENV_SCRYPT_N, "2048")
    with pytest.raises(KeystoreError):
        create_account("a", PASSWORD, kdir)
    with pytest.raises(KeystoreError):
        create_account("a", PASSWORD, kdir, scrypt_n=4096)  # argument beats env
    assert used == [("scrypt", 2**18), ("scrypt", 2048), ("scrypt", 4096)]
    assert ks.DEFAULT_SCRYPT_N == 2**18
    for bad in ["abc", "1000"]:
        monkeypatch.setenv(ks.ENV_SCRYPT_N, bad)
        with pytest.raises(ValidationError, match=ks.ENV_SCRYPT_N):
            create_account("a", PASSWORD, kdir)
    for bad_n in [1000, 1, 2**21, True]:
        with pytest.raises(ValidationError, match="power of two"):
            create_account("a", PASSWORD, kdir, scrypt_n=bad_n)


def test_env_scrypt_n_is_used_for_real(kdir, monkeypatch):
    monkeypatch.setenv(ks.ENV_SCRYPT_N, str(2**11))
    acct = create_account("alice", PASSWORD, kdir)
    assert json.loads(acct.path.read_text())["crypto"]["kdfparams"]["n"] == 2**11
    monkeypatch.delenv(ks.ENV_SCRYPT_N)
    assert load_signer("alice", PASSWORD, kdir).address == acct.address  # n is read from the file


# --- directory resolution --------------------------------------------------------------------------


def test_keystore_dir_precedence(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert keystore_dir(environ=env) == tmp_path / "xdg" / "nvm-chain" / "keystores"
    env[ks.ENV_KEYSTORE_DIR] = str(tmp_path / "envdir")
    assert keystore_dir(environ=env) == tmp_path / "envdir"
    assert keystore_dir(tmp_path / "arg", environ=env) == tmp_path / "arg"
    home_default = keystore_dir(environ={"HOME": str(tmp_path)})
    assert home_default.parts[-3:] == (".config", "nvm-chain", "keystores")


def test_env_keystore_dir_is_used_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv(ks.ENV_KEYSTORE_DIR, str(tmp_path / "viaenv"))
    acct = import_account("alice", KEY, PASSWORD, scrypt_n=N)
    assert acct.path == tmp_path / "viaenv" / "alice.json"
    assert [a.name for a in list_accounts()] == ["alice"]
    assert load_signer("alice", PASSWORD).address == ADDRESS


# --- environment key -------------------------------------------------------------------------------


def test_signer_from_env():
    assert signer_from_env({}) is None
    assert signer_from_env({ks.ENV_PRIVATE_KEY: "  "}) is None
    assert signer_from_env({ks.ENV_PRIVATE_KEY: KEY}).address == ADDRESS
    assert signer_from_env({ks.ENV_PRIVATE_KEY: KEY_HEX + "\n"}).address == ADDRESS


@pytest.mark.parametrize(
    "bad", [KEY_HEX[:-1], KEY_HEX + "00", KEY_HEX[:-1] + "g", "0x" + "00" * 32, KEY_HEX[:30] + " " + KEY_HEX[30:]]
)
def test_malformed_env_key_is_not_echoed(bad):
    with pytest.raises(ValidationError) as ei:
        signer_from_env({ks.ENV_PRIVATE_KEY: bad})
    msg = str(ei.value)
    assert ks.ENV_PRIVATE_KEY in msg
    assert KEY_HEX[:16] not in msg and bad.strip() not in msg and "0" * 16 not in msg


# --- passwords -------------------------------------------------------------------------------------


def _pwfile(tmp_path, content: bytes, mode=0o600, name="pw"):
    p = tmp_path / name
    p.write_bytes(content)
    os.chmod(p, mode)
    return p


def test_read_password_file_strips_one_newline(tmp_path):
    assert read_password_file(_pwfile(tmp_path, b"abc\n", name="a")) == "abc"
    assert read_password_file(_pwfile(tmp_path, b"abc\r\n", name="b")) == "abc"
    assert read_password_file(_pwfile(tmp_path, b"abc\n\n", name="c")) == "abc\n"
    assert read_password_file(_pwfile(tmp_path, b" sp ", name="d")) == " sp "
    with pytest.raises(KeystoreError, match="empty"):
        read_password_file(_pwfile(tmp_path, b"\n", name="e"))
    with pytest.raises(KeystoreError, match="does not exist"):
        read_password_file(tmp_path / "missing")


@posix_only
def test_group_readable_password_file_is_refused(tmp_path):
    p = _pwfile(tmp_path, PASSWORD.encode(), mode=0o640)
    with pytest.raises(InsecureFileError) as ei:
        read_password_file(p)
    assert f"chmod 600 {p}" in str(ei.value) and _secret_free(str(ei.value))


def test_resolve_password_order(tmp_path):
    f1 = _pwfile(tmp_path, b"from-flag\n", name="f1")
    f2 = _pwfile(tmp_path, b"from-env-file\n", name="f2")
    prompted = []

    def prompt():
        prompted.append(1)
        return "from-prompt"

    env = {ks.ENV_PASSWORD: "from-env", ks.ENV_PASSWORD_FILE: str(f2)}
    assert resolve_password(password_file=f1, environ=env, prompt=prompt, interactive=True) == "from-flag"
    assert resolve_password(environ=env, prompt=prompt, interactive=True) == "from-env"
    del env[ks.ENV_PASSWORD]
    assert resolve_password(environ=env, prompt=prompt, interactive=True) == "from-env-file"
    assert resolve_password(environ={ks.ENV_PASSWORD: ""}, prompt=prompt, interactive=True) == "from-prompt"
    assert prompted == [1]  # the prompt ran only when nothing else was set


def test_resolve_password_non_tty_error_lists_the_three_ways():
    calls = []
    for kwargs in [dict(prompt=lambda: calls.append(1) or "x", interactive=False), dict(prompt=None, interactive=True)]:
        with pytest.raises(PasswordUnavailableError) as ei:
            resolve_password(environ={}, **kwargs)
        msg = str(ei.value)
        assert "--password-file" in msg and ks.ENV_PASSWORD in msg and ks.ENV_PASSWORD_FILE in msg and "terminal" in msg
    assert calls == []  # never prompts without a terminal


def test_resolve_password_defaults_to_stdin_tty_check(monkeypatch):
    class FakeStdin:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    monkeypatch.setattr(ks.sys, "stdin", FakeStdin(False))
    with pytest.raises(PasswordUnavailableError):
        resolve_password(environ={}, prompt=lambda: "typed")
    monkeypatch.setattr(ks.sys, "stdin", FakeStdin(True))
    assert resolve_password(environ={}, prompt=lambda: "typed") == "typed"
    monkeypatch.setattr(ks.sys, "stdin", None)
    with pytest.raises(PasswordUnavailableError):
        resolve_password(environ={}, prompt=lambda: "typed")


# --- secrets never leak ----------------------------------------------------------------------------


@posix_only
def test_password_and_key_appear_in_no_message_repr_or_log(kdir, tmp_path, caplog, monkeypatch):
    texts: list[str] = []

    def expect(exc_type, fn, *args, **kwargs):
        with pytest.raises(exc_type) as ei:
            fn(*args, **kwargs)
        texts.extend([str(ei.value), repr(ei.value), str(ei.value.args)])
        assert ei.value.__cause__ is None

    with caplog.at_level(logging.DEBUG):
        acct = import_account("alice", KEY, PASSWORD, kdir, scrypt_n=N)
        signer = load_signer("alice", PASSWORD, kdir)
        texts += [repr(acct), str(acct), repr(signer), str(signer), repr(list_accounts(kdir))]
        texts.append(repr(signer_from_env({ks.ENV_PRIVATE_KEY: KEY})))

        expect(WrongPasswordError, load_signer, "alice", PASSWORD + "x", kdir)
        expect(AccountExistsError, import_account, "alice", KEY, PASSWORD, kdir, scrypt_n=N)
        expect(AccountExistsError, import_account, "bob", KEY, PASSWORD, kdir, scrypt_n=N)
        expect(ValidationError, import_account, "../x", KEY, PASSWORD, kdir, scrypt_n=N)
        expect(ValidationError, import_account, "carol", KEY + "0", PASSWORD, kdir, scrypt_n=N)
        expect(ValidationError, signer_from_env, {ks.ENV_PRIVATE_KEY: KEY_HEX + "zz"})
        os.chmod(acct.path, 0o644)
        expect(InsecureFileError, load_signer, "alice", PASSWORD, kdir)
        os.chmod(acct.path, 0o600)
        expect(InsecureFileError, read_password_file, _pwfile(tmp_path, PASSWORD.encode(), mode=0o644))
        expect(PasswordUnavailableError, resolve_password, environ={}, prompt=None, interactive=False)
        monkeypatch.setattr(ks.Account, "encrypt", lambda *a, **k: (_ for _ in ()).throw(ValueError(repr(a))))
        expect(KeystoreError, import_account, "dave", KEY, PASSWORD, kdir, scrypt_n=N)

    records = [r.getMessage() for r in caplog.records]
    assert any("alice" in m for m in records)  # logging did happen
    texts += records
    leaks = [t for t in texts if not _secret_free(t)]
    assert leaks == []
