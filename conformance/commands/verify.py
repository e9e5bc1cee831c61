"""`conformance verify BUNDLE`: check a certification bundle's signature and every hash, offline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_CANNOT_RUN = 0, 1, 2


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("verify", help="verify a certification bundle (signature, SHA-256 of every file) offline")
    p.add_argument("bundle", type=Path, metavar="BUNDLE", help="the bundle directory written by `conformance certify`")
    p.add_argument("--public-key", type=Path, metavar="PEM",
                   help="the signer's public key to pin (default: the key shipped in the bundle, integrity only)")
    return p


def main(args: argparse.Namespace) -> int:
    from ..certify import verify

    if not args.bundle.is_dir():
        print(f"error: {args.bundle}: no such bundle directory", file=sys.stderr)
        return EXIT_CANNOT_RUN
    try:
        pinned = args.public_key.read_bytes() if args.public_key else None
    except OSError as exc:
        print(f"error: cannot read --public-key: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    result = verify(args.bundle, pinned)
    if not result.ok:
        print(f"INVALID: {args.bundle}")
        for problem in result.problems:
            print(f"  - {problem}")
        return EXIT_INVALID
    m = result.manifest
    signer = "pinned key" if result.pinned else "key shipped in the bundle (pass --public-key to check who signed)"
    print(f"OK: {args.bundle}: signature valid, {len(m['files'])} files match their SHA-256")
    print(f"  status {m['status'].upper()}, profile {m['profile']}, run {m['run_id']}")
    print(f"  target {m['target_url']}, model {m['model']}")
    print(f"  suite {m['suite_version']} ({m['suite_commit'] or 'no commit'}), schema {m['schema_hash']}")
    print(f"  signer {result.key_fingerprint}: {signer}")
    return EXIT_OK
