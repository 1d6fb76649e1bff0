"""medledger-k8s-genesis: the system channel's genesis block on the cluster, made once and kept in a Secret.

Kafka ordering starts from a genesis block every orderer holds byte for byte; a second one made later would be
another channel of the same name. The genesis Job makes it in three steps, as `roles/fabric_orderer` does on
the VMs:
- `msps`: each organisation's verifying MSP, from the chains its CA server serves (each checked against the
  offline roots of the `<release>-trust` ConfigMap), where configtx.yaml points;
- configtxgen (the fabric image) writes the block;
- `store`: the block becomes the Secret `<release>-orderer-genesis`, unless one is there: the first stored wins.
Each orderer's init container runs `fetch`: it waits for that Secret and writes the block where the orderer
bootstraps from.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from medledger_client.enrolment import EnrolmentError, ca_chain
from medledger_tools.k8s.incluster import ApiError, InCluster, SecretStore, awaited_secret, stored_or_created
from medledger_tools.k8s.msp import ChainError, issuing_ca, verifying_msp
from medledger_tools.k8s.register import patiently

BLOCK_KEY = "genesis.block"
ChainReader = Callable[[str, str], bytes]


def write_verifying_msps(
    organisations: Sequence[tuple[str, str, str]], read_chain: ChainReader, roots: Path, out: Path
) -> list[str]:
    """<out>/<name>/msp for each (name, CA server, its address); one line each. Nothing is written unless every
    organisation's chains check out."""
    enrolment_root, tls_root = (roots / "enrolment-root.pem").read_bytes(), (roots / "tls-root.pem").read_bytes()
    folders: dict[str, dict[str, bytes]] = {}
    for name, server, address in organisations:
        enrolment_ca = issuing_ca(read_chain(address, f"ca-{name.lower()}"), enrolment_root, f"{name}'s CA")
        tls_ca = issuing_ca(read_chain(address, f"tlsca-{server}"), tls_root, f"{server}'s TLS CA")
        folders[name] = verifying_msp(enrolment_ca, enrolment_root, tls_ca, tls_root)
    for name, files in folders.items():
        for path, content in files.items():
            target = out / name / "msp" / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    return [f"verifying MSP of {name}" for name in folders]


def store_block(store: SecretStore, secret_name: str, block: bytes) -> str:
    if not block:
        raise ApiError("the block is empty: configtxgen wrote nothing")
    stored, created = stored_or_created(store, secret_name, lambda: {BLOCK_KEY: block})
    if BLOCK_KEY not in stored:
        raise ApiError(f"Secret {secret_name} holds no {BLOCK_KEY}")
    return f"stored {secret_name}" if created else f"kept {secret_name} (made before: the first stored wins)"


def fetch_block(store: SecretStore, secret_name: str, out: Path, timeout: float, pause: float = 2.0) -> str:
    block = awaited_secret(store, secret_name, BLOCK_KEY, timeout, maker="genesis Job", pause=pause)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(block)
    return f"fetched {secret_name} ({len(block)} bytes)"


def main(argv: Sequence[str] | None = None, store: SecretStore | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medledger-k8s-genesis", description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    msps = steps.add_parser("msps", help="the organisations' verifying MSPs")
    msps.add_argument(
        "--organisation",
        nargs=3,
        action="append",
        required=True,
        metavar=("NAME", "CA_SERVER", "ADDRESS"),
        help="an organisation and its CA server (repeat)",
    )
    msps.add_argument("--trust", type=Path, required=True, help="the folder of the offline roots' certificates")
    msps.add_argument("--out", type=Path, required=True)
    msps.add_argument("--wait", type=float, default=900.0, help="seconds to wait for the CA servers to answer")
    stored = steps.add_parser("store", help="keep the block in a Secret, unless one is there")
    stored.add_argument("--block", type=Path, required=True)
    stored.add_argument("--secret-name", required=True)
    fetch = steps.add_parser("fetch", help="wait for the stored block and write it")
    fetch.add_argument("--secret-name", required=True)
    fetch.add_argument("--out", type=Path, required=True)
    fetch.add_argument("--wait", type=float, default=1800.0, help="seconds to wait for the Secret")
    args = parser.parse_args(argv)
    try:
        if args.step == "msps":
            tls_root = (args.trust / "tls-root.pem").read_bytes()

            def read_chain(address: str, ca_name: str) -> bytes:
                return patiently(lambda: ca_chain(address, ca_name, tls_root), args.wait)

            lines = write_verifying_msps(args.organisation, read_chain, args.trust, args.out)
        elif args.step == "store":
            lines = [store_block(store or InCluster.from_pod(), args.secret_name, args.block.read_bytes())]
        else:
            lines = [fetch_block(store or InCluster.from_pod(), args.secret_name, args.out, args.wait)]
    except (ApiError, ChainError, EnrolmentError, OSError) as error:
        print(f"medledger-k8s-genesis: {args.step}: {error}", file=sys.stderr)
        return 1
    for line in lines:
        print(f"medledger-k8s-genesis: {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
