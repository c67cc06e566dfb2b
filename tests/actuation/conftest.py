"""A private, password-protected Mosquitto for the actuation tests: its own process, port and password file."""

import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER, PASSWORD = "wareroom", "generator-key-7"


@dataclass(frozen=True)
class Broker:
    port: int
    user: str
    password: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def password_broker(tmp_path: Path) -> Iterator[Broker]:
    """Mosquitto on a free loopback port that lets in only ``wareroom`` with its password."""
    binary, passwd = shutil.which("mosquitto") or "/usr/sbin/mosquitto", shutil.which("mosquitto_passwd")
    assert passwd is not None, "mosquitto_passwd is needed (Debian: mosquitto)"
    passwords = tmp_path / "passwords"
    subprocess.run([passwd, "-b", "-c", str(passwords), USER, PASSWORD], check=True)
    passwords.chmod(0o600)
    port = _free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
                      f"persistence false\nlog_dest stderr\nuser {getpass.getuser()}\n",  # stays who we are
                      encoding="utf-8")
    process = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else b""
                assert time.monotonic() < deadline, "mosquitto did not start"
                time.sleep(0.05)
        yield Broker(port, USER, PASSWORD)
    finally:
        process.terminate()
        process.wait(10)
