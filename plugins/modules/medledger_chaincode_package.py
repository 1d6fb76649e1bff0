"""Write a chaincode-as-a-service package, byte for byte the same wherever it is written."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: medledger_chaincode_package
short_description: Write a chaincode-as-a-service package and return its package ID
description:
  - Writes the package Fabric's lifecycle installs for a chaincode that runs as a service (type C(ccaas)):
    C(metadata.json) with the label, and C(code.tar.gz) holding C(connection.json) with the server's address.
  - The bytes depend only on the label and the address (fixed owners, times and order; gzip without a
    timestamp), so every peer host writes the same package and gets the same package ID.
  - TLS material is not in the package; the peer's builder (medledger-ccaas) adds the peer's own at release.
  - Supports check mode.
  - The cluster's chaincode Job and servers run this file as a program (no Ansible there) to write the same
    package and learn its ID, C(python3 medledger_chaincode_package.py --write DEST LABEL ADDRESS [DIAL_TIMEOUT]),
    which prints the package ID.
options:
  dest: {description: Where to write the package (.tar.gz)., type: path, required: true}
  label: {description: "The package label, e.g. patient_data_1.0.", type: str, required: true}
  address: {description: "host:port of the chaincode server, as the peer dials it.", type: str, required: true}
  dial_timeout: {description: How long the peer waits for the server., type: str, default: 10s}
author: MedLedger
"""

EXAMPLES = r"""
- name: Write the package
  medledger_chaincode_package:
    dest: /etc/medledger/chaincode/patient_data_1.0.tar.gz
    label: patient_data_1.0
    address: 127.0.0.1:9999
  register: package
"""

RETURN = r"""
package_id:
  description: The package ID Fabric gives this package (label:sha256 of the package file).
  returned: always
  type: str
  sample: patient_data_1.0:0f4c...
"""

import gzip
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import tempfile
from typing import Any

LABEL = re.compile(r"^[A-Za-z0-9_.+-]+$")


def archive(members: dict[str, bytes]) -> bytes:
    """A gzipped tar of the members, independent of when and by whom it is made."""
    raw = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        for name, content in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), 0o644, 0
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(content))
    return raw.getvalue()


def package(label: str, address: str, dial_timeout: str) -> bytes:
    connection = json.dumps({"address": address, "dial_timeout": dial_timeout}, sort_keys=True).encode()
    metadata = json.dumps({"label": label, "type": "ccaas"}, sort_keys=True).encode()
    return archive({"code.tar.gz": archive({"connection.json": connection}), "metadata.json": metadata})


def package_id(label: str, content: bytes) -> str:
    return f"{label}:{hashlib.sha256(content).hexdigest()}"


def refusal(label: str, address: str) -> str | None:
    if not LABEL.match(label):
        return f"label {label!r} may only hold letters, digits and _ . + -"
    if not re.match(r"^[^:\s]+:\d+$", address):
        return f"address {address!r} is not host:port"
    return None


def differs(dest: str, content: bytes) -> bool:
    try:
        with open(dest, "rb") as existing:
            return existing.read() != content
    except FileNotFoundError:
        return True


def write(dest: str, content: bytes) -> None:
    # Written beside the target and renamed: a reader never sees half a package.
    descriptor, partial = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(dest)), prefix=".package-")
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(content)
    os.chmod(partial, 0o644)
    os.replace(partial, dest)


def main() -> None:
    # Here, not at the top: the cluster runs this file as a program where there is no Ansible (write_from_arguments).
    from ansible.module_utils.basic import AnsibleModule  # noqa: PLC0415

    module = AnsibleModule(
        argument_spec={
            "dest": {"type": "path", "required": True},
            "label": {"type": "str", "required": True},
            "address": {"type": "str", "required": True},
            "dial_timeout": {"type": "str", "default": "10s"},
        },
        supports_check_mode=True,
    )
    params: dict[str, Any] = module.params
    refused = refusal(params["label"], params["address"])
    if refused:
        module.fail_json(msg=refused)
    content = package(params["label"], params["address"], params["dial_timeout"])
    changed = differs(params["dest"], content)
    if changed and not module.check_mode:
        write(params["dest"], content)
    module.exit_json(changed=changed, package_id=package_id(params["label"], content))


def write_from_arguments(arguments: list[str]) -> int:
    """--write DEST LABEL ADDRESS [DIAL_TIMEOUT]: write the package and print its ID (the cluster's use)."""
    if len(arguments) not in (3, 4):
        print("usage: medledger_chaincode_package.py --write DEST LABEL ADDRESS [DIAL_TIMEOUT]", file=sys.stderr)
        return 2
    dest, label, address, dial_timeout = [*arguments, "10s"][:4]
    refused = refusal(label, address)
    if refused:
        print(refused, file=sys.stderr)
        return 2
    content = package(label, address, dial_timeout)
    if differs(dest, content):
        write(dest, content)
    print(package_id(label, content))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        sys.exit(write_from_arguments(sys.argv[2:]))
    main()
