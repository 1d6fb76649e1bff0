"""The chaincode-as-a-service builder, run as the peer runs it: through symlinks named for each step."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from medledger_tools.paths import REPO_ROOT

BUILDER = REPO_ROOT / "roles" / "fabric_peer" / "files" / "medledger_ccaas_builder.py"


@pytest.fixture
def builder(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "builder" / "bin"
    bin_dir.mkdir(parents=True)
    for step in ("detect", "build", "release"):
        (bin_dir / step).symlink_to(BUILDER)
    return bin_dir


def run(
    builder: Path, step: str, *folders: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(builder / step), *map(str, folders)],
        capture_output=True,
        text=True,
        env=env or {},
        check=False,
    )


def package(tmp_path: Path, package_type: str, connection: dict[str, object]) -> tuple[Path, Path]:
    source, metadata = tmp_path / "src", tmp_path / "meta"
    source.mkdir()
    metadata.mkdir()
    (metadata / "metadata.json").write_text(json.dumps({"type": package_type, "label": "patient_data_1"}))
    (source / "connection.json").write_text(json.dumps(connection))
    return source, metadata


def peer_tls(tmp_path: Path) -> Path:
    for name, text in {"server.crt": "CERT", "server.key": "KEY", "ca.crt": "CHAIN"}.items():
        (tmp_path / name).write_text(text)
    settings = tmp_path / "settings.json"
    settings.write_text(
        json.dumps(
            {
                "client_cert_file": str(tmp_path / "server.crt"),
                "client_key_file": str(tmp_path / "server.key"),
                "root_cert_file": str(tmp_path / "ca.crt"),
            }
        )
    )
    return settings


def test_detect_claims_only_ccaas_packages(tmp_path: Path, builder: Path) -> None:
    source, metadata = package(tmp_path, "ccaas", {"address": "127.0.0.1:9999"})
    assert run(builder, "detect", source, metadata).returncode == 0
    (metadata / "metadata.json").write_text(json.dumps({"type": "golang"}))
    assert run(builder, "detect", source, metadata).returncode == 1


def test_build_then_release_adds_this_peers_tls_material(tmp_path: Path, builder: Path) -> None:
    source, metadata = package(tmp_path, "ccaas", {"address": "127.0.0.1:9999", "dial_timeout": "10s"})
    (source / "META-INF" / "statedb" / "couchdb" / "indexes").mkdir(parents=True)
    (source / "META-INF" / "statedb" / "couchdb" / "indexes" / "byPid.json").write_text("{}")
    output, release = tmp_path / "out", tmp_path / "rel"
    assert run(builder, "build", source, metadata, output).returncode == 0
    settings = peer_tls(tmp_path)

    result = run(builder, "release", output, release, env={"MEDLEDGER_CCAAS_BUILDER_SETTINGS": str(settings)})

    assert result.returncode == 0, result.stderr
    connection_file = release / "chaincode" / "server" / "connection.json"
    assert connection_file.stat().st_mode & 0o777 == 0o600
    assert json.loads(connection_file.read_text()) == {
        "address": "127.0.0.1:9999",
        "dial_timeout": "10s",
        "tls_required": True,
        "client_auth_required": True,
        "client_cert": "CERT",
        "client_key": "KEY",
        "root_cert": "CHAIN",
    }
    assert (release / "statedb" / "couchdb" / "indexes" / "byPid.json").is_file()


def test_a_package_carrying_tls_material_is_refused(tmp_path: Path, builder: Path) -> None:
    source, metadata = package(tmp_path, "ccaas", {"address": "127.0.0.1:9999", "client_key": "secret"})
    result = run(builder, "build", source, metadata, tmp_path / "out")
    assert result.returncode == 1
    assert "TLS material comes from the peer, not the package (found: client_key)" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_package_without_an_address_is_refused(tmp_path: Path, builder: Path) -> None:
    source, metadata = package(tmp_path, "ccaas", {"dial_timeout": "10s"})
    result = run(builder, "build", source, metadata, tmp_path / "out")
    assert result.returncode == 1
    assert "connection.json needs an address as host:port" in result.stderr


def test_release_without_settings_says_what_is_missing(tmp_path: Path, builder: Path) -> None:
    source, metadata = package(tmp_path, "ccaas", {"address": "127.0.0.1:9999"})
    assert run(builder, "build", source, metadata, tmp_path / "out").returncode == 0
    result = run(builder, "release", tmp_path / "out", tmp_path / "rel")
    assert result.returncode == 1
    assert "MEDLEDGER_CCAAS_BUILDER_SETTINGS is not set" in result.stderr
    assert not (tmp_path / "rel").exists()


def test_release_over_a_loose_connection_file_leaves_it_private(tmp_path: Path, builder: Path) -> None:
    """The released connection holds the peer's TLS key: 0600 even where an older file was readable."""
    source, metadata = package(tmp_path, "ccaas", {"address": "127.0.0.1:9999"})
    output, release = tmp_path / "out", tmp_path / "rel"
    assert run(builder, "build", source, metadata, output).returncode == 0
    connection_file = release / "chaincode" / "server" / "connection.json"
    connection_file.parent.mkdir(parents=True)
    connection_file.write_text(json.dumps({"address": "old", "client_key": "OLD KEY, a longer one than the new"}))
    connection_file.chmod(0o644)

    result = run(builder, "release", output, release, env={"MEDLEDGER_CCAAS_BUILDER_SETTINGS": str(peer_tls(tmp_path))})

    assert result.returncode == 0, result.stderr
    assert connection_file.stat().st_mode & 0o777 == 0o600
    assert json.loads(connection_file.read_text())["client_key"] == "KEY"
