"""Where the single-node cluster lives on this machine: its addresses, folders, certificates and configs.

Every address is private to this machine. The node's address sits on loopback, the pods
on a bridge of their own with no masquerading (a pod reaches the node and other pods, nothing beyond), and
the API server, kubelet and etcd listen on the node's address or loopback only.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medledger_tools.k8s.pki import Kubeconfig, Leaf, Pki

KUBERNETES_VERSION = "1.37.2"
NODE_ADDRESS = ipaddress.IPv4Address("10.250.0.1")
POD_CIDR = ipaddress.IPv4Network("10.250.64.0/24")
SERVICE_CIDR = ipaddress.IPv4Network("10.250.128.0/24")


@dataclass(frozen=True)
class Layout:
    node_name: str = "medledger-k8s"
    node_address: ipaddress.IPv4Address = NODE_ADDRESS
    pod_cidr: ipaddress.IPv4Network = POD_CIDR
    service_cidr: ipaddress.IPv4Network = SERVICE_CIDR
    bridge: str = "mlk8s-br0"
    cluster_domain: str = "cluster.local"
    state: Path = Path("/var/lib/medledger-k8s")
    run: Path = Path("/run/medledger-k8s")

    @property
    def api_server(self) -> str:
        return f"https://{self.node_address}:6443"

    @property
    def kubernetes_service(self) -> ipaddress.IPv4Address:
        return self.service_cidr[1]

    @property
    def cluster_dns(self) -> ipaddress.IPv4Address:
        return self.service_cidr[10]

    @property
    def pki_dir(self) -> Path:
        return self.state / "pki"

    @property
    def config_dir(self) -> Path:
        return self.state / "config"

    @property
    def log_dir(self) -> Path:
        return self.state / "logs"

    @property
    def containerd_socket(self) -> Path:
        return self.run / "containerd.sock"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.pki_dir / "admin.kubeconfig"

    def pki_file(self, name: str) -> Path:
        return self.pki_dir / name

    def pki(self) -> Pki:
        node, service = str(self.node_address), str(self.kubernetes_service)
        api_names = ("kubernetes", "kubernetes.default", "kubernetes.default.svc",
                     f"kubernetes.default.svc.{self.cluster_domain}")  # fmt: skip
        leaves = [
            Leaf("etcd-server", "etcd", "etcd-ca", server=True, dns_names=("localhost",), addresses=("127.0.0.1",)),
            Leaf("apiserver-etcd-client", "kube-apiserver-etcd-client", "etcd-ca"),
            Leaf(
                "apiserver",
                "kube-apiserver",
                "ca",
                server=True,
                client=False,
                dns_names=api_names,
                addresses=(node, service, "127.0.0.1"),
            ),
            # The API server calling kubelets (logs, exec): bound to system:kubelet-api-admin (addons/).
            Leaf("apiserver-kubelet-client", "kube-apiserver-kubelet-client", "ca"),
            Leaf("admin", "medledger-k8s-admin", "ca", "system:masters"),
            Leaf("controller-manager", "system:kube-controller-manager", "ca"),
            Leaf("scheduler", "system:kube-scheduler", "ca"),
            Leaf("kube-proxy", "system:kube-proxy", "ca"),
            Leaf("kubelet-client", f"system:node:{self.node_name}", "ca", "system:nodes"),
            Leaf(
                "kubelet-server",
                self.node_name,
                "ca",
                server=True,
                client=False,
                dns_names=(self.node_name,),
                addresses=(node,),
            ),
        ]
        users = {"admin": "admin", "controller-manager": "controller-manager", "scheduler": "scheduler",
                 "kube-proxy": "kube-proxy", "kubelet": "kubelet-client"}  # fmt: skip
        kubeconfigs = [Kubeconfig(name, leaf) for name, leaf in users.items()]
        return Pki(self.pki_dir, leaves, kubeconfigs)

    def cni_config(self) -> dict[str, Any]:
        """The bridge plugin from Debian's containernetworking-plugins; no ipMasq: pods reach nothing beyond
        this machine's own addresses (the FORWARD rule in `cluster` drops the rest)."""
        return {
            "cniVersion": "1.0.0",
            "name": "medledger-k8s",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": self.bridge,
                    "isGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": str(self.pod_cidr)}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(self.state / "cni" / "ipam"),
                    },
                },
                # Accepts each pod's own traffic in FORWARD, whose policy Docker sets to DROP.
                {"type": "firewall", "backend": "iptables"},
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }
