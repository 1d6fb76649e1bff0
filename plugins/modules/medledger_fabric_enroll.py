"""Enrol (or re-enrol) a Fabric identity with fabric-ca-client into a tidy MSP or TLS folder."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: medledger_fabric_enroll
short_description: Enrol a Fabric identity into an MSP or TLS folder, once
description:
  - Runs C(fabric-ca-client enroll) on the node that will use the identity, so the private key is generated
    there and never travels. The result is laid out with fixed file names and moved into place only when
    complete, so a failed enrolment leaves no half-written folder.
  - Does nothing when the folder already holds a certificate, unless I(rotate) is set or the certificate expires
    within I(renew_within_days): then it re-enrols with the current certificate (new key) and replaces the folder.
  - For C(kind=msp) writes the NodeOUs C(config.yaml) Fabric needs; for C(kind=tls) writes C(server.crt),
    C(server.key) and C(ca.crt). Private keys are written mode 0600 (set on the open file, whatever mode a
    file of that name had).
  - The secret never appears on a command line, where C(ps) shows it to every user of the host; the
    enrolment URL that carries it reaches C(fabric-ca-client) through its environment
    (C(FABRIC_CA_CLIENT_URL)).
options:
  name: {description: "Enrolment ID (a pseudonym, never a person's name).", type: str, required: true}
  secret: {description: Enrolment secret. Not needed to rotate., type: str, no_log: true}
  ca_address: {description: "host:port of the Fabric CA server.", type: str, required: true}
  ca_name: {description: The CA within the server (--caname)., type: str, required: true}
  tls_root: {description: File with the TLS root that signs the CA server's certificate., type: path, required: true}
  path: {description: The folder to fill (e.g. .../msp or .../tls)., type: path, required: true}
  kind:
    description: msp (enrolment certificate) or tls (TLS certificate).
    type: str
    choices: [msp, tls]
    default: msp
  csr_hosts:
    description: Subject alternative names (host names and addresses).
    type: list
    elements: str
    default: []
  organisation: {description: O of the certificate's subject., type: str, required: true}
  client:
    description: The fabric-ca-client binary.
    type: path
    default: /opt/medledger/fabric-ca/bin/fabric-ca-client
  owner: {description: Owner of the folder and its files., type: str, default: root}
  rotate: {description: Re-enrol even when a certificate exists (new key)., type: bool, default: false}
  renew_within_days:
    description: Re-enrol (new key) when the certificate there expires within this many days.
    type: int
author: MedLedger
"""

EXAMPLES = r"""
- name: Enrol the peer's TLS identity
  medledger_fabric_enroll:
    name: peerxinqiao
    secret: "{{ derived_secret }}"
    ca_address: 172.20.29.31:7054
    ca_name: tlsca-ca0
    tls_root: /etc/medledger/pki/tls-root.pem
    path: /etc/medledger/fabric/peerxinqiao/tls
    kind: tls
    csr_hosts: [vm30, 172.20.29.30]
    organisation: OrgPatient
    owner: fabric-peer
"""

RETURN = r"""
certificate:
  description: Path of the identity's certificate.
  returned: always
  type: str
serial:
  description: Serial number of the certificate (hex).
  returned: success
  type: str
"""

import glob
import os
import pwd
import shutil
import tempfile
from typing import Any
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule

NODE_OUS = """NodeOUs:
  Enable: true
{ous}"""
# fabric-ca-client takes every setting from FABRIC_CA_CLIENT_<setting, dots as underscores> too (viper's
# environment prefix, cmd/fabric-ca-client/command/config.go); a flag given on the command line would win.
URL_VARIABLE = "FABRIC_CA_CLIENT_URL"
PRIVATE_FILES = ("key.pem", "server.key")
OU_ROLES = (
    ("ClientOUIdentifier", "client"),
    ("PeerOUIdentifier", "peer"),
    ("AdminOUIdentifier", "admin"),
    ("OrdererOUIdentifier", "orderer"),
)


def certificate_path(path: str, kind: str) -> str:
    return os.path.join(path, "server.crt" if kind == "tls" else "signcerts/cert.pem")


def only(pattern: str) -> str:
    found = sorted(glob.glob(pattern))
    if len(found) != 1:
        raise RuntimeError(f"expected one file for {pattern}, found {len(found)}")
    return found[0]


def write_private(path: str, content: bytes) -> None:
    """Write a private key: mode 0600 from the first byte, also when the file exists with a looser mode."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        os.fchmod(descriptor, 0o600)  # open() keeps the mode of a file that exists: tighten it before writing
        stream.truncate()
        stream.write(content)


def copy_private(source: str, target: str) -> None:
    with open(source, "rb") as handle:
        write_private(target, handle.read())


def tidy(raw: str, target: str, kind: str) -> None:
    """fabric-ca-client names files after the server URL; lay them out under fixed names."""
    key = only(os.path.join(raw, "keystore", "*_sk"))
    cert = os.path.join(raw, "signcerts", "cert.pem")
    if kind == "tls":
        root = only(os.path.join(raw, "tlscacerts", "*.pem"))
        intermediate = only(os.path.join(raw, "tlsintermediatecerts", "*.pem"))
        shutil.copyfile(cert, os.path.join(target, "server.crt"))
        copy_private(key, os.path.join(target, "server.key"))
        with open(os.path.join(target, "ca.crt"), "w") as chain:
            for part in (intermediate, root):
                with open(part) as handle:
                    chain.write(handle.read())
        return
    for folder in ("cacerts", "intermediatecerts", "signcerts", "keystore"):
        os.makedirs(os.path.join(target, folder))
    shutil.copyfile(only(os.path.join(raw, "cacerts", "*.pem")), os.path.join(target, "cacerts", "root.pem"))
    shutil.copyfile(
        only(os.path.join(raw, "intermediatecerts", "*.pem")), os.path.join(target, "intermediatecerts", "ca.pem")
    )
    shutil.copyfile(cert, os.path.join(target, "signcerts", "cert.pem"))
    copy_private(key, os.path.join(target, "keystore", "key.pem"))
    ous = "".join(
        f"  {field}:\n    Certificate: intermediatecerts/ca.pem\n    OrganizationalUnitIdentifier: {role}\n"
        for field, role in OU_ROLES
    )
    with open(os.path.join(target, "config.yaml"), "w") as handle:
        handle.write(NODE_OUS.format(ous=ous))


def secure(target: str, owner: str) -> None:
    account = pwd.getpwnam(owner)
    for folder, _, files in os.walk(target):
        os.chown(folder, account.pw_uid, account.pw_gid)
        os.chmod(folder, 0o750)  # noqa: S103 - the owner's group (the service) reads certificates
        for name in files:
            file = os.path.join(folder, name)
            os.chown(file, account.pw_uid, account.pw_gid)
            os.chmod(file, 0o600 if name in PRIVATE_FILES else 0o644)


def missing_folders(path: str) -> list[str]:
    """The folders os.makedirs(path) would create, outermost first."""
    missing = []
    while path and not os.path.exists(path):
        missing.append(path)
        path = os.path.dirname(path)
    return list(reversed(missing))


def serial_of(module: AnsibleModule, cert: str) -> str:
    _, out, _ = module.run_command(["openssl", "x509", "-noout", "-serial", "-in", cert], check_rc=True)
    return str(out.strip().split("=", 1)[1])


def expires_within(module: AnsibleModule, cert: str, days: int | None) -> bool:
    if days is None:
        return False
    rc, _, _ = module.run_command(["openssl", "x509", "-noout", "-checkend", str(days * 86400), "-in", cert])
    return bool(rc != 0)  # openssl: 1 when the certificate expires within that many seconds


def enroll(module: AnsibleModule, params: dict[str, Any], work: str) -> str:
    raw = os.path.join(work, "raw")
    command = [params["client"]]
    environment: dict[str, str] = {}
    if params["rotate"]:
        # Re-enrolment authenticates with the current certificate (no secret, and it does not count against
        # the identity's enrolment bound): copy it where the client looks for it.
        current = os.path.join(work, "current")
        os.makedirs(os.path.join(current, "signcerts"))
        os.makedirs(os.path.join(current, "keystore"))
        shutil.copyfile(
            certificate_path(params["path"], params["kind"]), os.path.join(current, "signcerts", "cert.pem")
        )
        key = "server.key" if params["kind"] == "tls" else "keystore/key.pem"
        copy_private(os.path.join(params["path"], key), os.path.join(current, "keystore", "key_sk"))
        command += ["reenroll", "-u", f"https://{params['ca_address']}", "--mspdir", current]
        raw = current
    else:
        if not params["secret"]:
            module.fail_json(msg=f"{params['name']}: no certificate at {params['path']} and no secret to enrol")
        command += ["enroll", "--mspdir", raw]
        environment[URL_VARIABLE] = enrolment_url(params)
    command += [
        "--home",
        work,
        "--caname",
        params["ca_name"],
        "--tls.certfiles",
        params["tls_root"],
        "--csr.cn",
        params["name"],
        "--csr.names",
        f"O={params['organisation']}",
    ]
    if params["csr_hosts"]:
        command += ["--csr.hosts", ",".join(params["csr_hosts"])]
    if params["kind"] == "tls":
        command += ["--enrollment.profile", "tls"]
    rc, out, err = module.run_command(command, environ_update=environment)
    if rc != 0:
        lines = [line.strip() for line in (err or out).splitlines() if line.strip()]
        first = next((index for index, line in enumerate(lines) if line.startswith("Error")), max(len(lines) - 1, 0))
        lines = lines[first : first + 3]  # the error and its cause (e.g. "connect: connection refused")
        message = " ".join(lines)
        secret = params["secret"] or ""
        for form in {secret, quote(secret, safe="")} - {""}:  # as given, and as the URL carries it
            message = message.replace(form, "********")
        module.fail_json(
            msg=f"{params['name']}: enrolment at {params['ca_address']} ({params['ca_name']}) failed: {message}"
        )
    if params["rotate"]:
        # reenroll leaves the old key beside the new one; keep only the new key.
        os.remove(os.path.join(current, "keystore", "key_sk"))
    return raw


def enrolment_url(params: dict[str, Any]) -> str:
    """https://<ID>:<secret>@<address>: how fabric-ca-client enroll takes the secret (from the environment)."""
    return f"https://{quote(params['name'], safe='')}:{quote(params['secret'], safe='')}@{params['ca_address']}"


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "secret": {"type": "str", "no_log": True},
            "ca_address": {"type": "str", "required": True},
            "ca_name": {"type": "str", "required": True},
            "tls_root": {"type": "path", "required": True},
            "path": {"type": "path", "required": True},
            "kind": {"type": "str", "choices": ["msp", "tls"], "default": "msp"},
            "csr_hosts": {"type": "list", "elements": "str", "default": []},
            "organisation": {"type": "str", "required": True},
            "client": {"type": "path", "default": "/opt/medledger/fabric-ca/bin/fabric-ca-client"},
            "owner": {"type": "str", "default": "root"},
            "rotate": {"type": "bool", "default": False},
            "renew_within_days": {"type": "int"},
        },
        supports_check_mode=True,
    )
    params = module.params
    cert = certificate_path(params["path"], params["kind"])
    exists = os.path.exists(cert)
    if exists and expires_within(module, cert, params["renew_within_days"]):
        params["rotate"] = True
    if exists and not params["rotate"]:
        module.exit_json(changed=False, certificate=cert, serial=serial_of(module, cert))
    if params["rotate"] and not exists:
        module.fail_json(msg=f"{params['name']}: nothing to rotate, no certificate at {cert}")
    if module.check_mode:
        module.exit_json(changed=True, certificate=cert)
    parent = os.path.dirname(params["path"].rstrip("/"))
    created = missing_folders(parent)
    os.makedirs(parent, exist_ok=True)
    try:
        # The temporary folder sits beside the target so that the final rename is atomic.
        with tempfile.TemporaryDirectory(dir=parent, prefix=".enroll-") as work:
            raw = enroll(module, params, work)
            staged = os.path.join(work, "staged")
            os.makedirs(staged)
            tidy(raw, staged, params["kind"])
            secure(staged, params["owner"])
            if exists:
                os.rename(params["path"], os.path.join(work, "previous"))
            os.rename(staged, params["path"])
    except BaseException:
        # fail_json exits through here too: leave the tree as it was found.
        for folder in reversed(created):
            if os.path.isdir(folder) and not os.listdir(folder):
                os.rmdir(folder)
        raise
    module.exit_json(changed=True, certificate=cert, serial=serial_of(module, cert))


if __name__ == "__main__":
    main()
