"""Table 4's client operations on this machine, the paper's method and ours timed in the same run.

Each operation of the data client (the paper's "*" operations but the uploads, which bench/services.py times
through the storage service) at 64 KB, 256 KB and 1 MB of EMR ‖ SHR, `--runs` times each (the paper ran 1,000
on an Android phone), for the paper's method (bench/paper_method.py: RSA over the whole file, RK = the patient's
key for the receiver) and for ours (services/medledger_client: AES-256-GCM chunks, the data key wrapped with
Umbral, ECDSA P-256 signatures as Fabric identities make them, Umbral kfrags and re-encryption). Medians with
the 10th-90th percentile spread, the paper's figure beside them, and paper method / ours.

  uv run python bench/client_ops.py [--runs 20] [--quick] [--out bench/results]

Writes client-ops.json. No lab needed: it times this machine's CPU.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cli
import paper_method
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from medledger_client import records, sharing_keys

SIZES_KB = (64, 256, 1024)
# Table 4 (ms) at 64 KB, 256 KB, 1 MB, for the operations timed here.
PAPER_TABLE_4: dict[str, tuple[float, float, float]] = {
    "t_er": (396, 1590, 6348),
    "t_dr": (2115, 8453, 35707),
    "t_md": (3, 13, 45),
    "t_sig": (5, 4, 4),
    "t_vs": (1, 1, 1),
    "t_ea": (2, 6, 20),
    "t_da": (3, 7, 26),
    "t_kg": (2, 2, 2),
    "t_pkrg": (3, 3, 3),
}
MEANING = {
    "t_er": "encrypt the record",
    "t_dr": "decrypt the record",
    "t_md": "SHA-384 of the ciphertext",
    "t_sig": "sign digest and PID",
    "t_vs": "verify the signature",
    "t_ea": "encrypt the file to share",
    "t_da": "receiver opens the shared file",
    "t_kg": "make the sharing keys",
    "t_pkrg": "re-encrypt the key for the receiver",
}
PID = b"3f1c" * 24  # a PID is a SHA-384 digest's hex


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def paper_operations(record: bytes) -> dict[str, Callable[[], object]]:
    """The paper's operations on one record, each with the inputs the step before it made."""
    patient, receiver = paper_method.new_key(), paper_method.new_key()
    ciphertext = paper_method.rsa_encrypt(patient.public_key(), record)
    digest = paper_method.digest(ciphertext)
    signature = paper_method.sign(patient, digest, PID)
    keys = paper_method.sharing_keys(patient, receiver.public_key())
    shared = paper_method.aes_encrypt(keys.data_key, record)
    converted = paper_method.convert(receiver, keys)
    return {
        "t_er": lambda: paper_method.rsa_encrypt(patient.public_key(), record),
        "t_dr": lambda: paper_method.rsa_decrypt(patient, ciphertext),
        "t_md": lambda: paper_method.digest(ciphertext),
        "t_sig": lambda: paper_method.sign(patient, digest, PID),
        "t_vs": lambda: paper_method.verify(patient.public_key(), digest, PID, signature),
        "t_ea": lambda: paper_method.aes_encrypt(keys.data_key, record),
        "t_da": lambda: paper_method.open_shared(receiver, converted, shared),
        "t_kg": lambda: paper_method.sharing_keys(patient, receiver.public_key()),
        "t_pkrg": lambda: paper_method.convert(receiver, keys),
    }


def our_operations(record: bytes, folder: Path) -> dict[str, Callable[[], object]]:
    """Ours, through the data client's own functions, on files as the client keeps them. Sharing encrypts no
    file again (the stored ciphertext is shared): there is no t_ea."""
    emr, shr, ciphertext = folder / "emr", folder / "shr", folder / "record.sealed"
    emr.write_bytes(record[: len(record) // 2])
    shr.write_bytes(record[len(record) // 2 :])
    patient, receiver = sharing_keys.SharingKeys.generate(), sharing_keys.SharingKeys.generate()
    sealed = records.seal_record(emr, shr, ciphertext, patient.public_key)
    sealed_bytes = ciphertext.read_bytes()
    signer = ec.generate_private_key(ec.SECP256R1())
    digest = hashlib.sha384(sealed_bytes).digest()
    signature = signer.sign(digest + PID, ec.ECDSA(hashes.SHA256()))
    (kfrag,) = sharing_keys.grant(patient, receiver.public_key)
    reencrypt = (sealed.wrapped_key.capsule, kfrag, patient.public_key, receiver.public_key, patient.verifying_key)
    cfrag = sharing_keys.reencrypt(*reencrypt)

    def decrypt_own() -> None:
        data_key = sharing_keys.unwrap_own(patient.secret_key, sealed.wrapped_key)
        records.open_record(ciphertext, data_key, folder / "emr.out", folder / "shr.out")

    def open_shared() -> None:
        data_key = sharing_keys.unwrap_shared(
            receiver.secret_key, patient.public_key, patient.verifying_key, sealed.wrapped_key, [cfrag]
        )
        records.open_record(ciphertext, data_key, folder / "emr.shared", folder / "shr.shared")

    return {
        "t_er": lambda: records.seal_record(emr, shr, folder / "again.sealed", patient.public_key),
        "t_dr": decrypt_own,
        "t_md": lambda: hashlib.sha384(ciphertext.read_bytes()).digest(),
        "t_sig": lambda: signer.sign(digest + PID, ec.ECDSA(hashes.SHA256())),
        "t_vs": lambda: signer.public_key().verify(signature, digest + PID, ec.ECDSA(hashes.SHA256())),
        "t_da": open_shared,
        "t_kg": lambda: sharing_keys.grant(patient, receiver.public_key),
        "t_pkrg": lambda: sharing_keys.reencrypt(*reencrypt),
    }


def timed(operation: Callable[[], object], runs: int) -> dict[str, float]:
    """Median and 10th/90th percentiles (ms) of `runs` calls, after one untimed call."""
    operation()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        operation()
        samples.append((time.perf_counter() - started) * 1000)
    deciles = statistics.quantiles(samples, n=10, method="inclusive") if runs > 1 else samples * 9
    return {"median_ms": statistics.median(samples), "p10_ms": deciles[0], "p90_ms": deciles[-1], "runs": runs}


def measure(sizes_kb: tuple[int, ...], runs: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for size_kb in sizes_kb:
        record = os.urandom(size_kb * 1024)
        with tempfile.TemporaryDirectory() as work:
            methods = {"paper": paper_operations(record), "ours": our_operations(record, Path(work))}
            for name in PAPER_TABLE_4:
                row: dict[str, Any] = {"paper_table_4_ms": PAPER_TABLE_4[name][SIZES_KB.index(size_kb)]}
                for method, operations in methods.items():
                    if name in operations:
                        progress(f"{size_kb} KB {name} ({method}), {runs} runs")
                        row[method] = timed(operations[name], runs)
                if "ours" in row:
                    row["paper_over_ours"] = row["paper"]["median_ms"] / max(row["ours"]["median_ms"], 1e-6)
                results.setdefault(f"{size_kb}KB", {})[name] = row
    return results


def spread(figures: dict[str, float] | None) -> str:
    if figures is None:
        return "none"
    return f"{figures['median_ms']:.2f} ({figures['p10_ms']:.2f}-{figures['p90_ms']:.2f})"


def times(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.2g}x"


def table(results: dict[str, Any]) -> str:
    """Markdown: one row per operation and size."""
    lines = [
        "| operation | size | paper, Table 4 (phone), ms | paper's method here, ms: median (p10-p90) | ours here, ms "
        "| paper's / ours |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for size, operations in results.items():
        for name, row in operations.items():
            ratio = times(row["paper_over_ours"]) if "paper_over_ours" in row else "-"
            lines.append(
                f"| {name} {MEANING[name]} | {size} | {row['paper_table_4_ms']:g} | {spread(row.get('paper'))} "
                f"| {spread(row.get('ours'))} | {ratio} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__doc__)
    parser.add_argument("--runs", type=int, default=20, help="timed calls per operation and size")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 64 KB, 2 runs")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    sizes, runs = ((64,), 2) if args.quick else (SIZES_KB, args.runs)
    results = measure(sizes, runs)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "client-ops-quick.json" if args.quick else "client-ops.json"
    (args.out / name).write_text(json.dumps({"runs": runs, "operations": results}, indent=2) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
