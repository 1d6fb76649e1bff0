"""Container images written as OCI archives from our artifacts, for `ctr images import`.

No registry is reachable here, and an air-gapped hospital has none either: an image is a layer tarball of
files we built, a config and a manifest, written deterministically (same files, same digest), tagged with
the artifact's version under `medledger.local/` so that no pull is ever attempted for them.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY = "medledger.local"


@dataclass(frozen=True)
class ImageSpec:
    """An image: files to place (path in the image -> file on this machine) and how it starts."""

    name: str
    tag: str
    files: Mapping[str, Path]
    entrypoint: Sequence[str]
    user: str = ""
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return f"{REGISTRY}/{self.name}:{self.tag}"


def _layer(files: Mapping[str, Path]) -> bytes:
    """Owners, times and order fixed; parent folders listed before their files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        folders = sorted({str(Path(path).parent) for path in files} - {"/", "."})
        for folder in _with_parents(folders):
            info = tarfile.TarInfo(folder.lstrip("/"))
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            archive.addfile(info)
        for path, source in sorted(files.items()):
            data = source.read_bytes()
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mtime = len(data), 0
            info.mode = 0o755 if source.stat().st_mode & 0o111 else 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _with_parents(folders: Sequence[str]) -> list[str]:
    every: set[str] = set()
    for folder in folders:
        path = Path(folder)
        every.update(str(parent) for parent in [path, *path.parents] if str(parent) not in ("/", "."))
    return sorted(every)


def _blob(data: bytes) -> tuple[str, bytes]:
    return f"sha256:{hashlib.sha256(data).hexdigest()}", data


def write_image_archive(spec: ImageSpec, target: Path) -> str:
    """Write the OCI image layout archive; returns the manifest's digest."""
    layer_digest, layer = _blob(_layer(spec.files))
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Entrypoint": list(spec.entrypoint),
            "Env": [f"{key}={value}" for key, value in sorted(spec.environment.items())],
            "User": spec.user,
        },
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }
    config_digest, config_bytes = _blob(json.dumps(config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest,
                   "size": len(config_bytes)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest,
                    "size": len(layer)}],
    }  # fmt: skip
    manifest_digest, manifest_bytes = _blob(json.dumps(manifest, sort_keys=True).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "annotations": {
                    "io.containerd.image.name": spec.reference,
                    "org.opencontainers.image.ref.name": spec.tag,
                },
            }
        ],
    }
    entries = {
        "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
        "index.json": json.dumps(index, sort_keys=True).encode(),
        **{f"blobs/sha256/{digest.split(':')[1]}": data for digest, data in
           ((layer_digest, layer), (config_digest, config_bytes), (manifest_digest, manifest_bytes))},
    }  # fmt: skip
    partial = target.with_name(target.name + ".partial")
    with tarfile.open(partial, "w") as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            archive.addfile(info, io.BytesIO(data))
    partial.rename(target)
    return manifest_digest
