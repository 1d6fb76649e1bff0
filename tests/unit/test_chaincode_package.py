"""The chaincode package: the same bytes wherever it is written, and one the peers' builder accepts."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

from medledger_tools.paths import REPO_ROOT


def package_module() -> ModuleType:
    path = REPO_ROOT / "plugins" / "modules" / "medledger_chaincode_package.py"
    spec = importlib.util.spec_from_file_location("medledger_chaincode_package", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def members(archive: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return {member.name: tar.extractfile(member).read() for member in tar.getmembers()}  # type: ignore[union-attr]


def test_the_package_is_the_same_bytes_every_time() -> None:
    module = package_module()
    assert module.package("patient_data_1.0", "127.0.0.1:9999", "10s") == module.package(
        "patient_data_1.0", "127.0.0.1:9999", "10s"
    )
    assert module.package("patient_data_1.0", "127.0.0.1:9999", "10s") != module.package(
        "patient_data_1.1", "127.0.0.1:9999", "10s"
    )


def test_the_peers_builder_claims_and_builds_the_package(tmp_path: Path) -> None:
    outer = members(package_module().package("patient_data_1.0", "127.0.0.1:9999", "10s"))
    assert sorted(outer) == ["code.tar.gz", "metadata.json"]
    assert json.loads(outer["metadata.json"]) == {"label": "patient_data_1.0", "type": "ccaas"}
    source, metadata, output = tmp_path / "src", tmp_path / "meta", tmp_path / "out"
    source.mkdir()
    metadata.mkdir()
    (metadata / "metadata.json").write_bytes(outer["metadata.json"])
    for name, content in members(outer["code.tar.gz"]).items():
        (source / name).write_bytes(content)
    builder = tmp_path / "bin"
    builder.mkdir()
    for step in ("detect", "build"):
        (builder / step).symlink_to(REPO_ROOT / "roles" / "fabric_peer" / "files" / "medledger_ccaas_builder.py")

    def run(step: str, *folders: Path) -> int:
        return subprocess.run([sys.executable, str(builder / step), *map(str, folders)], check=False).returncode

    assert run("detect", source, metadata) == 0
    assert run("build", source, metadata, output) == 0
    assert json.loads((output / "connection.json").read_text()) == {"address": "127.0.0.1:9999", "dial_timeout": "10s"}


def test_run_as_a_program_without_ansible_it_writes_the_same_package_and_prints_its_id(tmp_path: Path) -> None:
    """The cluster's images have no Ansible: `-I -S` hides the virtualenv's, as python3 there has none."""
    program = REPO_ROOT / "plugins" / "modules" / "medledger_chaincode_package.py"
    target = tmp_path / "patient_data_1.0.tar.gz"

    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["/usr/bin/python3", "-I", "-S", str(program), "--write", *arguments],
                              capture_output=True, text=True, check=False)  # fmt: skip

    written = run(str(target), "patient_data_1.0", "127.0.0.1:9999")
    assert written.returncode == 0, written.stderr
    expected = package_module().package("patient_data_1.0", "127.0.0.1:9999", "10s")
    assert target.read_bytes() == expected
    assert written.stdout.strip() == f"patient_data_1.0:{hashlib.sha256(expected).hexdigest()}"
    refused = run(str(tmp_path / "other.tar.gz"), "patient data", "127.0.0.1:9999")
    assert refused.returncode == 2
    assert "label 'patient data' may only hold letters, digits and _ . + -" in refused.stderr
    assert not (tmp_path / "other.tar.gz").exists()
