"""The cluster's daemons in start order: each one's configuration files, command line and readiness probe."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from medledger_tools.k8s.layout import Layout
from medledger_tools.k8s.pki import write_private

PAUSE_IMAGE = "medledger.local/pause:3.10.2"


@dataclass(frozen=True)
class Probe:
    """What `up` waits for before starting the next daemon: a URL (https with the admin's certificate when
    `client` is set) or a unix socket answering `ctr version`."""

    url: str = ""
    client: str = ""
    ca: str = ""
    socket: Path | None = None


@dataclass(frozen=True)
class Daemon:
    name: str
    binary: str
    arguments: list[str]
    probe: Probe


def containerd_config(layout: Layout) -> str:
    """Our own containerd instance beside any other (Docker's): its own root, state, socket and runc state, the
    CRI plugin with our pause image and our CNI folder, no registry mirror (every image is imported)."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return "\n".join([
        "version = 2",
        f'root = "{layout.state / "containerd"}"',
        f'state = "{layout.run / "containerd"}"',
        "[grpc]",
        f'  address = "{layout.containerd_socket}"',
        "[ttrpc]",
        f'  address = "{layout.run / "containerd-ttrpc.sock"}"',
        f"[{cri}]",
        f'  sandbox_image = "{PAUSE_IMAGE}"',
        # This machine's root lacks CAP_SYS_RESOURCE: no process may lower its OOM score below ours.
        "  restrict_oom_score_adj = true",
        f"[{cri}.containerd]",
        '  snapshotter = "overlayfs"',
        '  default_runtime_name = "runc"',
        f"[{cri}.containerd.runtimes.runc]",
        '  runtime_type = "io.containerd.runc.v2"',
        f"[{cri}.containerd.runtimes.runc.options]",
        "  SystemdCgroup = false",
        f'  Root = "{layout.run / "runc"}"',
        f"[{cri}.cni]",
        '  bin_dir = "/usr/lib/cni"',
        f'  conf_dir = "{layout.config_dir / "cni"}"',
        "",
    ])  # fmt: skip


def kubelet_config(layout: Layout) -> dict[str, object]:
    pki = layout.pki_file
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": str(layout.node_address),
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki("ca.crt"))},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki("kubelet-server.crt")),
        "tlsPrivateKeyFile": str(pki("kubelet-server.key")),
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        # This machine has no systemd and cgroups v1, which 1.35 and later refuse unless told.
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "clusterDNS": [str(layout.cluster_dns)],
        "clusterDomain": layout.cluster_domain,
        # Pods with dnsPolicy Default get no resolver beyond the cluster's own.
        "resolvConf": str(layout.config_dir / "resolv.conf"),
        "evictionHard": {"memory.available": "200Mi", "nodefs.available": "5%", "imagefs.available": "5%"},
        # Imported images cannot be pulled again: never collect them.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
    }


def kube_proxy_config(layout: Layout) -> dict[str, object]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(layout.pki_file("kube-proxy.kubeconfig"))},
        "mode": "iptables",
        "clusterCIDR": str(layout.pod_cidr),
        "hostnameOverride": layout.node_name,
        # NodePorts only on the node's own address, not on every interface of this machine.
        "nodePortAddresses": [f"{layout.node_address}/32"],
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        # Leave the machine's conntrack sysctls alone.
        "conntrack": {"maxPerCore": 0},
    }


def encryption_config(key: bytes) -> dict[str, object]:
    """Secrets (the organisations' keys among them) encrypted in etcd."""
    return {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [
            {
                "resources": ["secrets"],
                "providers": [
                    {"secretbox": {"keys": [{"name": "key1", "secret": base64.b64encode(key).decode()}]}},
                    {"identity": {}},
                ],
            }
        ],
    }


def write_configs(layout: Layout) -> None:
    """Every daemon's configuration file; the secret-encryption key is made once, 0600."""
    folder = layout.config_dir
    (folder / "cni").mkdir(parents=True, exist_ok=True)
    (folder / "containerd.toml").write_text(containerd_config(layout))
    (folder / "cni" / "10-medledger.conflist").write_text(json.dumps(layout.cni_config(), indent=2) + "\n")
    (folder / "kubelet.yaml").write_text(yaml.safe_dump(kubelet_config(layout), sort_keys=False))
    (folder / "kube-proxy.yaml").write_text(yaml.safe_dump(kube_proxy_config(layout), sort_keys=False))
    (folder / "resolv.conf").write_text(f"search {layout.cluster_domain}\nnameserver {layout.cluster_dns}\n")
    encryption = layout.pki_file("encryption.yaml")
    if not encryption.exists():
        write_private(encryption, yaml.safe_dump(encryption_config(os.urandom(32))).encode())


def daemons(layout: Layout, binary: Callable[[str], str]) -> list[Daemon]:
    pki = layout.pki_file
    node = str(layout.node_address)
    kubeconfig = {name: str(pki(f"{name}.kubeconfig")) for name in ("controller-manager", "scheduler", "kubelet")}
    etcd_url = "https://127.0.0.1:2379"
    etcd_tls = [f"--trusted-ca-file={pki('etcd-ca.crt')}", f"--cert-file={pki('etcd-server.crt')}",
                f"--key-file={pki('etcd-server.key')}", "--client-cert-auth"]  # fmt: skip
    peer_tls = [f"--peer-trusted-ca-file={pki('etcd-ca.crt')}", f"--peer-cert-file={pki('etcd-server.crt')}",
                f"--peer-key-file={pki('etcd-server.key')}", "--peer-client-cert-auth"]  # fmt: skip
    return [
        Daemon(
            "containerd",
            "/usr/bin/containerd",
            ["--config", str(layout.config_dir / "containerd.toml")],
            Probe(socket=layout.containerd_socket),
        ),
        Daemon(
            "etcd",
            binary("etcd"),
            [
                "--name=medledger-k8s",
                f"--data-dir={layout.state / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                "--listen-peer-urls=https://127.0.0.1:2380",
                "--initial-advertise-peer-urls=https://127.0.0.1:2380",
                "--initial-cluster=medledger-k8s=https://127.0.0.1:2380",
                *etcd_tls,
                *peer_tls,
            ],
            Probe(url=f"{etcd_url}/health", client="apiserver-etcd-client", ca="etcd-ca"),
        ),
        Daemon(
            "kube-apiserver",
            binary("kube-apiserver"),
            [
                f"--advertise-address={node}",
                f"--bind-address={node}",
                "--secure-port=6443",
                f"--etcd-servers={etcd_url}",
                f"--etcd-cafile={pki('etcd-ca.crt')}",
                f"--etcd-certfile={pki('apiserver-etcd-client.crt')}",
                f"--etcd-keyfile={pki('apiserver-etcd-client.key')}",
                f"--client-ca-file={pki('ca.crt')}",
                f"--tls-cert-file={pki('apiserver.crt')}",
                f"--tls-private-key-file={pki('apiserver.key')}",
                f"--kubelet-client-certificate={pki('apiserver-kubelet-client.crt')}",
                f"--kubelet-client-key={pki('apiserver-kubelet-client.key')}",
                f"--kubelet-certificate-authority={pki('ca.crt')}",
                "--kubelet-preferred-address-types=InternalIP",
                f"--service-cluster-ip-range={layout.service_cidr}",
                f"--service-account-issuer=https://kubernetes.default.svc.{layout.cluster_domain}",
                f"--service-account-key-file={pki('service-accounts.pub')}",
                f"--service-account-signing-key-file={pki('service-accounts.key')}",
                f"--encryption-provider-config={pki('encryption.yaml')}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                "--anonymous-auth=false",
                "--profiling=false",
            ],
            Probe(url=f"{layout.api_server}/readyz", client="admin", ca="ca"),
        ),
        Daemon(
            "kube-controller-manager",
            binary("kube-controller-manager"),
            [
                f"--kubeconfig={kubeconfig['controller-manager']}",
                f"--authentication-kubeconfig={kubeconfig['controller-manager']}",
                f"--authorization-kubeconfig={kubeconfig['controller-manager']}",
                "--bind-address=127.0.0.1",
                f"--cluster-signing-cert-file={pki('ca.crt')}",
                f"--cluster-signing-key-file={pki('ca.key')}",
                f"--root-ca-file={pki('ca.crt')}",
                f"--service-account-private-key-file={pki('service-accounts.key')}",
                f"--service-cluster-ip-range={layout.service_cidr}",
                "--use-service-account-credentials",
                "--leader-elect=false",
                "--profiling=false",
            ],
            Probe(url="https://127.0.0.1:10257/healthz"),
        ),
        Daemon(
            "kube-scheduler",
            binary("kube-scheduler"),
            [
                f"--kubeconfig={kubeconfig['scheduler']}",
                f"--authentication-kubeconfig={kubeconfig['scheduler']}",
                f"--authorization-kubeconfig={kubeconfig['scheduler']}",
                "--bind-address=127.0.0.1",
                "--leader-elect=false",
                "--profiling=false",
            ],
            Probe(url="https://127.0.0.1:10259/healthz"),
        ),
        Daemon(
            "kubelet",
            binary("kubelet"),
            [
                f"--config={layout.config_dir / 'kubelet.yaml'}",
                f"--kubeconfig={kubeconfig['kubelet']}",
                f"--root-dir={layout.state / 'kubelet'}",
                f"--hostname-override={layout.node_name}",
                f"--node-ip={node}",
            ],
            Probe(url="http://127.0.0.1:10248/healthz"),
        ),
        Daemon(
            "kube-proxy",
            binary("kube-proxy"),
            [f"--config={layout.config_dir / 'kube-proxy.yaml'}"],
            Probe(url="http://127.0.0.1:10256/healthz"),
        ),
    ]
