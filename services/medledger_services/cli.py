"""`medledger`: write and read the ledger's records through a peer's Gateway, as the paper's data client does.

  medledger index put --treatment T-1 --data record.enc --url https://... --doctor doc-1 --doctor-signature HEX
  medledger index get PID TID | index list PID | index verify PID TID --data record.enc
  medledger usage put --treatment T-1 --sender PID --receiver PID --digest HEX
  medledger usage get PID TID | usage list PID

Exit status: 0 done, 1 refused by the ledger (the peers' reasons on stderr), 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from . import client_config, entities
from .entities import DataUsageEntity, EntityError, PatientDataEntity
from .gateway import CommitError, Contract, Gateway, GatewayError
from .identity import IdentityError

CONFIG_ENV = "MEDLEDGER_CLIENT_CONFIG"


def index_put(contract: Contract, args: argparse.Namespace) -> str:
    """Algorithm 1: build the PatientDataEntity of one piece of (encrypted) data, sign it, save it."""
    record = PatientDataEntity.signed_by(
        contract.gateway.identity,
        treatment=args.treatment,
        data=Path(args.data).read_bytes(),
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
    digest = entities.data_digest(Path(args.data).read_bytes())
    return contract.evaluate("VerifyDigest", args.pid, args.tid, digest).decode()


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

    for commands in (index_commands, usage_commands):
        get = commands.add_parser("get", help="the records of a PID's treatment")
        get.add_argument("pid")
        get.add_argument("tid")
        get.set_defaults(
            action=lambda contract, args: contract.evaluate("QueryByPidAndTid", args.pid, args.tid).decode()
        )
        listing = commands.add_parser("list", help="every record of a PID")
        listing.add_argument("pid")
        listing.set_defaults(action=lambda contract, args: contract.evaluate("ListByPid", args.pid).decode())
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.config is None:
        print(f"medledger: name the client settings with --config or ${CONFIG_ENV}", file=sys.stderr)
        return 2
    action: Callable[[Contract, argparse.Namespace], str] = args.action
    try:
        config = client_config.load(args.config)
        target = config.index if args.records == "index" else config.usage
        with Gateway(config.endpoint, config.identity) as gateway:
            print(action(gateway.contract(target.channel, target.chaincode), args))
    except (client_config.ConfigError, IdentityError, EntityError, OSError) as error:
        print(f"medledger: {error}", file=sys.stderr)
        return 2
    except (GatewayError, CommitError) as error:
        print(f"medledger: refused: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
