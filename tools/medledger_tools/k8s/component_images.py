"""The components' images for the charts, built here from the artifacts and imported into the cluster.

Each is the lab's Debian base (debootstrap, `medledger-lab-base`) with the Debian packages the component needs
and its artifact under /opt/medledger, tagged `medledger.local/<component>:<the artifact's version>`, labelled
with the digest of what went in: a rebuild happens only when the artifact or the recipe changed, and an import
only when the cluster's copy is not that build. Docker builds them (the lab's engine); `docker save` hands them to
the cluster's containerd. The processes run as the unprivileged user 1000.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medledger_tools.k8s.images import REGISTRY

USER_ID = 1000
INPUTS_LABEL = "org.medledger.inputs"


@dataclass(frozen=True)
class Component:
    """An image: its artifact (manifest name), the Debian packages it runs with, and what runs at build time. An
    image of Debian packages alone has no artifact and is tagged with the packages' major version."""

    name: str
    artifact: str | None
    packages: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()
    path: tuple[str, ...] = ()  # folders put first on PATH; the artifact's bin/ when empty
    version: str = ""  # the tag of an image without an artifact


COMPONENTS = (
    Component("zookeeper", "zookeeper", ("openjdk-17-jre-headless",)),
    Component("kafka", "kafka", ("openjdk-17-jre-headless",)),
    # The peer's chaincode-as-a-service builder is a Python program.
    Component("fabric", "fabric", ("python3",)),
    Component("fabric-ca", "fabric-ca"),
    Component("chaincode", "chaincode"),
    Component("seaweedfs", "seaweedfs"),
    # Debian 12's PostgreSQL, as roles/postgresql installs it on the VMs.
    Component("postgresql", None, ("postgresql-15",), path=("/usr/lib/postgresql/15/bin",), version="15"),
    # The services and the tools (medledger-k8s-enrol among them) from their pinned wheels, without an index.
    Component(
        "services",
        "services",
        ("python3", "python3-venv"),
        (
            "python3 -m venv /opt/medledger/venv",
            "/opt/medledger/venv/bin/pip install --no-index --require-hashes --no-cache-dir"
            " --find-links /opt/medledger/services/wheels -r /opt/medledger/services/requirements.txt",
        ),
        ("/opt/medledger/venv/bin",),
    ),
)


def reference(component: Component, version: str) -> str:
    return f"{REGISTRY}/{component.name}:{version}"


def dockerfile(component: Component, base_image: str) -> str:
    folder = f"/opt/medledger/{component.artifact}"
    packages = " ".join(("ca-certificates", *component.packages))
    path = ":".join(component.path or (f"{folder}/bin",))
    artifact = [f"COPY artifact {folder}"] if component.artifact else []
    lines = [
        f"FROM {base_image}",
        "ENV DEBIAN_FRONTEND=noninteractive",
        f"RUN apt-get update && apt-get install -y --no-install-recommends {packages}"
        " && apt-get clean && rm -rf /var/lib/apt/lists/*",
        f"RUN useradd --system --uid {USER_ID} --user-group --home-dir /var/lib/medledger --create-home medledger",
        *artifact,
        *(f"RUN {command}" for command in component.setup),
        f"ENV PATH={path}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        f"USER {USER_ID}",
        "WORKDIR /var/lib/medledger",
        "",
    ]
    return "\n".join(lines)


def inputs_digest(text: str, artifact_sha256: str) -> str:
    return hashlib.sha256(f"{text}\0{artifact_sha256}".encode()).hexdigest()[:16]


def docker(*arguments: str, stdin: bytes | None = None) -> str:
    result = subprocess.run(["docker", *arguments], input=stdin, capture_output=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"docker {arguments[0]}: {lines[-1] if lines else result.returncode}")
    return result.stdout.decode()


def built_inputs(ref: str) -> str | None:
    result = subprocess.run(["docker", "image", "inspect", ref], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    labels: dict[str, str] = json.loads(result.stdout)[0]["Config"].get("Labels") or {}
    return labels.get(INPUTS_LABEL)


def build(component: Component, manifest: dict[str, Any], artifacts: Path, base_image: str) -> tuple[str, str]:
    """Build the component's image unless the same inputs built it already; its reference and image ID."""
    entry = manifest[component.artifact] if component.artifact else {"version": component.version, "sha256": ""}
    ref = reference(component, str(entry["version"]))
    text = dockerfile(component, base_image)
    digest = inputs_digest(text, str(entry["sha256"]))
    if built_inputs(ref) != digest:
        with tempfile.TemporaryDirectory(prefix="medledger-image-") as context:
            if component.artifact:
                shutil.copytree(artifacts / str(entry["root"]), Path(context) / "artifact", symlinks=True)
            (Path(context) / "Dockerfile").write_text(text)
            docker("build", "--quiet", "--label", f"{INPUTS_LABEL}={digest}", "--tag", ref, context)
    return ref, docker("image", "inspect", "--format", "{{.Id}}", ref).strip()


def build_all(artifacts: Path, base_image: str, names: Sequence[str] = ()) -> list[tuple[str, str]]:
    manifest = json.loads((artifacts / "manifest.json").read_text())["artifacts"]
    wanted = [component for component in COMPONENTS if not names or component.name in names]
    return [build(component, manifest, artifacts, base_image) for component in wanted]
