"""medledger-k8s-secret: a shared secret (a database password, the object store's keys) made inside the cluster.

Two components that must agree on a secret (PostgreSQL and the service whose database it is; the object store and
the service that signs its S3 requests) each run this in an init container with the same Secret's name: the first
to start makes random values and stores them as that Secret through the Kubernetes API, with its own service
account; the other, and every restart, reads them back (Secrets are immutable: the first stored wins). The values
land as files (0600) in the pod's memory-backed folder; none is printed, logged or written in a values file.
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

from medledger_client.enrolment import write_private
from medledger_tools.k8s.incluster import ApiError, InCluster, SecretStore, stored_or_created

# 32 random bytes, hex: as the VMs' medledger_secret lookup makes them (a password, an S3 key, a JWT key).
VALUE_BYTES = 32
KEY = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


def random_values(keys: Sequence[str]) -> dict[str, bytes]:
    return {key: secrets.token_hex(VALUE_BYTES).encode() for key in keys}


def ensure_secret(store: SecretStore, name: str, keys: Sequence[str], folder: Path) -> str:
    """The Secret's values as files <folder>/<key>, made now if no one made them yet; says which."""
    values, created = stored_or_created(store, name, lambda: random_values(keys))
    missing = sorted(set(keys) - set(values))
    if missing:
        raise ApiError(f"Secret {name} holds no {', '.join(missing)}: another component made it with other keys")
    folder.mkdir(parents=True, exist_ok=True)
    for key in keys:
        write_private(folder / key, values[key])
    return "made" if created else "read"


def main(argv: Sequence[str] | None = None, store: SecretStore | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medledger-k8s-secret", description=__doc__.splitlines()[0])
    parser.add_argument("--secret-name", required=True, help="the Secret the components share")
    parser.add_argument("--key", action="append", required=True, help="a value it holds (repeat)")
    parser.add_argument("--out", type=Path, required=True, help="the folder its values are written to")
    args = parser.parse_args(argv)
    bad = [key for key in args.key if not KEY.match(key)]
    if bad:
        parser.error(f"keys are lowercase words and hyphens: {', '.join(bad)}")
    try:
        outcome = ensure_secret(store or InCluster.from_pod(), args.secret_name, args.key, args.out)
    except (ApiError, OSError, KeyError) as error:
        print(f"medledger-k8s-secret: {args.secret_name}: {error}", file=sys.stderr)
        return 1
    print(f"medledger-k8s-secret: {args.secret_name}: {outcome} ({', '.join(args.key)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
