#!/usr/bin/env python3
"""Fabric external builder for chaincode-as-a-service: `detect`, `build` and `release` in one program.

The peer runs it through symlinks named bin/detect, bin/build and bin/release. A package of type
`ccaas` holds only connection.json with the chaincode server's address (and optionally META-INF, e.g.
CouchDB indexes). The TLS material is added at release from this peer's own files (the settings file
named by MEDLEDGER_CCAAS_BUILDER_SETTINGS), so that no private key travels inside a package and one
package, hence one package ID, serves every peer of every organisation.

The peer keeps what release wrote (with the TLS key in it) under <peer.fileSystemPath>/externalbuilder/
builds/<package ID>/release and reuses it; rotating the peer's TLS identity removes those builds
(roles/fabric_peer/tasks/tls_rotated.yml), so that release runs again with the new key.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PACKAGE_TYPE = "ccaas"
SETTINGS_ENV = "MEDLEDGER_CCAAS_BUILDER_SETTINGS"
# What a package may say about the connection: where the server is and how long to wait for it.
PACKAGE_CONNECTION_FIELDS = frozenset({"address", "dial_timeout"})
COUCHDB_INDEXES = Path("META-INF") / "statedb" / "couchdb" / "indexes"


class BuilderError(Exception):
    """A package or setting this builder refuses; the message goes to the peer's log."""


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise BuilderError(f"{path} is missing") from error
    except json.JSONDecodeError as error:
        raise BuilderError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise BuilderError(f"{path} must hold a JSON object")
    return data


def detect(_source_dir: Path, metadata_dir: Path) -> int:
    """Exit status 0 claims the package; any other lets the next builder look at it."""
    return 0 if read_json(metadata_dir / "metadata.json").get("type") == PACKAGE_TYPE else 1


def build(source_dir: Path, _metadata_dir: Path, output_dir: Path) -> int:
    connection = read_json(source_dir / "connection.json")
    extra = sorted(set(connection) - PACKAGE_CONNECTION_FIELDS)
    if extra:
        raise BuilderError(
            f"connection.json may only give {', '.join(sorted(PACKAGE_CONNECTION_FIELDS))}; "
            f"TLS material comes from the peer, not the package (found: {', '.join(extra)})"
        )
    if not isinstance(connection.get("address"), str) or ":" not in connection["address"]:
        raise BuilderError("connection.json needs an address as host:port")
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "connection.json").write_text(json.dumps(connection))
    if (source_dir / "META-INF").is_dir():
        shutil.copytree(source_dir / "META-INF", output_dir / "META-INF", dirs_exist_ok=True)
    return 0


def release(build_dir: Path, release_dir: Path) -> int:
    settings_file = os.environ.get(SETTINGS_ENV)
    if not settings_file:
        raise BuilderError(f"{SETTINGS_ENV} is not set (the peer's service sets and propagates it)")
    settings = read_json(Path(settings_file))
    connection = read_json(build_dir / "connection.json")
    try:
        connection |= {
            "tls_required": True,
            "client_auth_required": True,
            "client_cert": Path(settings["client_cert_file"]).read_text(),
            "client_key": Path(settings["client_key_file"]).read_text(),
            "root_cert": Path(settings["root_cert_file"]).read_text(),
        }
    except KeyError as error:
        raise BuilderError(f"{settings_file} lacks {error}") from error
    except OSError as error:
        raise BuilderError(f"cannot read TLS material: {error}") from error
    server_dir = release_dir / "chaincode" / "server"
    server_dir.mkdir(parents=True, exist_ok=True)
    # It holds this peer's TLS key: 0600 from the first byte, also over a file left with a looser mode.
    target = server_dir / "connection.json"
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        os.fchmod(descriptor, 0o600)
        stream.truncate()
        json.dump(connection, stream)
    if (build_dir / COUCHDB_INDEXES).is_dir():
        indexes = release_dir / "statedb" / "couchdb" / "indexes"
        shutil.copytree(build_dir / COUCHDB_INDEXES, indexes, dirs_exist_ok=True)
    return 0


# Each step and how many folders the peer passes it.
STEPS: dict[str, tuple[Callable[..., int], int]] = {"detect": (detect, 2), "build": (build, 3), "release": (release, 2)}


def main(argv: list[str]) -> int:
    step = Path(argv[0]).name
    if step not in STEPS:
        print(f"run me as one of {', '.join(STEPS)} (a symlink), not {step}", file=sys.stderr)
        return 2
    function, arity = STEPS[step]
    if len(argv) - 1 != arity:
        print(f"{step} takes {arity} folders, got {len(argv) - 1}", file=sys.stderr)
        return 2
    try:
        return function(*(Path(arg) for arg in argv[1:]))
    except BuilderError as error:
        print(f"medledger ccaas {step}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
