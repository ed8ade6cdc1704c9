"""CLI plumbing: option precedence (flags > NVM_* env > profile), rendering, exit codes, fast --help."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from nvm_chain.cli import cli
from nvm_chain.cli.errors import classify
from nvm_chain.cli.output import emit, jsonable
from nvm_chain.cli.settings import global_options, resolve


@click.command()
@global_options
@click.pass_context
def show(ctx, **_):
    """Print the resolved settings."""
    click.echo(json.dumps(resolve(ctx).__dict__))


@pytest.fixture
def run(tmp_path, monkeypatch):
    for var in ("NVM_NETWORK", "NVM_RPC_URL", "NVM_FORMAT", "NVM_PROFILE", "NVM_ACCOUNT", "NVM_MAX_AMOUNT"):
        monkeypatch.delenv(var, raising=False)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"default": "dev", "profiles": {
        "dev": {"network": "local", "rpc_url": "http://127.0.0.1:8545", "format": "json", "max_amount": "10"},
        "prod": {"network": "base"}}}))

    def invoke(args, env=None):
        result = CliRunner().invoke(show, args, env={"NVM_CONFIG": str(config), **(env or {})})
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    return invoke


def test_the_default_profile_applies_when_nothing_else_is_given(run):
    got = run([])
    assert (got["network"], got["rpc_url"], got["format"], got["max_amount"]) == (
        "local", ["http://127.0.0.1:8545"], "json", 10)


def test_rpc_urls_repeat_as_flags_and_split_on_commas_in_the_environment(run):
    assert run(["--rpc-url", "http://a:1", "--rpc-url", "http://b:2"])["rpc_url"] == ["http://a:1", "http://b:2"]
    assert run([], env={"NVM_RPC_URL": "http://a:1, http://b:2"})["rpc_url"] == ["http://a:1", "http://b:2"]


def test_environment_beats_profile_and_flags_beat_environment(run):
    assert run([], env={"NVM_NETWORK": "base-sepolia"})["network"] == "base-sepolia"
    assert run(["--network", "embedded"], env={"NVM_NETWORK": "base-sepolia"})["network"] == "embedded"
    assert run(["--profile", "prod"])["network"] == "base"
    assert run([], env={"NVM_PROFILE": "prod"})["network"] == "base"


def test_unknown_profile_and_malformed_config_are_configuration_errors_and_bad_max_amount_a_usage_error(
        run, tmp_path, capsys):
    config = str(tmp_path / "config.json")
    code = _main(["tx", "status", "0x" + "11" * 32, "--profile", "nope"], {"NVM_CONFIG": config})
    err = capsys.readouterr().err
    assert code == 7 and "no profile 'nope'" in err and "dev, prod" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert _main(["tx", "status", "0x" + "11" * 32], {"NVM_CONFIG": str(broken)}) == 7
    assert "is not a readable JSON file" in capsys.readouterr().err
    result = CliRunner().invoke(show, ["--max-amount", "1.5"], env={"NVM_CONFIG": str(tmp_path / "none.json")})
    assert result.exit_code == 2 and "whole number of base units" in result.output


def _main(argv, env):
    """Run the nvm-chain entry point in-process with ``env`` set; its exit code."""
    import os

    from nvm_chain.cli import main

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return main(argv)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_json_rendering_keeps_big_ints_exact_and_tables_align(capsys):
    emit({"planId": 2**255, "balance": 5, "hash": b"\x01\x02"}, "json")
    assert json.loads(capsys.readouterr().out) == {"planId": str(2**255), "balance": 5, "hash": "0x0102"}
    emit([{"name": "a", "value": 1}, {"name": "long-name", "value": 22}], "table")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "VALUE"] and lines[2].startswith("long-name  22")
    assert jsonable((1, 2**60)) == [1, str(2**60)]


def test_errors_map_to_documented_exit_codes():
    """The README's table: 3 invalid input or refused before signing; 4 reverted; 5 pending; 7 configuration."""
    from nvm_chain.chain.abi import registry
    from nvm_chain.errors import (
        ConfigurationError,
        ContractRevertError,
        TransactionPending,
        ValidationError,
    )

    data = bytes.fromhex("6b05f46e") + (42).to_bytes(32, "big")
    code, message = classify(ContractRevertError(registry().decode_revert(data), data, action="x"))
    assert code == 4 and "PlanNotFound(planId=42)" in message
    assert classify(TransactionPending("0xabc", 5))[0] == 5
    assert classify(ValidationError("bad"))[0] == 3
    assert classify(ConfigurationError("bad"))[0] == 7

    from nvm_chain.errors import NotAgentOwnerError, WrongPasswordError

    assert classify(WrongPasswordError("wrong password for keystore x"))[0] == 7
    refused = NotAgentOwnerError.__new__(NotAgentOwnerError)  # a PermissionError: must not read as "network"
    Exception.__init__(refused, "0xabc is not the owner of agent 1")
    assert classify(refused) == (3, "0xabc is not the owner of agent 1")


def test_help_is_fast_and_does_not_import_web3():
    code = "import sys; from nvm_chain.cli import main; main(['--help']); print('web3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Exit codes" in out and out.strip().endswith("False")


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2 and "No such command" in result.output


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_a_key_pasted_into_rpc_url_or_max_amount_is_never_echoed(tmp_path, capsys, debug):
    key = "0x" + "c3" * 32
    book = tmp_path / "book.json"
    book.write_text(json.dumps({"chainId": 31337, "version": "1.5.0", "contracts": {}}))
    env = {"NVM_CONFIG": str(tmp_path / "none.json"), "NVM_NETWORK": "local", "NVM_ADDRESS_BOOK": str(book)}
    assert _main([*debug, "--rpc-url", key, "tx", "status", "0x" + "11" * 32], env) == 7
    assert _main([*debug, "--rpc-url", f"http://{key[2:]}:8545", "tx", "status", "0x" + "11" * 32], env) == 7
    assert _main([*debug, "--max-amount", key, "tx", "status", "0x" + "11" * 32], env) == 2
    out = capsys.readouterr()
    assert "c3c3c3c3" not in out.out + out.err and out.err.count("error") >= 2
