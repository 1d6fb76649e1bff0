"""Register a Fabric identity with a CA's registrar, once."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: medledger_fabric_register
short_description: Register a Fabric identity, once
description:
  - Runs on the CA host with the registrar's MSP. Registers the identity when the CA does not know it; an
    identity the CA already knows is left as it is (same type, affiliation and attributes are checked).
options:
  name: {description: Enrolment ID (a pseudonym, never a person's name)., type: str, required: true}
  secret: {description: Enrolment secret to register with., type: str, required: true, no_log: true}
  type: {description: NodeOU type., type: str, choices: [peer, orderer, client, admin], required: true}
  affiliation: {description: Affiliation (the organisation's, lower case)., type: str, required: true}
  attributes:
    description: Extra attributes, each put into enrolment certificates (":ecert").
    type: dict
    default: {}
  ca_address: {description: "host:port of the Fabric CA server.", type: str, required: true}
  ca_name: {description: The CA within the server (--caname)., type: str, required: true}
  tls_root: {description: File with the TLS root that signs the CA server's certificate., type: path, required: true}
  registrar_home: {description: Folder holding the registrar's C(msp)., type: path, required: true}
  client:
    description: The fabric-ca-client binary.
    type: path
    default: /opt/medledger/fabric-ca/bin/fabric-ca-client
author: MedLedger
"""

EXAMPLES = r"""
- name: Register the peer
  medledger_fabric_register:
    name: peerxinqiao
    secret: "{{ derived_secret }}"
    type: peer
    affiliation: orgpatient
    ca_address: 127.0.0.1:7054
    ca_name: ca-orgpatient
    tls_root: /etc/medledger/pki/tls-root.pem
    registrar_home: /var/lib/medledger/fabric/ca/registrars/ca-orgpatient
"""

RETURN = r"""
registered:
  description: Whether this run registered the identity.
  returned: always
  type: bool
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule


def client_command(params: dict[str, Any], *args: str) -> list[str]:
    return [
        params["client"],
        *args,
        "-u",
        f"https://{params['ca_address']}",
        "--caname",
        params["ca_name"],
        "--tls.certfiles",
        params["tls_root"],
        "--home",
        params["registrar_home"],
        "--mspdir",
        f"{params['registrar_home']}/msp",
    ]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "secret": {"type": "str", "required": True, "no_log": True},
            "type": {"type": "str", "choices": ["peer", "orderer", "client", "admin"], "required": True},
            "affiliation": {"type": "str", "required": True},
            "attributes": {"type": "dict", "default": {}},
            "ca_address": {"type": "str", "required": True},
            "ca_name": {"type": "str", "required": True},
            "tls_root": {"type": "path", "required": True},
            "registrar_home": {"type": "path", "required": True},
            "client": {"type": "path", "default": "/opt/medledger/fabric-ca/bin/fabric-ca-client"},
        },
        supports_check_mode=True,
    )
    params = module.params
    rc, out, err = module.run_command(client_command(params, "identity", "list", "--id", params["name"]))
    if rc == 0:
        known = out
        wanted = [f"Type: {params['type']}", f"Affiliation: {params['affiliation']}"]
        differs = [item for item in wanted if item not in known]
        if differs:
            module.fail_json(
                msg=f"{params['name']} is already registered at {params['ca_name']} with other settings "
                f"(expected {', '.join(differs)}); pick another enrolment ID or revoke the old one"
            )
        module.exit_json(changed=False, registered=False)
    if "Failed to get User" not in (err + out) and "Error Code: 63" not in (err + out):
        module.fail_json(
            msg=f"{params['name']}: cannot query {params['ca_name']} at {params['ca_address']}: "
            f"{(err or out).strip().splitlines()[-1:]}"
        )
    if module.check_mode:
        module.exit_json(changed=True, registered=True)
    attributes = ",".join(f"{key}={value}:ecert" for key, value in sorted(params["attributes"].items()))
    command = [
        *client_command(params, "register"),
        "--id.name",
        params["name"],
        "--id.secret",
        params["secret"],
        "--id.type",
        params["type"],
        "--id.affiliation",
        params["affiliation"],
    ]
    if attributes:
        command += ["--id.attrs", attributes]
    rc, out, err = module.run_command(command)
    if rc != 0:
        message = " ".join(line for line in (err or out).splitlines() if line.startswith("Error"))
        module.fail_json(msg=f"{params['name']}: registration at {params['ca_name']} failed: {message}")
    module.exit_json(changed=True, registered=True)


if __name__ == "__main__":
    main()
