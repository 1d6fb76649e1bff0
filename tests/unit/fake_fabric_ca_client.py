"""A stand-in for fabric-ca-client that the modules under test run: it records every invocation (argv and
its FABRIC_CA_CLIENT_* environment) and answers as the real client does, against a registry kept in a
JSON file (identities, secrets, enrolment bounds and counts), with throw-away certificates.

Run as a program: `fake_fabric_ca_client.py STATE_DIR ARGS...` (the tests install a wrapper script that
passes STATE_DIR).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

# Run as a program, beside the tests' certificate helper (its folder is first on sys.path).
from certificates import issue  # type: ignore[import-not-found]

PREFIX = "FABRIC_CA_CLIENT_"


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def write_msp(msp: Path, common_name: str, key_name: str) -> None:
    """What fabric-ca-client leaves in --mspdir: files named after the server, the key as <ski>_sk."""
    leaf = issue(common_name)
    certificate, key = leaf.certificate_pem, leaf.key_pem
    for folder in ("signcerts", "keystore", "cacerts", "intermediatecerts", "tlscacerts", "tlsintermediatecerts"):
        (msp / folder).mkdir(parents=True, exist_ok=True)
    (msp / "signcerts" / "cert.pem").write_bytes(certificate)
    (msp / "keystore" / key_name).write_bytes(key)
    root, intermediate = issue("root", ca=True).certificate_pem, issue("intermediate", ca=True).certificate_pem
    (msp / "cacerts" / "localhost-7054.pem").write_bytes(root)
    (msp / "intermediatecerts" / "localhost-7054.pem").write_bytes(intermediate)
    (msp / "tlscacerts" / "tls-localhost-7054.pem").write_bytes(root)
    (msp / "tlsintermediatecerts" / "tls-localhost-7054.pem").write_bytes(intermediate)


def fail(message: str) -> int:
    print(f"Error: Response from server: {message}", file=sys.stderr)
    return 1


def answer(registry: dict[str, Any], args: list[str]) -> int:  # noqa: PLR0911 - the exit status per subcommand
    identities: dict[str, dict[str, Any]] = registry.setdefault("identities", {})
    match args:
        case ["identity", "list", "--id", name, *_]:
            if name not in identities:
                return fail("Error Code: 63 - Failed to get User: sql: no rows in result set")
            found = identities[name]
            print(
                f"Name: {name}, Type: {found['type']}, Affiliation: {found['affiliation']}, "
                f"Max Enrollments: {found['max']}, Attributes: []"
            )
            return 0
        case ["identity", "modify", name, *rest]:
            identities[name]["max"] = int(option(rest, "--maxenrollments") or 0)
            print(f"Successfully modified identity - Name: {name}")
            return 0
        case ["register", *rest]:
            name = option(rest, "--id.name") or ""
            secret = option(rest, "--id.secret") or os.environ.get(PREFIX + "ID_SECRET", "")
            identities[name] = {
                "type": option(rest, "--id.type"),
                "affiliation": option(rest, "--id.affiliation"),
                "max": int(option(rest, "--id.maxenrollments") or 0),
                "secret": secret,
                "state": 0,
            }
            print(f"Password: {secret}")
            return 0
        case ["enroll", *rest]:
            url = urlsplit(option(rest, "-u") or os.environ.get(PREFIX + "URL", ""))
            name, secret = unquote(url.username or ""), unquote(url.password or "")
            known = identities.get(name)
            if not known or known["secret"] != secret or known["state"] >= known["max"]:
                return fail(f"Error Code: 20 - Authentication failure (as {name}:{secret})")
            known["state"] += 1
            write_msp(Path(option(rest, "--mspdir") or "msp"), name, "0123_sk")
            return 0
        case ["reenroll", *rest]:
            msp = Path(option(rest, "--mspdir") or "msp")
            if not (msp / "signcerts" / "cert.pem").is_file() or not (msp / "keystore" / "key_sk").is_file():
                return fail("Error Code: 20 - Authentication failure (no current certificate)")
            write_msp(msp, option(rest, "--csr.cn") or "", "4567_sk")  # the old key stays beside the new one
            return 0
    return fail(f"the fake does not know {args}")


def main(argv: list[str]) -> int:
    state = Path(argv[1])
    args = argv[2:]
    with (state / "calls.jsonl").open("a") as calls:
        environment = {key: value for key, value in os.environ.items() if key.startswith(PREFIX)}
        calls.write(json.dumps({"argv": args, "env": environment}) + "\n")
    registry_file = state / "registry.json"
    registry = json.loads(registry_file.read_text()) if registry_file.exists() else {}
    status = answer(registry, args)
    registry_file.write_text(json.dumps(registry))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
