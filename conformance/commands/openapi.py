"""`conformance openapi`: print the OpenAPI 3.1 document generated from schemas/ (e.g. for `st run`)."""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK = 0


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("openapi", help="print the OpenAPI 3.1 document generated from the JSON Schemas")
    p.add_argument("--lenient", action="store_true", help="the lenient (compatible) reading instead of the strict one")
    p.add_argument("--vendor", action="store_true", help="add the seed vendor's request parameters")
    p.add_argument("--no-cross-field", action="store_true",
                   help="drop the request's cross-field if/then rules (the document the suite generates from)")
    p.add_argument("--server-url", help="fill servers[0].url, e.g. http://127.0.0.1:8000/v1")
    return p


def main(args: argparse.Namespace) -> int:
    from ..generation.openapi import build_document

    document = build_document(strict=not args.lenient, vendor=args.vendor, cross_field=not args.no_cross_field,
                              server_url=args.server_url)
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return EXIT_OK
