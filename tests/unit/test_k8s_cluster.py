"""The single-node cluster's pieces that need no root: certificates, images, configuration."""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import stat
import tarfile
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from medledger_tools.k8s import cluster, component_images, components, images
from medledger_tools.k8s.layout import Layout
from medledger_tools.k8s.pki import ensure_pki


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(state=tmp_path / "state", run=tmp_path / "run")


def test_every_key_is_private_and_a_second_run_keeps_every_file(layout: Layout) -> None:
    ensure_pki(layout.pki(), layout.api_server)
    files = sorted(layout.pki_dir.iterdir())
    keys = [path for path in files if path.suffix == ".key"]
    assert len(keys) >= 12
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in keys)
    assert stat.S_IMODE(layout.pki_dir.stat().st_mode) == 0o700
    before = {path.name: path.read_bytes() for path in files}
    ensure_pki(layout.pki(), layout.api_server)
    assert {path.name: path.read_bytes() for path in sorted(layout.pki_dir.iterdir())} == before


def certificate(layout: Layout, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(layout.pki_file(f"{name}.crt").read_bytes())


def test_the_api_server_answers_to_its_service_address_and_etcd_trusts_only_its_own_ca(layout: Layout) -> None:
    ensure_pki(layout.pki(), layout.api_server)
    names = certificate(layout, "apiserver").extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert layout.kubernetes_service in names.get_values_for_type(x509.IPAddress)
    assert layout.node_address in names.get_values_for_type(x509.IPAddress)
    assert "kubernetes.default.svc.cluster.local" in names.get_values_for_type(x509.DNSName)
    etcd_issuer = certificate(layout, "apiserver-etcd-client").issuer
    assert etcd_issuer == certificate(layout, "etcd-ca").subject != certificate(layout, "ca").subject
    assert certificate(layout, "admin").issuer == certificate(layout, "ca").subject


def test_a_kubeconfig_names_its_key_file_and_holds_no_key(layout: Layout) -> None:
    ensure_pki(layout.pki(), layout.api_server)
    text = layout.admin_kubeconfig.read_text()
    assert "PRIVATE KEY" not in text
    user = yaml.safe_load(text)["users"][0]["user"]
    assert user["client-key"] == str(layout.pki_file("admin.key"))
    assert yaml.safe_load(text)["clusters"][0]["cluster"]["server"] == "https://10.250.0.1:6443"


def test_the_networks_do_not_overlap_and_pods_are_not_masqueraded(layout: Layout) -> None:
    networks = [layout.pod_cidr, layout.service_cidr, ipaddress.IPv4Network(f"{layout.node_address}/32")]
    assert not any(a.overlaps(b) for index, a in enumerate(networks) for b in networks[index + 1 :])
    bridge = layout.cni_config()["plugins"][0]
    assert bridge["ipMasq"] is False and bridge["ipam"]["ranges"] == [[{"subnet": "10.250.64.0/24"}]]


def test_no_daemon_listens_beyond_the_node_address_or_loopback(layout: Layout) -> None:
    listed = {daemon.name: daemon.arguments for daemon in components.daemons(layout, lambda name: f"/bin/{name}")}
    assert "--listen-client-urls=https://127.0.0.1:2379" in listed["etcd"]
    assert "--client-cert-auth" in listed["etcd"] and "--peer-client-cert-auth" in listed["etcd"]
    assert "--bind-address=10.250.0.1" in listed["kube-apiserver"]
    assert "--anonymous-auth=false" in listed["kube-apiserver"]
    assert "--bind-address=127.0.0.1" in listed["kube-scheduler"]
    kubelet = components.kubelet_config(layout)
    assert kubelet["readOnlyPort"] == 0 and kubelet["address"] == "10.250.0.1"
    assert kubelet["authentication"] == {
        "anonymous": {"enabled": False},
        "webhook": {"enabled": True},
        "x509": {"clientCAFile": str(layout.pki_file("ca.crt"))},
    }
    assert components.kube_proxy_config(layout)["nodePortAddresses"] == ["10.250.0.1/32"]


def test_secrets_are_encrypted_with_a_key_made_once(layout: Layout) -> None:
    layout.pki_dir.mkdir(parents=True)
    components.write_configs(layout)
    path = layout.pki_file("encryption.yaml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_bytes()
    components.write_configs(layout)
    assert path.read_bytes() == first
    provider = yaml.safe_load(first)["resources"][0]["providers"][0]
    assert "secretbox" in provider, "identity (plain text) is only the fallback for reading"


def test_an_image_archive_is_the_same_bytes_for_the_same_files(tmp_path: Path) -> None:
    program = tmp_path / "server"
    program.write_bytes(b"\x7fELF demo")
    program.chmod(0o755)
    spec = images.ImageSpec("demo", "1.0", {"/usr/bin/server": program}, ["/usr/bin/server"], user="1000")
    first = images.write_image_archive(spec, tmp_path / "a.tar")
    second = images.write_image_archive(spec, tmp_path / "b.tar")
    assert first == second
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    program.write_bytes(b"\x7fELF changed")
    assert images.write_image_archive(spec, tmp_path / "c.tar") != first


def test_an_image_archive_is_an_oci_layout_named_for_containerd(tmp_path: Path) -> None:
    program = tmp_path / "server"
    program.write_bytes(b"\x7fELF demo")
    program.chmod(0o755)
    spec = images.ImageSpec("demo", "1.0", {"/usr/bin/server": program}, ["/usr/bin/server"])
    digest = images.write_image_archive(spec, tmp_path / "image.tar")
    with tarfile.open(tmp_path / "image.tar") as archive:
        blobs = {name: archive.extractfile(name).read() for name in archive.getnames()}  # type: ignore[union-attr]
    index = json.loads(blobs["index.json"])
    assert index["manifests"][0]["annotations"]["io.containerd.image.name"] == "medledger.local/demo:1.0"
    assert index["manifests"][0]["digest"] == digest
    for name, data in blobs.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    manifest = json.loads(blobs[f"blobs/sha256/{digest.split(':')[1]}"])
    layer = blobs[f"blobs/sha256/{manifest['layers'][0]['digest'].split(':')[1]}"]
    with tarfile.open(fileobj=io.BytesIO(layer)) as files:
        members = {member.name: member for member in files.getmembers()}
    assert list(members) == ["usr", "usr/bin", "usr/bin/server"]
    assert members["usr/bin/server"].mode == 0o755 and members["usr/bin/server"].uid == 0


def test_every_component_image_runs_unprivileged_from_its_pinned_artifact_or_debians_packages() -> None:
    for component in component_images.COMPONENTS:
        text = component_images.dockerfile(component, "medledger-lab-base:bookworm")
        assert text.startswith("FROM medledger-lab-base:bookworm\n")
        assert (f"COPY artifact /opt/medledger/{component.artifact}\n" in text) == bool(component.artifact)
        assert bool(component.artifact) != bool(component.version), "tagged by its artifact or its packages"
        assert text.rstrip().splitlines()[-2:] == ["USER 1000", "WORKDIR /var/lib/medledger"]
    services = component_images.dockerfile(component_images.COMPONENTS[-1], "base")
    assert "pip install --no-index --require-hashes" in services
    assert "ENV PATH=/opt/medledger/venv/bin:" in services
    assert "ENV PATH=/opt/medledger/kafka/bin:" in component_images.dockerfile(component_images.COMPONENTS[1], "base")
    postgresql = next(component for component in component_images.COMPONENTS if component.name == "postgresql")
    assert "install -y --no-install-recommends ca-certificates postgresql-15 &&" in component_images.dockerfile(
        postgresql, "base"
    )


def test_an_image_is_rebuilt_when_its_artifact_or_its_recipe_changes() -> None:
    recipe = component_images.dockerfile(component_images.COMPONENTS[0], "base")
    digest = component_images.inputs_digest(recipe, "a" * 64)
    assert digest == component_images.inputs_digest(recipe, "a" * 64)
    assert digest != component_images.inputs_digest(recipe, "b" * 64)
    assert digest != component_images.inputs_digest(recipe + "RUN true\n", "a" * 64)


def test_down_finds_the_clusters_daemons_also_once_their_binary_was_unpacked_again(
    layout: Layout, tmp_path: Path
) -> None:
    """An artifact installed again (every `make k8s-artifacts`) replaces the binaries a running cluster runs; the
    kernel then names each "<path> (deleted)", and `down` had taken the daemons for stopped and left them running.
    Docker's own containerd, the same binary, is not the cluster's: its arguments name none of its folders."""
    binary = tmp_path / "artifacts" / "etcd"
    binary.parent.mkdir()
    binary.write_text("")
    etcd = components.Daemon("etcd", str(binary), [], components.Probe())
    proc = tmp_path / "proc"

    def process(pid: int, executable: str, *arguments: str) -> None:
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "exe").symlink_to(executable)
        (proc / str(pid) / "cmdline").write_bytes(b"\0".join(argument.encode() for argument in arguments))

    process(101, f"{binary} (deleted)", str(binary), f"--data-dir={layout.state}/etcd")
    process(102, str(binary), str(binary), f"--data-dir={layout.state}/etcd")
    process(103, str(binary), str(binary), "--data-dir=/var/lib/someone-elses")
    process(104, "/usr/bin/sleep", "sleep", str(layout.state))
    (proc / "self").mkdir()
    assert sorted(cluster.cluster_processes(layout, etcd, proc)) == [101, 102]
    assert sorted(cluster.cluster_processes(layout, None, proc)) == [101, 102, 104], "any binary naming its folders"
