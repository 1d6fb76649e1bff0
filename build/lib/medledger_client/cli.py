"""`medledger`: write and read the ledger's records through a peer's Gateway, as the paper's data client does.

  medledger index put --treatment T-1 --data record.enc --url https://... --doctor doc-1 --doctor-signature HEX
  medledger index get PID TID | index list PID | index verify PID TID --data record.enc
  medledger usage put --treatment T-1 --sender PID --receiver PID --digest HEX
  medledger usage get PID TID | usage list PID

list prints one page, {"records": [...], "bookmark": "...", "fetched": n}, and, when there are more,
the option for the next (--bookmark B) on stderr; list --all prints every record, a JSON array.

The services (registry, hospital managers, storage, sharing proxy): `medledger keys|register|directory|
appointment|record|share ...` (medledger_client/service_commands.py; `medledger record --help`).

Exit status: 0 done, 1 refused by the ledger or a service (its reason on stderr), 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from medledger_api import entities
from medledger_api.entities import DataUsageEntity, EntityError, PatientDataEntity

from . import client_config, service_commands
from .envelope import EnvelopeError
from .gateway import CommitError, Contract, Gateway, GatewayError
from .identity import IdentityError
from .listing import MAX_PAGE_SIZE, PageError, check_page_size, list_by_pid, list_page
from .records import RecordError
from .registration import DirectoryError
from .sealed_box import SealedBoxError
from .service_client import ServiceError
from .sharing_keys import SharingError
from .storage import StorageError

CONFIG_ENV = "MEDLEDGER_CLIENT_CONFIG"


def index_put(contract: Contract, args: argparse.Namespace) -> str:
    """Algorithm 1: build the PatientDataEntity of one piece of (encrypted) data, sign it, save it."""
    record = PatientDataEntity.signed_by(
        contract.gateway.identity,
        treatment=args.treatment,
        digest=entities.file_digest(Path(args.data)),
        url=args.url,
        doctor=args.doctor,
        doctor_signature=args.doctor_signature,
    )
    committed = contract.submit("SavePatientData", record.to_json())
    return json.dumps({"transactionId": committed.transaction_id, "block": committed.block, "record": record.to_wire()})


def usage_put(contract: Contract, args: argparse.Namespace) -> str:
    record = DataUsageEntity(
        treatment_id=args.treatment,
        sender_pseudonym_id=args.sender,
        receiver_pseudonym_id=args.receiver,
        timestamp=entities.now_ms(),
        data_message_digest=args.digest,
    )
    committed = contract.submit("SaveDataUsage", record.to_json())
    return json.dumps({"transactionId": committed.transaction_id, "block": committed.block, "record": record.to_wire()})


def index_verify(contract: Contract, args: argparse.Namespace) -> str:
    digest = entities.file_digest(Path(args.data))
    return contract.evaluate("VerifyDigest", args.pid, args.tid, digest).decode()


def list_records(contract: Contract, args: argparse.Namespace) -> str:
    """One page of the PID's records (the next bookmark also on stderr), or with --all every record."""
    if args.all:
        return json.dumps(list(list_by_pid(contract, args.pid, args.page_size, args.bookmark)))
    page = list_page(contract, args.pid, args.page_size, args.bookmark)
    if not page.last:
        print(f"medledger: more records: --bookmark {page.bookmark}", file=sys.stderr)
    return page.to_json()


def page_size(text: str) -> int:
    try:
        return check_page_size(int(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="medledger", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    top.add_argument(
        "--config", type=Path, default=os.environ.get(CONFIG_ENV), help=f"client settings (or ${CONFIG_ENV})"
    )
    records = top.add_subparsers(dest="records", required=True)

    index = records.add_parser("index", help="index records of medical data (Patient Channel)")
    index_commands = index.add_subparsers(dest="command", required=True)
    put = index_commands.add_parser("put", help="save a record of your own data, signed by you")
    put.add_argument("--treatment", required=True, help="TID")
    put.add_argument("--data", required=True, help="the encrypted data, as stored (its SHA-384 is recorded)")
    put.add_argument("--url", required=True, help="where the encrypted data is stored")
    put.add_argument("--doctor", required=True, help="the doctor's PID")
    put.add_argument("--doctor-signature", required=True, help="the doctor's signature, hex DER")
    put.set_defaults(action=index_put)
    verify = index_commands.add_parser("verify", help="does the stored digest match this data?")
    verify.add_argument("pid")
    verify.add_argument("tid")
    verify.add_argument("--data", required=True)
    verify.set_defaults(action=index_verify)

    usage = records.add_parser("usage", help="data usage records (Data Usage Channel)")
    usage_commands = usage.add_subparsers(dest="command", required=True)
    share = usage_commands.add_parser("put", help="record a share (the sharing proxy only)")
    share.add_argument("--treatment", required=True)
    share.add_argument("--sender", required=True)
    share.add_argument("--receiver", required=True)
    share.add_argument("--digest", required=True, help="dataMessageDigest of the shared record")
    share.set_defaults(action=usage_put)

    service_commands.add_commands(records)
    for commands in (index_commands, usage_commands):
        get = commands.add_parser("get", help="the records of a PID's treatment")
        get.add_argument("pid")
        get.add_argument("tid")
        get.set_defaults(
            action=lambda contract, args: contract.evaluate("QueryByPidAndTid", args.pid, args.tid).decode()
        )
        listing = commands.add_parser("list", help="a PID's records, a page at a time")
        listing.add_argument("pid")
        listing.add_argument(
            "--page-size", type=page_size, default=MAX_PAGE_SIZE, help=f"records per page, 1..{MAX_PAGE_SIZE}"
        )
        listing.add_argument("--bookmark", default="", help="start at the page after the one that gave this bookmark")
        listing.add_argument("--all", action="store_true", help="every record, following the bookmarks (JSON array)")
        listing.set_defaults(action=list_records)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.config is None:
        print(f"medledger: name the client settings with --config or ${CONFIG_ENV}", file=sys.stderr)
        return 2
    try:
        config = client_config.load(args.config)
        if hasattr(args, "service_action"):
            print(json.dumps(args.service_action(service_commands.Context(config), args), indent=2))
            return 0
        action: Callable[[Contract, argparse.Namespace], str] = args.action
        target = config.index if args.records == "index" else config.usage
        with Gateway(config.endpoint, config.identity) as gateway:
            print(action(gateway.contract(target.channel, target.chaincode), args))
    except (client_config.ConfigError, IdentityError, EntityError, OSError, ValueError) as error:
        print(f"medledger: {error}", file=sys.stderr)
        return 2
    except (
        GatewayError,
        CommitError,
        PageError,
        ServiceError,
        SharingError,
        SealedBoxError,
        StorageError,
        DirectoryError,
        RecordError,
        EnvelopeError,
    ) as error:
        print(f"medledger: refused: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
