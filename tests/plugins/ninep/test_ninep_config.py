"""[export9p] and [[mount9p]]: mistakes are one-line errors naming the file, the key and the value."""

from __future__ import annotations

import tomllib

from support import config_error, kernkit_cli


def write(tmp_path, text):
    path = tmp_path / "k.toml"
    path.write_text(text)
    return path


def test_a_non_loopback_export_needs_allow_remote(tmp_path):
    path = write(tmp_path, '[export9p]\nlisten = "0.0.0.0:5640"\n')
    message = config_error(path)
    assert message.startswith(f"{path}: [export9p]: ")
    assert "0.0.0.0 is not a loopback address" in message and "export9p.allow_remote = true" in message
    ok = write(tmp_path, '[export9p]\nlisten = "0.0.0.0:5640"\nallow_remote = true\n')
    assert kernkit_cli("check", str(ok)).returncode == 0


def test_listen_must_be_host_and_port(tmp_path):
    message = config_error(write(tmp_path, '[export9p]\nlisten = "5640"\n'))
    assert "export9p.listen: expected HOST:PORT such as 127.0.0.1:5640, got '5640'" in message
    message = config_error(write(tmp_path, '[export9p]\nlisten = "127.0.0.1:99999"\n'))
    assert "port must be a number from 0 to 65535" in message


def test_exported_paths_are_checked(tmp_path):
    message = config_error(write(tmp_path, '[export9p]\npaths = ["tmp"]\n'))
    assert "export9p.paths: item 0: 'tmp': expected an absolute, clean path" in message
    message = config_error(write(tmp_path, '[export9p]\npaths = ["/a/tmp", "/tmp"]\n'))
    assert "would both be /tmp in the export" in message


def test_mount9p_is_an_array_of_tables(tmp_path):
    message = config_error(write(tmp_path, '[mount9p]\naddr = "127.0.0.1:564"\nat = "/mnt"\n'))
    assert message.startswith(f"{tmp_path / 'k.toml'}: mount9p: expected tables written [[mount9p]]")


def test_mount9p_entries_are_checked_one_by_one(tmp_path):
    text = '[[mount9p]]\naddr = "127.0.0.1:564"\nat = "/mnt/a"\n[[mount9p]]\naddr = "127.0.0.1:565"\nadr = "x"\n'
    message = config_error(write(tmp_path, text))
    assert "mount9p[1].adr: unknown option (did you mean 'addr'?)" in message
    text = '[[mount9p]]\naddr = "127.0.0.1:564"\n'
    assert "[[mount9p]] #1: at is required" in config_error(write(tmp_path, text))
    text = '[[mount9p]]\naddr = "127.0.0.1:564"\nat = "/mnt"\nversion = "9P2000.u"\n'
    assert "mount9p[0].version: expected one of '9P2000.L', '9P2000', got '9P2000.u'" in config_error(
        write(tmp_path, text)
    )


def test_check_prints_mounts_back_as_arrays_of_tables(tmp_path):
    path = write(
        tmp_path,
        '[[mount9p]]\naddr = "127.0.0.1:564"\nat = "/mnt/a"\n'
        '[[mount9p]]\naddr = "127.0.0.1:565"\nat = "/mnt/b"\nversion = "9P2000"\n',
    )
    proc = kernkit_cli("check", str(path))
    assert proc.returncode == 0, proc.stderr.decode()
    resolved = tomllib.loads(proc.stdout.decode())
    assert [m["at"] for m in resolved["mount9p"]] == ["/mnt/a", "/mnt/b"]
    assert resolved["mount9p"][1]["version"] == "9P2000"
    assert resolved["export9p"]["listen"] == ""
