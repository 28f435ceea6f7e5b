"""Files another local user could plant or rewrite are refused: state, config, credential."""

from __future__ import annotations

import io
import os
import pwd
import re
import stat
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "systemd" / "authz-diagnostics.service"
URL = "https://hooks.slack.com/services/T0SECRET/B0SECRET/xoxmodesecret42"
NOBODY = 65534
ME = pwd.getpwuid(os.geteuid()).pw_name

needs_root = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="making a file owned by another user needs root (chown); the mode cases still run",
)


def write_config(tmp_path: Path, state: Path | None, sink: str = "") -> Path:
    """A minimal config (stdin source, stdout sink) written 0644, whatever the umask."""
    config = tmp_path / "watch.toml"
    text = f'state_dir = "{state}"\n' if state is not None else ""
    text += '[[source]]\ntype = "stdin"\n'
    text += sink or '[[sink]]\ntype = "stdout"\n'
    config.write_text(text)
    config.chmod(0o644)
    return config


def slack_sink(path: str) -> str:
    return f'[[sink]]\ntype = "slack"\nwebhook_url_file = "{path}"\n'


def check_config_process(config: Path) -> subprocess.CompletedProcess[str]:
    """``watch --check-config`` as a real process (one test keeps this path covered)."""
    return subprocess.run(
        [sys.executable, "-m", "diagnostics", "watch", "--config", str(config), "--check-config"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def check_config(
    config: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``watch --check-config`` through ``cli.main`` in this process: the same checks and
    messages without an interpreter start each (the refusals also run ``watch`` for real)."""
    from diagnostics.cli import main

    # Text streams over bytes, like a process's: the stdout sink writes to ``.buffer``.
    out, err = (io.TextIOWrapper(io.BytesIO(), write_through=True) for _ in range(2))
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(out), redirect_stderr(err):
        for key, value in (env or {}).items():
            mp.setenv(key, value)
        code = main(["watch", "--config", str(config), "--check-config"])
    text = [s.buffer.getvalue().decode() for s in (out, err)]  # type: ignore[attr-defined]
    return subprocess.CompletedProcess([], code, text[0], text[1])


def start_watch(config: Path) -> tuple[int, str]:
    """Run the daemon itself; a refusal exits at once, before it reads anything."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "diagnostics", "watch", "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("watch started instead of refusing its state")
    return proc.returncode, err


def state_dir(tmp_path: Path, mode: int = 0o700) -> Path:
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(mode)
    return state


# -- the state directory ------------------------------------------------------


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702], ids=["world", "group", "others"])
def test_check_config_refuses_a_state_dir_others_can_write(tmp_path: Path, mode: int) -> None:
    """--check-config exits 2 for a group- or world-writable state_dir and says `chmod 700 DIR`."""
    state = state_dir(tmp_path, mode)
    check = check_config_process if mode == 0o777 else check_config
    proc = check(write_config(tmp_path, state))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"state directory {state}" in proc.stderr
    assert f"chmod 700 {state}" in proc.stderr


def test_watch_refuses_a_world_writable_state_dir_at_start(tmp_path: Path) -> None:
    """`watch` exits 2 naming the fix and creates no database in a world-writable state_dir."""
    state = state_dir(tmp_path, 0o777)
    code, err = start_watch(write_config(tmp_path, state))
    assert code == 2, err
    assert f"chmod 700 {state}" in err
    assert not (state / "state.sqlite3").exists()


def test_a_sticky_world_writable_dir_is_refused_but_a_private_dir_inside_it_is_not(
    tmp_path: Path,
) -> None:
    """Under a /tmp-like 1777 directory only the state_dir's own mode and owner count."""
    shared = state_dir(tmp_path, 0o1777)
    proc = check_config(write_config(tmp_path, shared))
    assert proc.returncode == 2
    assert f"chmod 700 {shared}" in proc.stderr
    private = shared / "authz"
    private.mkdir(mode=0o700)
    ok = check_config(write_config(tmp_path, private))
    assert ok.returncode == 0, ok.stderr


def test_a_state_dir_path_is_escaped_in_the_refusal(tmp_path: Path) -> None:
    """A control character in the state_dir's name is shown escaped, never sent to the terminal."""
    state = tmp_path / "st\x1b[31mate"
    state.mkdir(mode=0o700)
    state.chmod(0o777)
    config = tmp_path / "watch.toml"
    config.write_text(
        f'state_dir = "{tmp_path}/st\\u001b[31mate"\n[[source]]\ntype = "stdin"\n'
        '[[sink]]\ntype = "stdout"\n'
    )
    config.chmod(0o644)
    proc = check_config(config)
    assert proc.returncode == 2
    assert "\x1b" not in proc.stderr
    assert "st\\x1b[31mate" in proc.stderr and "chmod 700" in proc.stderr


@needs_root
def test_a_state_dir_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    """A 0700 state_dir owned by another uid is refused at check and start with `chown USER DIR`."""
    state = state_dir(tmp_path)
    os.chown(state, NOBODY, NOBODY)
    config = write_config(tmp_path, state)
    proc = check_config(config)
    assert proc.returncode == 2
    assert f"chown {ME} {state}" in proc.stderr
    code, err = start_watch(config)
    assert code == 2 and f"chown {ME} {state}" in err


# -- the state database -------------------------------------------------------


@pytest.mark.parametrize("name", ["state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm"])
def test_a_state_database_file_others_can_read_is_refused(tmp_path: Path, name: str) -> None:
    """A state DB file (or its -wal/-shm) readable by others fails check and start: `chmod 600`."""
    state = state_dir(tmp_path)
    planted = state / name
    planted.write_bytes(b"")
    planted.chmod(0o644)
    config = write_config(tmp_path, state)
    proc = check_config(config)
    assert proc.returncode == 2, proc.stdout
    assert f"chmod 600 {planted}" in proc.stderr
    code, err = start_watch(config)
    assert code == 2 and f"chmod 600 {planted}" in err
    assert stat.S_IMODE(planted.stat().st_mode) == 0o644  # refused, not silently changed


@needs_root
@pytest.mark.parametrize("name", ["state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm"])
def test_a_state_database_planted_by_another_user_is_refused(tmp_path: Path, name: str) -> None:
    """A 0600 state DB file owned by another uid is refused at check and start: remove it."""
    state = state_dir(tmp_path)
    planted = state / name
    planted.write_bytes(b"")
    planted.chmod(0o600)
    os.chown(planted, NOBODY, NOBODY)
    config = write_config(tmp_path, state)
    proc = check_config(config)
    assert proc.returncode == 2, proc.stdout
    assert f"rm -- {planted}" in proc.stderr and "owned by uid 65534" in proc.stderr
    code, err = start_watch(config)
    assert code == 2 and f"rm -- {planted}" in err
    assert planted.stat().st_uid == NOBODY


# -- systemd's StateDirectory= and LoadCredential= -----------------------------


def unit_value(key: str) -> str:
    found = re.search(rf"^{key}=(\S+)$", UNIT.read_text(), re.MULTILINE)
    assert found, key
    return found.group(1)


def test_the_shipped_units_state_and_credential_layout_passes(tmp_path: Path) -> None:
    """The unit's StateDirectory= (DynamicUser symlink, its mode) and 0400/0440 credentials pass."""
    # DynamicUser=yes: /var/lib/<name> is a symlink into a root-only /var/lib/private.
    private = tmp_path / "var-lib" / "private"
    private.mkdir(parents=True, mode=0o700)
    real = private / unit_value("StateDirectory")
    real.mkdir(mode=0o700)
    real.chmod(int(unit_value("StateDirectoryMode"), 8))
    link = tmp_path / "var-lib" / unit_value("StateDirectory")
    link.symlink_to(real)
    creds = tmp_path / "credentials"
    creds.mkdir(mode=0o700)
    for mode in (0o400, 0o440):
        cred = creds / "slack-webhook"
        cred.write_text(URL + "\n")
        cred.chmod(mode)
        config = write_config(tmp_path, None, slack_sink("${CREDENTIALS_DIRECTORY}/slack-webhook"))
        proc = check_config(
            config, {"STATE_DIRECTORY": str(link), "CREDENTIALS_DIRECTORY": str(creds)}
        )
        assert proc.returncode == 0, proc.stderr
        assert "chmod" not in proc.stderr
        cred.unlink()


# -- the config file and the webhook credential -------------------------------


@pytest.mark.parametrize("mode", [0o666, 0o664, 0o646], ids=["world", "group", "others"])
def test_check_config_refuses_a_config_file_others_can_write(tmp_path: Path, mode: int) -> None:
    """A config file group or others can write fails --check-config and start: `chmod go-w`."""
    config = write_config(tmp_path, state_dir(tmp_path))
    config.chmod(mode)
    proc = check_config(config)
    assert proc.returncode == 2, proc.stdout
    assert f"config file {config}" in proc.stderr
    assert f"chmod go-w {config}" in proc.stderr
    code, err = start_watch(config)
    assert code == 2 and f"chmod go-w {config}" in err


@needs_root
def test_a_config_file_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    """A 0644 config file owned by a uid that is neither root nor us fails --check-config."""
    config = write_config(tmp_path, state_dir(tmp_path))
    os.chown(config, NOBODY, NOBODY)
    proc = check_config(config)
    assert proc.returncode == 2
    assert "owned by uid 65534" in proc.stderr and f"chown root {config}" in proc.stderr


def test_check_config_refuses_a_credential_file_others_can_write(tmp_path: Path) -> None:
    """A 0666 webhook_url_file fails --check-config with `chmod 600 FILE`; the URL stays hidden."""
    cred = tmp_path / "slack-webhook"
    cred.write_text(URL + "\n")
    cred.chmod(0o666)
    proc = check_config(write_config(tmp_path, state_dir(tmp_path), slack_sink(str(cred))))
    assert proc.returncode == 2, proc.stdout
    assert f"chmod 600 {cred}" in proc.stderr
    assert "T0SECRET" not in proc.stdout + proc.stderr


def test_check_config_warns_when_others_can_read_the_credential_file(tmp_path: Path) -> None:
    """A 0644 webhook_url_file passes --check-config with a warning that says `chmod 600 FILE`."""
    cred = tmp_path / "slack-webhook"
    cred.write_text(URL + "\n")
    cred.chmod(0o644)
    proc = check_config(write_config(tmp_path, state_dir(tmp_path), slack_sink(str(cred))))
    assert proc.returncode == 0, proc.stderr
    assert "readable by other users" in proc.stderr and f"chmod 600 {cred}" in proc.stderr
    assert "T0SECRET" not in proc.stdout + proc.stderr


@needs_root
def test_a_credential_file_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    """A 0400 webhook_url_file owned by a uid that is neither root nor us fails --check-config."""
    cred = tmp_path / "slack-webhook"
    cred.write_text(URL + "\n")
    cred.chmod(0o400)
    os.chown(cred, NOBODY, NOBODY)
    proc = check_config(write_config(tmp_path, state_dir(tmp_path), slack_sink(str(cred))))
    assert proc.returncode == 2
    assert "owned by uid 65534" in proc.stderr and f"chown root {cred}" in proc.stderr
