"""`conformance certify`: run the certify profile, without waivers, and seal the run as a signed bundle.

The bundle is the run directory reports/<run-id>/ (reports/latest points at it): every report
format, transcripts/, signer.pub.pem, MANIFEST.json (SHA-256 of every file, suite version, schema
hash, status) and MANIFEST.sig (Ed25519).  See `conformance.certify` for the key's location.
Exit codes: 0 conformant, 1 partial or non-conformant (the bundle is written either way),
2 the run could not start or the bundle could not be signed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import options
from ..service import EXIT_CANNOT_RUN, EXIT_FAILURES, EXIT_OK

PROFILE = "certify"


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("certify", help="run the certify profile (no waivers) and write a signed, verifiable bundle")
    options.add_to_argparse(p, options.CERTIFY)
    g = p.add_argument_group("certification")
    g.add_argument("--signing-key", type=Path, metavar="PEM",
                   help="Ed25519 private key (PKCS#8 PEM); default ~/.config/oai-conformance/signing-key.pem, created if missing")
    return p


def main(args: argparse.Namespace) -> int:
    from .. import settings
    from ..certify import CertifyError, fingerprint, seal, signing_key
    from ..housekeeping import confine_hypothesis
    from ..reports import render
    from ..service import Outputs, run_on_terminal, writable_error

    try:
        resolved = settings.from_cli(args, options.CERTIFY)
    except settings.OptionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    try:  # before the run: a bad key must not cost a whole certification run
        key, key_path, created = signing_key(args.signing_key)
    except CertifyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    problem = writable_error(resolved.reports_dir)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    if created:
        print(f"generated a new signing key: {key_path} (public half beside it)", file=sys.stderr)
    confine_hypothesis(resolved.reports_dir)
    finished = run_on_terminal(settings.run_config(resolved, PROFILE, list(sys.argv)),
                               Outputs(resolved.reports_dir, keep=resolved.keep), quiet=resolved.quiet,
                               no_color=resolved.no_color)
    if isinstance(finished, int):
        return finished
    if finished.run_dir is None:
        return EXIT_CANNOT_RUN
    try:
        manifest = seal(finished.run_dir, key)
    except (CertifyError, render.ReportError, OSError) as exc:
        print(f"error: cannot seal the bundle: {exc}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    print(f"bundle: {finished.run_dir} ({len(manifest['files'])} files, signed by {fingerprint(key.public_key())})")
    public = key_path.with_name(key_path.stem + ".pub.pem") if args.signing_key is None else "SIGNER.pub.pem"
    print(f"verify: conformance verify {finished.run_dir} --public-key {public}")
    return EXIT_OK if finished.document["summary"]["status"] == "conformant" else EXIT_FAILURES
