"""Fig. 9(a) and (b): the maximum add-record rate as the Patient Channel's batch changes (the paper's Table 6).

Each setting is a configuration update on the live channel (medledger-orderer-admin batch, signed by the orderer
organisation's admin on the first orderer), then the offered rate is stepped up as bench/ledger.py does until
more than 3 % of adds fail; the best step within that is the setting's maximum. The inventory's batch is put
back at the end, whatever happened.

  uv run python bench/batch_sizes.py [--step-seconds 10] [--quick] [--out bench/results]

Writes batch-sizes.json (batch-sizes-quick.json with --quick). Runs against the inventory of ansible.cfg, or
ANSIBLE_INVENTORY, whose addresses must be lab containers.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import cli
from ledger import ADD_RATES, ADD_TIMEOUT_S, PATIENT_CHANNEL, add, best, progress, step_up

from medledger_tools import lab_clients, topology
from medledger_tools.lab_clients import Ledger, lab_topology

KB = 1024
# Table 6: the message count at 512 KB (Fig. 9(a)), the preferred size at 100 messages (Fig. 9(b)).
MESSAGE_COUNTS = [5, 10, 15, 30, 75, 100]
PREFERRED_KB = [32, 64, 128, 256]
QUICK_SETTINGS = [(10, 512 * KB), (100, 512 * KB)]
# What the paper's text gives of Fig. 9(a) and (b) (its plots' points are not in the text): the maximum rises
# with the count and the size, then "tends to stabilize to 140".
PAPER_PLATEAU_TPS = 140.0


def settings() -> list[tuple[int, int]]:
    """(max message count, preferred max bytes) of each run, Fig. 9(a)'s first."""
    return [(count, 512 * KB) for count in MESSAGE_COUNTS] + [(100, size * KB) for size in PREFERRED_KB]


def set_batch(deployed: topology.Topology, count: int, preferred_bytes: int) -> str:
    """The Patient Channel's batch, changed through the first orderer's admin command."""
    orderer = sorted(deployed.members("orderers"))[0]
    lab_clients.check_target(str(deployed.hostvars[orderer]["ansible_host"]))
    command = f"medledger-orderer-admin batch {PATIENT_CHANNEL} {count} {preferred_bytes}"
    result = lab_clients.ansible(orderer, "-b", "-m", "ansible.builtin.command", "-a", command)
    if result.returncode != 0:
        raise RuntimeError(f"{orderer}: {command} failed: {result.stdout[-500:]}")
    return result.stdout.split(">>", 1)[1].strip()


def measure(deployed: topology.Topology, runs: list[tuple[int, int]], step_seconds: float) -> list[dict[str, Any]]:
    ledger = Ledger(deployed)
    inventory_batch = (
        int(deployed.global_var("medledger_batch_max_message_count")),
        int(deployed.global_var("medledger_batch_preferred_max_bytes")),
    )
    measured = []
    with tempfile.TemporaryDirectory() as folder:
        patient = ledger.new_client("OrgPatient", Path(folder), "pat-batch")
        with patient.gateway(ledger.channel_peers(PATIENT_CHANNEL)[0]) as gateway:
            records = gateway.contract(PATIENT_CHANNEL, ledger.chaincode_on(PATIENT_CHANNEL))
            one_add = add(patient, records, (f"BS-{n:07d}" for n in range(10**7)))
            # A patient's first record binds them to its hospital; adds in flight beside that one read them
            # unbound and fail as conflicts, which would count as errors of the first setting.
            one_add()
            try:
                for count, preferred in runs:
                    progress(
                        f"batch of {count} messages or {preferred // KB} KB: {set_batch(deployed, count, preferred)}"
                    )
                    steps = step_up(
                        f"add ({count}, {preferred // KB} KB)", one_add, ADD_RATES, step_seconds, ADD_TIMEOUT_S
                    )
                    measured.append(
                        {
                            "max_message_count": count,
                            "preferred_max_kb": preferred // KB,
                            "steps": [asdict(step) for step in steps],
                            "best": asdict(best(steps)),
                        }
                    )
            finally:
                progress(f"the inventory's batch again: {set_batch(deployed, *inventory_batch)}")
    return measured


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--step-seconds", type=float, default=10.0, help="duration of each load step")
    parser.add_argument("--quick", action="store_true", help="a smoke run: two settings, 3 s steps")
    args = parser.parse_args(argv)
    deployed = lab_topology()
    runs, step_seconds = (QUICK_SETTINGS, 3.0) if args.quick else (settings(), args.step_seconds)
    measured = measure(deployed, runs, step_seconds)
    results = {
        "consensus": str(deployed.global_var("medledger_consensus")),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "batch_timeout": deployed.global_var("medledger_batch_timeout"),
        "settings": measured,
        "paper_plateau_tps": PAPER_PLATEAU_TPS,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / ("batch-sizes-quick.json" if args.quick else "batch-sizes.json")
    target.write_text(json.dumps(results, indent=2) + "\n")
    for run in measured:
        progress(f"{run['max_message_count']} messages, {run['preferred_max_kb']} KB: {run['best']['achieved']} TPS")
    progress(f"written {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
