"""medledger-k8s: a single-node upstream Kubernetes cluster on this machine, from our own builds.

`up` starts containerd (Debian's, an instance of its own), etcd and the control plane, the kubelet and
kube-proxy (built by `make k8s-artifacts`), imports the images, and applies the cluster's DNS; it waits for
each and says what it waits for. `down` removes every trace: pods, mounts, interfaces, firewall rules,
folders. Both are idempotent. The node needs root: it owns cgroups, mounts and iptables.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
import json
import os
import shlex
import signal
import ssl
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import yaml

from medledger_tools.k8s import component_images, components, images
from medledger_tools.k8s.layout import KUBERNETES_VERSION, Layout
from medledger_tools.k8s.pki import ensure_pki
from medledger_tools.lab import (
    BASE_IMAGE,
    LabError,
    check_host_addresses,
    ensure_base_image,
    ensure_engine,
    ensure_packages,
    lab_dir,
)

START_TIMEOUT = 120.0
NODE_TIMEOUT = 180.0
STOP_TIMEOUT = 15.0
ADDONS = Path(__file__).with_name("addons.yaml")
FORWARD_CHAIN = "MEDLEDGER-K8S-FORWARD"
# The medledger-local storage class's volumes: enough for the paper's topology on one node.
LOCAL_VOLUMES = 32
LOCAL_VOLUME_SIZE = "5Gi"
# Debian packages the node needs beyond containerd and runc (Docker's dependencies already).
PACKAGES = {"containerd": "containerd", "runc": "runc", "conntrack": "conntrack", "iptables": "iptables",
            "/usr/lib/cni/bridge": "containernetworking-plugins", "/bin/busybox": "busybox-static"}  # fmt: skip
# The toolbox image (tests and chart test hooks: nslookup, wget, nc): Debian's static busybox.
BUSYBOX = Path("/bin/busybox")


class ClusterError(Exception):
    """The cluster could not be brought up or down; one line for the operator."""


def progress(message: str) -> None:
    print(f"k8s: {message}", file=sys.stderr, flush=True)


def run(command: Sequence[str], check: bool = True, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(list(command), capture_output=True, text=True, check=False, env=env)
    if check and result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise ClusterError(f"`{' '.join(command[:4])}` failed: {lines[-1] if lines else result.returncode}")
    return result.stdout


# --- binaries and images ------------------------------------------------------------------------


def artifact_bin(artifacts: Path, artifact: str) -> Path:
    """The bin folder of an artifact of the manifest (make k8s-artifacts)."""
    manifest_path = artifacts / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {"artifacts": {}}
    entry = manifest["artifacts"].get(artifact)
    if entry is None:
        raise ClusterError(f"no {artifact} in {manifest_path}: run `make k8s-artifacts` first")
    return artifacts / str(entry["root"]) / "bin"


def binary_finder(artifacts: Path) -> dict[str, str]:
    kubernetes = artifact_bin(artifacts, "kubernetes")
    commands = {name: str(kubernetes / name) for name in (
        "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl")}  # fmt: skip
    commands["etcd"] = str(artifact_bin(artifacts, "etcd") / "etcd")
    return commands


def cluster_images(artifacts: Path) -> list[images.ImageSpec]:
    kubernetes, coredns = artifact_bin(artifacts, "kubernetes"), artifact_bin(artifacts, "coredns")
    coredns_version = json.loads((artifacts / "manifest.json").read_text())["artifacts"]["coredns"]["version"]
    pause_name, pause_tag = components.PAUSE_IMAGE.removeprefix(f"{images.REGISTRY}/").split(":")
    return [
        images.ImageSpec(pause_name, pause_tag, {"/pause": kubernetes / "pause"}, ["/pause"], user="65535"),
        images.ImageSpec("coredns", coredns_version, {"/coredns": coredns / "coredns"}, ["/coredns"]),
        images.ImageSpec("toolbox", busybox_version(), {"/bin/busybox": BUSYBOX}, ["/bin/busybox"], user="65534"),
    ]


def busybox_version() -> str:
    """Debian's package version as an image tag (1:1.35.0-4+deb12u1+b1 -> 1.35.0-4-deb12u1-b1)."""
    version = run(["dpkg-query", "--showformat=${Version}", "--show", "busybox-static"]).split(":")[-1]
    return version.replace("+", "-").replace("~", "-")


def import_images(layout: Layout, specs: Sequence[images.ImageSpec]) -> None:
    ctr = ["ctr", "--address", str(layout.containerd_socket), "--namespace", "k8s.io"]
    present = set(run([*ctr, "images", "list", "--quiet"]).split())
    with tempfile.TemporaryDirectory(prefix="medledger-k8s-image-") as work:
        for spec in specs:
            if spec.reference in present:
                continue
            archive = Path(work) / f"{spec.name}.tar"
            images.write_image_archive(spec, archive)
            progress(f"importing {spec.reference}")
            run([*ctr, "images", "import", "--platform", "linux/amd64", str(archive)])


IMAGE_ID_LABEL = "org.medledger.image-id"


def import_component_images(layout: Layout, built: Sequence[tuple[str, str]]) -> None:
    """Hand each built image to the cluster's containerd, unless it holds that very build already."""
    ctr = ["ctr", "--address", str(layout.containerd_socket), "--namespace", "k8s.io"]
    for ref, image_id in built:
        listed = run([*ctr, "images", "list", f"name=={ref}"]).splitlines()[1:]
        if listed and f"{IMAGE_ID_LABEL}={image_id}" in listed[0]:
            continue
        progress(f"importing {ref}")
        save = subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE)
        imported = subprocess.run([*ctr, "images", "import", "--platform", "linux/amd64", "-"], stdin=save.stdout,
                                  capture_output=True, text=True, check=False)  # fmt: skip
        if save.wait() != 0 or imported.returncode != 0:
            raise ClusterError(f"importing {ref}: {imported.stderr.strip() or 'docker save failed'}")
        run([*ctr, "images", "label", ref, f"{IMAGE_ID_LABEL}={image_id}"])


def cmd_images(layout: Layout, artifacts: Path, names: Sequence[str]) -> int:
    """Build the components' images (Docker, the lab's base image) and import them into the running cluster."""
    if not layout.containerd_socket.exists():
        raise ClusterError("the cluster is not up (make k8s-up)")
    client = ensure_engine(lab_dir())
    ensure_base_image(client)
    unknown = sorted(set(names) - {component.name for component in component_images.COMPONENTS})
    if unknown:
        raise ClusterError(f"no image named {', '.join(unknown)}")
    progress("building the components' images (minutes the first time)")
    import_component_images(layout, component_images.build_all(artifacts, BASE_IMAGE, names))
    return 0


# --- daemons ------------------------------------------------------------------------------------


def pid_file(layout: Layout, name: str) -> Path:
    return layout.run / f"{name}.pid"


def running_pid(layout: Layout, daemon: components.Daemon) -> int | None:
    """The daemon's pid if its pid file names a live process running its binary."""
    path = pid_file(layout, daemon.name)
    try:
        pid = int(path.read_text())
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None
    return pid if runs(Path(f"/proc/{pid}"), daemon) and state != "Z" else None


def runs(process: Path, daemon: components.Daemon) -> bool:
    """Whether the process (its /proc folder) runs the daemon's binary, also once that file was replaced (an
    artifact installed again unpacks afresh: the kernel then names the old one "<path> (deleted)")."""
    try:
        executable = os.readlink(process / "exe")
    except OSError:
        return False
    return Path(executable.removesuffix(" (deleted)")) == Path(daemon.binary).resolve()


def probe_ready(layout: Layout, probe: components.Probe) -> bool:
    if probe.socket is not None:
        if not probe.socket.exists():
            return False
        result = subprocess.run(["ctr", "--address", str(probe.socket), "version"], capture_output=True, check=False)
        return result.returncode == 0
    context = None
    if probe.url.startswith("https"):
        if probe.client:
            context = ssl.create_default_context(cafile=str(layout.pki_file(f"{probe.ca}.crt")))
            context.load_cert_chain(layout.pki_file(f"{probe.client}.crt"), layout.pki_file(f"{probe.client}.key"))
        else:
            # The controller manager's and scheduler's health ports on loopback serve self-signed certificates.
            context = ssl._create_unverified_context()  # noqa: S323
    try:
        with urllib.request.urlopen(probe.url, timeout=3, context=context) as answer:  # noqa: S310 (our own URLs)
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_daemon(layout: Layout, daemon: components.Daemon) -> None:
    if running_pid(layout, daemon) is None:
        log_path = layout.log_dir / f"{daemon.name}.log"
        progress(f"starting {daemon.name} (log: {log_path})")
        with log_path.open("ab") as log:
            # Its own session: the daemon outlives this command and ignores the terminal's signals.
            process = subprocess.Popen([daemon.binary, *daemon.arguments], stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        pid_file(layout, daemon.name).write_text(str(process.pid))
    wait_for(lambda: probe_ready(layout, daemon.probe), START_TIMEOUT, f"{daemon.name} ready",
             lambda: running_pid(layout, daemon) is not None, layout.log_dir / f"{daemon.name}.log")  # fmt: skip


def wait_for(condition: object, timeout: float, what: str, alive: object = None, log_path: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        if callable(alive) and not alive():
            raise ClusterError(f"{what}: the process exited; last lines of {log_path}:\n{tail(log_path)}")
        time.sleep(1)
    raise ClusterError(f"{what}: not within {timeout:.0f} s" + (f"; last lines of {log_path}:\n{tail(log_path)}"
                                                                  if log_path else ""))  # fmt: skip


def tail(path: Path | None, lines: int = 8) -> str:
    if path is None or not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_daemon(layout: Layout, daemon: components.Daemon) -> None:
    """Stop the daemon its pid file names, and any other process of its binary serving this cluster (its
    arguments name the cluster's folders): an `up` that found the ports taken by a cluster whose `down` had
    stopped half-way wrote pid files of processes that died at once, and the old ones went on serving."""
    pids = {pid for pid in (running_pid(layout, daemon), *cluster_processes(layout, daemon)) if pid is not None}
    for pid in pids:
        progress(f"stopping {daemon.name} ({pid})")
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
        time.sleep(0.3)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    pid_file(layout, daemon.name).unlink(missing_ok=True)


def cluster_processes(layout: Layout, daemon: components.Daemon | None, proc: Path = Path("/proc")) -> list[int]:
    """Live processes of the daemon's binary (of any, without one: the containers' shims) whose arguments name this
    cluster's folders (Docker's own containerd, the same binary, names none of them)."""
    ours = (str(layout.state), str(layout.run))
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or (daemon is not None and not runs(entry, daemon)):
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(root in arguments for root in ours):
            found.append(int(entry.name))
    return found


# --- host networking ----------------------------------------------------------------------------


def interface_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True, check=False).returncode == 0


def node_address_present(layout: Layout) -> bool:
    answer = json.loads(run(["ip", "-json", "address", "show", "dev", "lo"]) or "[]")
    return any(info.get("local") == str(layout.node_address) for entry in answer for info in entry["addr_info"])


def ensure_node_address(layout: Layout) -> None:
    """The node's address on loopback (this machine's kernel has no dummy interfaces): reachable from this
    machine and its pods, routed nowhere else."""
    if not node_address_present(layout):
        for network in (layout.pod_cidr, layout.service_cidr, ipaddress.IPv4Network(f"{layout.node_address}/32")):
            check_host_addresses(network, None)
        run(["ip", "address", "add", f"{layout.node_address}/32", "dev", "lo"])
    # Pod to service to pod on one bridge needs the bridge's frames through iptables (kube-proxy's DNAT).
    for setting in ("net.ipv4.ip_forward", "net.bridge.bridge-nf-call-iptables"):
        if Path("/proc/sys", *setting.split(".")).read_text().strip() != "1":
            run(["sysctl", "-q", "-w", f"{setting}=1"])


def ensure_forward_rule(layout: Layout) -> None:
    """Pods send to the pod network and this machine only: whatever they forward elsewhere is dropped."""
    pods = str(layout.pod_cidr)
    if subprocess.run(["iptables", "-n", "-L", FORWARD_CHAIN], capture_output=True, check=False).returncode != 0:
        run(["iptables", "-N", FORWARD_CHAIN])
        run(["iptables", "-A", FORWARD_CHAIN, "-s", pods, "!", "-d", pods, "-j", "DROP"])
    jump = ["FORWARD", "-j", FORWARD_CHAIN]
    if subprocess.run(["iptables", "-C", *jump], capture_output=True, check=False).returncode != 0:
        run(["iptables", "-I", *jump])


# The kubelet's own chains (kube-proxy --cleanup removes kube-proxy's): the chain, then who jumps to it.
KUBELET_CHAINS = ("KUBE-FIREWALL", "KUBE-KUBELET-CANARY", "KUBE-IPTABLES-HINT")


def remove_kubelet_chains() -> None:
    for command in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            rules = run([command, "-t", table, "-S"], check=False).splitlines()
            for rule in rules:
                words = shlex.split(rule)
                if words[:1] == ["-A"] and "-j" in words and words[words.index("-j") + 1] in KUBELET_CHAINS:
                    run([command, "-t", table, "-D", *words[1:]], check=False)
            for chain in KUBELET_CHAINS:
                if f"-N {chain}" in rules:
                    run([command, "-t", table, "-F", chain], check=False)
                    run([command, "-t", table, "-X", chain], check=False)


def remove_cni_firewall_rules(layout: Layout) -> None:
    """The CNI firewall plugin's rules for our pods (their containers were killed, not torn down through CNI),
    then its chains if no other user of CNI on this machine has rules in them."""
    rules = run(["iptables", "-S", "CNI-FORWARD"], check=False).splitlines()
    for rule in rules:
        words = shlex.split(rule)
        addresses = [words[index + 1] for index, word in enumerate(words[:-1]) if word in ("-s", "-d")]
        ours = any(ipaddress.IPv4Network(address).subnet_of(layout.pod_cidr) for address in addresses)
        if words[:1] == ["-A"] and ours:
            run(["iptables", "-D", *words[1:]], check=False)
    left = [rule for rule in run(["iptables", "-S", "CNI-FORWARD"], check=False).splitlines() if rule.startswith("-A")]
    if rules and all(rule.endswith("-j CNI-ADMIN") for rule in left):
        for rule in run(["iptables", "-S", "FORWARD"]).splitlines():
            if rule.endswith("-j CNI-FORWARD"):
                run(["iptables", "-D", *shlex.split(rule)[1:]], check=False)
        for chain in ("CNI-FORWARD", "CNI-ADMIN"):
            run(["iptables", "-F", chain], check=False)
            run(["iptables", "-X", chain], check=False)


def remove_host_networking(layout: Layout) -> None:
    remove_kubelet_chains()
    remove_cni_firewall_rules(layout)
    jump = ["FORWARD", "-j", FORWARD_CHAIN]
    while subprocess.run(["iptables", "-C", *jump], capture_output=True, check=False).returncode == 0:
        run(["iptables", "-D", *jump])
    run(["iptables", "-F", FORWARD_CHAIN], check=False)
    run(["iptables", "-X", FORWARD_CHAIN], check=False)
    if interface_exists(layout.bridge):
        run(["ip", "link", "delete", layout.bridge])
    if node_address_present(layout):
        run(["ip", "address", "delete", f"{layout.node_address}/32", "dev", "lo"])


# --- up, down, status ---------------------------------------------------------------------------


def kubectl(layout: Layout, binaries: dict[str, str], *arguments: str, check: bool = True) -> str:
    return run([binaries["kubectl"], f"--kubeconfig={layout.admin_kubeconfig}", *arguments], check=check)


def local_volumes(layout: Layout) -> list[dict[str, object]]:
    """The storage class's volumes: folders under the cluster's state, owned by the images' user (1000), each a
    `local` volume (unlike hostPath, the kubelet applies a pod's fsGroup to it)."""
    documents: list[dict[str, object]] = []
    for index in range(LOCAL_VOLUMES):
        folder = layout.state / "volumes" / f"pv-{index:02d}"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chown(folder, component_images.USER_ID, component_images.USER_ID)
        documents.append({
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"medledger-local-{index:02d}"},
            "spec": {
                "capacity": {"storage": LOCAL_VOLUME_SIZE},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "medledger-local",
                "local": {"path": str(folder)},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": [layout.node_name]}]}]}},
            },
        })  # fmt: skip
    return documents


def apply_addons(layout: Layout, binaries: dict[str, str], coredns_image: str) -> None:
    text = string.Template(ADDONS.read_text()).substitute(
        cluster_dns=layout.cluster_dns, cluster_domain=layout.cluster_domain, coredns_image=coredns_image
    )
    text += "".join(f"---\n{yaml.safe_dump(volume)}" for volume in local_volumes(layout))
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as manifest:
        manifest.write(text)
        manifest.flush()
        kubectl(layout, binaries, "apply", "--server-side", "--field-manager=medledger-k8s", "-f", manifest.name)


def cmd_up(layout: Layout, artifacts: Path) -> int:
    if os.geteuid() != 0:
        raise ClusterError("the node needs root (cgroups, mounts, iptables)")
    binaries = binary_finder(artifacts)
    ensure_packages(PACKAGES)
    for folder in (layout.state, layout.run, layout.log_dir):
        folder.mkdir(parents=True, exist_ok=True)
    layout.state.chmod(0o700)
    ensure_node_address(layout)
    ensure_forward_rule(layout)
    ensure_pki(layout.pki(), layout.api_server)
    components.write_configs(layout)
    specs = cluster_images(artifacts)
    for daemon in components.daemons(layout, binaries.__getitem__):
        start_daemon(layout, daemon)
        if daemon.name == "containerd":
            import_images(layout, specs)
    progress(f"waiting for node {layout.node_name} to be Ready")
    wait_for(lambda: node_ready(layout, binaries), NODE_TIMEOUT, f"node {layout.node_name} Ready",
             log_path=layout.log_dir / "kubelet.log")  # fmt: skip
    apply_addons(layout, binaries, next(spec.reference for spec in specs if spec.name == "coredns"))
    progress("waiting for the cluster's DNS")
    kubectl(layout, binaries, "--namespace=kube-system", "rollout", "status", "deployment/coredns",
            f"--timeout={NODE_TIMEOUT:.0f}s")  # fmt: skip
    progress(f"up: Kubernetes {KUBERNETES_VERSION}, one node; KUBECONFIG={layout.admin_kubeconfig}")
    return 0


def node_ready(layout: Layout, binaries: dict[str, str]) -> bool:
    jsonpath = '{.status.conditions[?(@.type=="Ready")].status}'
    answer = kubectl(layout, binaries, "get", "node", layout.node_name, f"-o=jsonpath={jsonpath}", check=False)
    return answer.strip() == "True"


def remove_containers(layout: Layout) -> None:
    ctr = ["ctr", "--address", str(layout.containerd_socket), "--namespace", "k8s.io"]
    for task in run([*ctr, "tasks", "list", "--quiet"], check=False).split():
        run([*ctr, "tasks", "kill", "--signal", "SIGKILL", task], check=False)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and run([*ctr, "tasks", "list", "--quiet"], check=False).split():
        for task in run([*ctr, "tasks", "list", "--quiet"], check=False).split():
            run([*ctr, "tasks", "delete", "--force", task], check=False)
        time.sleep(0.5)
    for container in run([*ctr, "containers", "list", "--quiet"], check=False).split():
        run([*ctr, "containers", "delete", container], check=False)


def our_mounts(layout: Layout) -> list[str]:
    """Mount points under the cluster's folders and the pods' network namespaces, deepest first."""
    roots = (str(layout.state), str(layout.run), "/run/netns/cni-", "/var/run/netns/cni-")
    points = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    return sorted({point for point in points if point.startswith(roots)}, key=len, reverse=True)


def remove_cgroups() -> None:
    """The kubelet's cgroup trees (kubepods), children before parents; a process a container left behind in
    one is killed first (a cgroup with a process cannot be removed)."""
    for controller in Path("/sys/fs/cgroup").iterdir():
        tree = controller / "kubepods"
        if tree.is_dir():
            for folder in sorted((path for path in tree.rglob("*") if path.is_dir()), key=lambda p: len(p.parts),
                                 reverse=True):  # fmt: skip
                remove_cgroup(folder)
            remove_cgroup(tree)


def remove_cgroup(folder: Path) -> None:
    deadline = time.monotonic() + STOP_TIMEOUT
    while True:
        for pid in (folder / "cgroup.procs").read_text().split() if (folder / "cgroup.procs").exists() else ():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        try:
            folder.rmdir()
            return
        except OSError as error:
            if error.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def cmd_down(layout: Layout, artifacts: Path) -> int:
    if os.geteuid() != 0:
        raise ClusterError("removing the node needs root")
    try:
        binaries = binary_finder(artifacts)
    except ClusterError:
        binaries = {}
    listed = components.daemons(layout, lambda name: binaries.get(name, name))
    running = bool(cluster_processes(layout, None))  # daemons or shims an earlier `down` left
    if not layout.state.exists() and not node_address_present(layout) and not running:
        progress("down: nothing to remove")
        return 0
    for daemon in reversed(listed[1:]):
        stop_daemon(layout, daemon)
    if layout.containerd_socket.exists():
        remove_containers(layout)
    stop_daemon(layout, listed[0])
    # The containers' shims outlive a containerd that stopped before it could remove them.
    for pid in cluster_processes(layout, None):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if "kube-proxy" in binaries:
        run([binaries["kube-proxy"], "--cleanup"], check=False)
    for point in our_mounts(layout):
        run(["umount", "--lazy", point], check=False)
    for netns in Path("/run/netns").glob("cni-*"):
        netns.unlink(missing_ok=True)
    remove_cgroups()
    remove_host_networking(layout)
    run(["rm", "-rf", "--one-file-system", str(layout.state), str(layout.run)])
    progress("down: the node, its pods and its files are gone")
    return 0


def cmd_status(layout: Layout, artifacts: Path) -> int:
    binaries = binary_finder(artifacts)
    down = 0
    for daemon in components.daemons(layout, binaries.__getitem__):
        pid = running_pid(layout, daemon)
        ready = pid is not None and probe_ready(layout, daemon.probe)
        down += not ready
        print(f"{daemon.name:<24} {'ready' if ready else 'running' if pid else 'stopped'}")
    if not down:
        print(kubectl(layout, binaries, "get", "nodes,pods", "--all-namespaces", "-o", "wide", check=False))
    return 1 if down else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medledger-k8s", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status", "images", "kubeconfig"])
    parser.add_argument("names", nargs="*", help="images: only these components (default: every one)")
    parser.add_argument("--artifacts", type=Path, default=Path(os.environ.get("ARTIFACTS_DIR", "artifacts")))
    args = parser.parse_args(argv)
    layout = Layout()
    if args.command == "kubeconfig":
        print(layout.admin_kubeconfig)
        return 0
    commands = {"up": cmd_up, "down": cmd_down, "status": cmd_status}
    try:
        if args.command == "images":
            return cmd_images(layout, args.artifacts, args.names)
        return commands[args.command](layout, args.artifacts)
    except (ClusterError, LabError, RuntimeError) as error:
        print(f"k8s: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
