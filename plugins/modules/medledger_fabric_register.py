"""Register a Fabric identity with a CA's registrar, once, with a bounded enrolment secret."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: medledger_fabric_register
short_description: Register a Fabric identity, once
description:
  - Runs on the CA host with the registrar's MSP. Registers the identity when the CA does not know it; an
    identity the CA already knows is left as it is (same type, affiliation and attributes are checked),
    except for its enrolment bound, which is set to I(max_enrollments) when it differs.
  - The secret never appears on a command line, where C(ps) shows it to every user of the host; it
    reaches C(fabric-ca-client) through its environment (C(FABRIC_CA_CLIENT_ID_SECRET)).
options:
  name: {description: "Enrolment ID (a pseudonym, never a person's name).", type: str, required: true}
  secret: {description: Enrolment secret to register with., type: str, required: true, no_log: true}
  type: {description: NodeOU type., type: str, choices: [peer, orderer, client, admin], required: true}
  affiliation: {description: "Affiliation (the organisation's, lower case).", type: str, required: true}
  attributes:
    description: Extra attributes, each put into enrolment certificates (":ecert").
    type: dict
    default: {}
  max_enrollments:
    description:
      - How many times the secret may be used to enrol (C(--id.maxenrollments)), the number of hosts that
        enrol this identity. Re-enrolment with a current certificate (TLS rotation) does not count.
      - At most the CA server's C(registry.maxenrollments).
    type: int
    default: 1
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
    max_enrollments: 1
    ca_address: 127.0.0.1:7054
    ca_name: ca-orgpatient
    tls_root: /etc/medledger/pki/tls-root.pem
    registrar_home: /var/lib/medledger/fabric-ca/server/registrars/ca-orgpatient
"""

RETURN = r"""
registered:
  description: Whether this run registered the identity.
  returned: always
  type: bool
max_enrollments:
  description: The identity's enrolment bound at the CA after this run.
  returned: always
  type: int
previous_max_enrollments:
  description: The bound the CA had before this run changed it (an identity registered earlier).
  returned: when the bound was changed
  type: int
"""

import re
from typing import Any

from ansible.module_utils.basic import AnsibleModule

# fabric-ca-client takes every setting from FABRIC_CA_CLIENT_<setting, dots as underscores> too (viper's
# environment prefix, cmd/fabric-ca-client/command/config.go); a flag given on the command line would win.
SECRET_VARIABLE = "FABRIC_CA_CLIENT_ID_SECRET"  # noqa: S105 - the name of the variable, not a secret
BOUND = re.compile(r"Max Enrollments: (-?\d+)")


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


def register_command(params: dict[str, Any]) -> list[str]:
    """fabric-ca-client register, without the secret (see SECRET_VARIABLE)."""
    command = [
        *client_command(params, "register"),
        "--id.name",
        params["name"],
        "--id.type",
        params["type"],
        "--id.affiliation",
        params["affiliation"],
        "--id.maxenrollments",
        str(params["max_enrollments"]),
    ]
    attributes = ",".join(f"{key}={value}:ecert" for key, value in sorted(params["attributes"].items()))
    if attributes:
        command += ["--id.attrs", attributes]
    return command


def errors_of(out: str, err: str, secret: str) -> str:
    message = " ".join(line for line in (err or out).splitlines() if line.startswith("Error"))
    return message.replace(secret, "********") if secret else message


def keep_registration(module: AnsibleModule, params: dict[str, Any], known: str) -> None:
    """The CA knows the identity: refuse other settings, correct its enrolment bound."""
    wanted = [f"Type: {params['type']}", f"Affiliation: {params['affiliation']}"]
    differs = [item for item in wanted if item not in known]
    if differs:
        module.fail_json(
            msg=f"{params['name']} is already registered at {params['ca_name']} with other settings "
            f"(expected {', '.join(differs)}); pick another enrolment ID or revoke the old one"
        )
    found = BOUND.search(known)
    if found is None:
        module.fail_json(msg=f"{params['name']}: no 'Max Enrollments' in what {params['ca_name']} says of it")
        return
    current, bound = int(found.group(1)), params["max_enrollments"]
    if current == bound:
        module.exit_json(changed=False, registered=False, max_enrollments=bound)
    if not module.check_mode:
        command = [
            *client_command(params, "identity", "modify", params["name"]),
            "--maxenrollments",
            str(bound),
        ]
        rc, out, err = module.run_command(command)
        if rc != 0:
            module.fail_json(
                msg=f"{params['name']}: setting its enrolment bound to {bound} at {params['ca_name']} failed: "
                f"{errors_of(out, err, params['secret'])}"
            )
    module.exit_json(changed=True, registered=False, max_enrollments=bound, previous_max_enrollments=current)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "secret": {"type": "str", "required": True, "no_log": True},
            "type": {"type": "str", "choices": ["peer", "orderer", "client", "admin"], "required": True},
            "affiliation": {"type": "str", "required": True},
            "attributes": {"type": "dict", "default": {}},
            "max_enrollments": {"type": "int", "default": 1},
            "ca_address": {"type": "str", "required": True},
            "ca_name": {"type": "str", "required": True},
            "tls_root": {"type": "path", "required": True},
            "registrar_home": {"type": "path", "required": True},
            "client": {"type": "path", "default": "/opt/medledger/fabric-ca/bin/fabric-ca-client"},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["max_enrollments"] < 1:
        module.fail_json(msg=f"{params['name']}: max_enrollments must be at least 1 (the hosts that enrol it)")
    rc, out, err = module.run_command(client_command(params, "identity", "list", "--id", params["name"]))
    if rc == 0:
        keep_registration(module, params, out)
        return
    if "Failed to get User" not in (err + out) and "Error Code: 63" not in (err + out):
        module.fail_json(
            msg=f"{params['name']}: cannot query {params['ca_name']} at {params['ca_address']}: "
            f"{(err or out).strip().splitlines()[-1:]}"
        )
    if module.check_mode:
        module.exit_json(changed=True, registered=True, max_enrollments=params["max_enrollments"])
    rc, out, err = module.run_command(register_command(params), environ_update={SECRET_VARIABLE: params["secret"]})
    if rc != 0:
        module.fail_json(
            msg=f"{params['name']}: registration at {params['ca_name']} failed: {errors_of(out, err, params['secret'])}"
        )
    module.exit_json(changed=True, registered=True, max_enrollments=params["max_enrollments"])


if __name__ == "__main__":
    main()
