"""`nvm-chain accounts new|import|list`: encrypted keystores in a temporary NVM_KEYSTORE_DIR (scrypt n=1024 to
stay fast), passwords from a file, the environment or a prompt, never a key or password on stdout/stderr; then a
keystore account signs a write against the devnet."""

from __future__ import annotations

import json
import stat

import pytest
from eth_account import Account

from nvm_chain.chain.tx.sender import Sender
from nvm_chain.chain.tx.types import TxRequest
from nvm_chain.sim.accounts import test_key
from tests.test_cli_agents import API, run

PASSWORD = "correct horse battery staple"
KEY = "0x" + test_key("keystore-import").hex()
ADDRESS = Account.from_key(KEY).address


@pytest.fixture
def keystore(tmp_path):
    return tmp_path / "keystores"


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "password.txt"
    path.write_text(PASSWORD + "\n")
    path.chmod(0o600)
    return path


@pytest.fixture
def env(keystore, tmp_path):
    return {"NVM_KEYSTORE_DIR": str(keystore), "NVM_KEYSTORE_SCRYPT_N": "1024", "NVM_KEYSTORE_PASSWORD": "",
            "NVM_KEYSTORE_PASSWORD_FILE": "", "NVM_PRIVATE_KEY": "", "NVM_ACCOUNT": "", "NVM_FORMAT": "",
            "NVM_CONFIG": str(tmp_path / "no-config.json")}


def no_secrets(result, *secrets: str) -> None:
    for secret in secrets:
        for variant in {secret, secret.removeprefix("0x"), secret.removeprefix("0x").upper()}:
            assert variant not in result.out and variant not in result.err


def test_new_with_password_file_writes_a_0600_keystore_and_prints_no_secret(env, keystore, password_file):
    result = run(["-f", "json", "accounts", "new", "alice", "--password-file", str(password_file)], env)
    assert result.code == 0, result.err
    got = result.json()
    assert set(got) == {"name", "address", "path"} and got["name"] == "alice"
    path = keystore / "alice.json"
    assert got["path"] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(keystore.stat().st_mode) == 0o700
    doc = json.loads(path.read_text())
    assert doc["crypto"]["kdf"] == "scrypt" and doc["crypto"]["kdfparams"]["n"] == 1024
    key = Account.decrypt(doc, PASSWORD)
    assert Account.from_key(key).address == got["address"]
    no_secrets(result, PASSWORD, "0x" + bytes(key).hex())

    listed = run(["-f", "json", "accounts", "list"], env)
    assert listed.code == 0 and listed.json() == [got]
    table = run(["accounts", "list"], env)
    assert table.out.split()[:6] == ["NAME", "ADDRESS", "PATH", "alice", got["address"], str(path)]


def test_password_from_the_environment_and_an_empty_list(env, keystore):
    empty = run(["accounts", "list"], env)
    assert empty.code == 0 and empty.out.strip() == "(none)" and "accounts new NAME" in empty.err
    result = run(["-f", "json", "accounts", "new", "bob"], {**env, "NVM_KEYSTORE_PASSWORD": PASSWORD})
    assert result.code == 0 and (keystore / "bob.json").exists()
    no_secrets(result, PASSWORD)


def test_non_terminal_without_a_password_is_a_clear_error_and_writes_nothing(env, keystore):
    result = run(["accounts", "new", "carol"], env)
    assert result.code == 7 and result.out == ""
    assert "no keystore password available and stdin is not a terminal" in result.err
    assert "--password-file" in result.err and "NVM_KEYSTORE_PASSWORD" in result.err
    assert not (keystore / "carol.json").exists()


def test_terminal_prompt_asks_twice_hides_input_and_retries_on_mismatch(env, keystore, monkeypatch):
    import nvm_chain.cli.accounts as accounts_cli

    monkeypatch.setattr(accounts_cli, "_interactive", lambda: True)
    result = run(["accounts", "new", "dave"], env, input="first-try\nsecond-try\nhunter22\nhunter22\n")
    assert result.code == 0, result.err
    assert "do not match" in result.err
    assert (result.err.count("keystore password:"), result.err.count("Repeat for confirmation")) == (2, 2)
    no_secrets(result, "first-try", "second-try", "hunter22")
    assert Account.decrypt(json.loads((keystore / "dave.json").read_text()), "hunter22")


def test_import_from_env_stdin_or_prompt_never_echoes_the_key(env, keystore, password_file, monkeypatch):
    from_env = run(["-f", "json", "accounts", "import", "imp1", "--password-file", str(password_file)],
                   {**env, "NVM_PRIVATE_KEY": KEY})
    assert from_env.code == 0, from_env.err
    assert from_env.json()["address"] == ADDRESS and "from NVM_PRIVATE_KEY" in from_env.err
    no_secrets(from_env, KEY, PASSWORD)
    assert stat.S_IMODE((keystore / "imp1.json").stat().st_mode) == 0o600

    other = "0x" + test_key("keystore-import-2").hex()
    piped = run(["-f", "json", "accounts", "import", "imp2", "--key-stdin", "--password-file", str(password_file)],
                env, input=other + "\n")
    assert piped.code == 0 and piped.json()["address"] == Account.from_key(other).address
    no_secrets(piped, other)

    import nvm_chain.cli.accounts as accounts_cli

    monkeypatch.setattr(accounts_cli, "_interactive", lambda: True)
    third = "0x" + test_key("keystore-import-3").hex()
    prompted = run(["-f", "json", "accounts", "import", "imp3"], env, input=f"{third}\npw\npw\n")
    assert prompted.code == 0 and prompted.json()["address"] == Account.from_key(third).address
    no_secrets(prompted, third)


def test_import_refusals(env, keystore, password_file):
    no_source = run(["accounts", "import", "x", "--password-file", str(password_file)], env)
    assert no_source.code == 2 and "never accepted as an argument" in no_source.err
    as_flag = run(["accounts", "import", "x", "--private-key", KEY], env)
    assert as_flag.code == 2 and "No such option" in as_flag.err
    bad = "0x" + "zz" * 32
    malformed = run(["accounts", "import", "x", "--password-file", str(password_file)], {**env, "NVM_PRIVATE_KEY": bad})
    assert malformed.code == 3 and "invalid private key" in malformed.err
    no_secrets(malformed, bad)
    bad_name = run(["accounts", "new", "../evil", "--password-file", str(password_file)], env)
    assert bad_name.code == 3 and "invalid account name" in bad_name.err
    assert not keystore.exists() or list(keystore.iterdir()) == []


def test_duplicates_and_insecure_password_files_are_refused(env, keystore, password_file):
    first = run(["accounts", "import", "one", "--password-file", str(password_file)], {**env, "NVM_PRIVATE_KEY": KEY})
    assert first.code == 0
    same_key = run(["accounts", "import", "two", "--password-file", str(password_file)],
                   {**env, "NVM_PRIVATE_KEY": KEY})
    assert same_key.code == 7 and "already stored as account 'one'" in same_key.err
    same_name = run(["accounts", "new", "one", "--password-file", str(password_file)], env)
    assert same_name.code == 7 and "already exists" in same_name.err
    password_file.chmod(0o644)
    insecure = run(["accounts", "new", "three", "--password-file", str(password_file)], env)
    assert insecure.code == 7 and f"chmod 600 {password_file}" in insecure.err
    assert sorted(p.name for p in keystore.iterdir()) == ["one.json"]


def test_a_keystore_account_signs_a_write_on_the_devnet(env, devnet, password_file, tmp_path):
    created = run(["-f", "json", "accounts", "new", "signer", "--password-file", str(password_file)], env)
    assert created.code == 0, created.err
    address = created.json()["address"]
    funder = Sender(devnet.sim.w3, devnet.sim.account("governor").signer)
    funder.send(TxRequest(address, b"", 21_000, value=10**18, action="fund"), simulate=False)

    chain_env = {**devnet.env(), **{k: v for k, v in env.items() if k != "NVM_CONFIG"}}
    write = ["-f", "json", "agents", "register-agent", "--agent-metadata", '{"name": "keystore agent"}',
             "--agent-api", json.dumps(API)]
    result = run([*write, "--account", "signer", "--password-file", str(password_file)], chain_env)
    assert result.code == 0, result.err
    agent = result.json()
    assert agent["owner"] == address
    no_secrets(result, PASSWORD)
    record = run(["-f", "json", "agents", "get-agent", agent["agentId"]], chain_env)
    assert record.json()["owner"] == address and record.json()["creator"] == address

    # the account can also come from NVM_ACCOUNT, and the password from NVM_KEYSTORE_PASSWORD_FILE
    by_env = run(write, {**chain_env, "NVM_ACCOUNT": "signer", "NVM_KEYSTORE_PASSWORD_FILE": str(password_file)})
    assert by_env.code == 0 and by_env.json()["owner"] == address

    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the password")
    wrong.chmod(0o600)
    refused = run([*write, "--account", "signer", "--password-file", str(wrong)], chain_env)
    assert refused.code == 7 and "wrong password" in refused.err and refused.out == ""
    nonce = devnet.sim.w3.eth.get_transaction_count(address)
    assert nonce == 2  # the two registrations, nothing for the refused one
    unknown = run([*write, "--account", "nobody", "--password-file", str(password_file)], chain_env)
    assert unknown.code == 7 and "no account named 'nobody'" in unknown.err
