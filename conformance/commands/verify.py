"""`conformance verify BUNDLE`: check a certification bundle's signature and every hash, offline.

Exit codes: 0 intact and signed by the pinned key (or, with --trust-embedded-key, by the key the
bundle ships); 1 invalid; 3 intact but the signer is not verified (no --public-key): anyone can
re-seal a forged bundle with a key of their own, so integrity alone proves nothing about who signed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_CANNOT_RUN, EXIT_UNVERIFIED = 0, 1, 2, 3


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("verify", help="verify a certification bundle (signature, SHA-256 of every file) offline")
    p.add_argument("bundle", type=Path, metavar="BUNDLE", help="the bundle directory written by `conformance certify`")
    p.add_argument("--public-key", type=Path, metavar="PEM",
                   help="the signer's public key to pin; without it only integrity is checked and the exit code is 3")
    p.add_argument("--trust-embedded-key", action="store_true",
                   help="accept the key shipped in the bundle as the signer's (integrity only; exit 0 when intact)")
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
    trusted = result.pinned or args.trust_embedded_key
    if trusted:
        print(f"OK: {args.bundle}: signature valid, {len(m['files'])} files match their SHA-256")
    else:
        print(f"UNVERIFIED SIGNER: {args.bundle}: integrity only, signer not verified "
              "(pass --public-key, or --trust-embedded-key to accept the key shipped in the bundle)")
    claimed = "" if trusted else " (claimed by an unverified signer)"
    print(f"  status {m['status'].upper()}{claimed}, profile {m['profile']}, run {m['run_id']}")
    print(f"  target {m['target_url']}, model {m['model']}")
    print(f"  suite {m['suite_version']} ({m['suite_commit'] or 'no commit'}), schema {m['schema_hash']}")
    signer = "pinned key" if result.pinned else "key shipped in the bundle, not verified"
    print(f"  signer {result.key_fingerprint}: {signer}")
    return EXIT_OK if trusted else EXIT_UNVERIFIED
