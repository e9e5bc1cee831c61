"""Certification bundles: a run directory sealed with a SHA-256 manifest signed with Ed25519.

A bundle is a directory::

    report.json  junit.xml  report.html  summary.md  transcripts/…   the run's outputs
    signer.pub.pem   the signer's Ed25519 public key (PEM, SubjectPublicKeyInfo)
    MANIFEST.json    format, run id, profile, status, suite version and commit, schema hash, target,
                     model, the signer's key fingerprint and the SHA-256 of every other file
    MANIFEST.sig     base64 of the Ed25519 signature over the exact bytes of MANIFEST.json

Keys: `--signing-key FILE` names a PKCS#8 PEM Ed25519 private key (encrypted ones read their
passphrase from $CONFORMANCE_SIGNING_KEY_PASSPHRASE).  Without it the key lives in
`$XDG_CONFIG_HOME/oai-conformance/signing-key.pem` (default `~/.config/...`), created with mode
0600 on first use, its public half beside it as `signing-key.pub.pem`.

`verify` works offline: it checks the signature (with a pinned `--public-key`, or else the key
shipped in the bundle, which proves integrity but not who signed), every hash, that no file was
added, and that report.json is a certify-profile run without waivers that agrees with the manifest
and with its own results.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .reports import atomic, render
from .reports.json_report import status_of

MANIFEST = "MANIFEST.json"
SIGNATURE = "MANIFEST.sig"
PUBLIC_KEY = "signer.pub.pem"
BUNDLE_FORMAT = "oai-conformance-bundle"
BUNDLE_VERSION = 1
CERTIFY_PROFILE = "certify"
PASSPHRASE_ENV = "CONFORMANCE_SIGNING_KEY_PASSPHRASE"
_SEAL = frozenset({MANIFEST, SIGNATURE})


class CertifyError(Exception):
    """A key cannot be read or written, or a directory cannot be sealed."""


def default_key_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "oai-conformance" / "signing-key.pem"


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 hex of the raw 32-byte public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def generate_key(path: Path) -> Ed25519PrivateKey:
    """Create a new key at `path` (mode 0600, directory 0700) and its public half at `<stem>.pub.pem`."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        path.with_name(path.stem + ".pub.pem").write_bytes(public_pem(key.public_key()))
    except OSError as exc:
        raise CertifyError(f"cannot create signing key {path}: {exc}") from None
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file; CertifyError if unreadable or of another type."""
    passphrase = os.environ.get(PASSPHRASE_ENV)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), passphrase.encode() if passphrase else None)
    except (OSError, ValueError, TypeError) as exc:
        raise CertifyError(f"cannot read signing key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CertifyError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(pem: bytes, source: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM bytes, or from a private key's PEM (its public half)."""
    try:
        key: object = serialization.load_pem_public_key(pem)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(pem, None).public_key()
        except (ValueError, TypeError) as exc:
            raise CertifyError(f"{source}: not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CertifyError(f"{source} is not an Ed25519 key")
    return key


def signing_key(path: Path | None) -> tuple[Ed25519PrivateKey, Path, bool]:
    """The key to sign with: `path` if given, else the default one (created if missing). Returns (key, path, created)."""
    if path is not None:
        return load_private_key(path), path, False
    default = default_key_path()
    if default.exists():
        return load_private_key(default), default, False
    return generate_key(default), default, True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(bundle: Path) -> tuple[dict[str, Path], list[str]]:
    """Every regular file under `bundle` except the seal, by POSIX relative path; and the symlinks found."""
    files, links = {}, []
    for path in sorted(bundle.rglob("*")):
        rel = path.relative_to(bundle).as_posix()
        if path.is_symlink():
            links.append(rel)
        elif path.is_file() and rel not in _SEAL:
            files[rel] = path
    return files, links


def manifest(bundle: Path, document: dict[str, Any], public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The manifest of a bundle directory whose outputs (and signer.pub.pem) are already written."""
    files, links = _files(bundle)
    if links:
        raise CertifyError(f"{bundle}: symbolic links cannot be sealed: {', '.join(links)}")
    run, prov = document["run"], document["provenance"]
    return {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": run["id"],
        "profile": run["profile"],
        "status": document["summary"]["status"],
        "suite_version": prov["suite_version"],
        "suite_commit": prov["suite_commit"],
        "schema_hash": prov["schema_hash"],
        "target_url": prov["target_url"],
        "model": prov["model"],
        "started_at": run["started_at"],
        "finished_at": run["finished_at"],
        "public_key_sha256": fingerprint(public_key),
        "files": {rel: _sha256(path) for rel, path in files.items()},
    }


def seal(bundle: Path, key: Ed25519PrivateKey) -> dict[str, Any]:
    """Write signer.pub.pem, MANIFEST.json and MANIFEST.sig into a run directory; returns the manifest."""
    document = render.load(bundle)
    atomic.write_bytes(bundle / PUBLIC_KEY, public_pem(key.public_key()))
    body = manifest(bundle, document, key.public_key())
    data = (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8")
    atomic.write_bytes(bundle / MANIFEST, data)
    atomic.write_bytes(bundle / SIGNATURE, base64.b64encode(key.sign(data)) + b"\n")
    return body


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    key_fingerprint: str = ""
    pinned: bool = False  # the key came from the verifier, not from the bundle

    @property
    def ok(self) -> bool:
        return not self.problems


def _safe(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return bool(parts) and not PurePosixPath(rel).is_absolute() and ".." not in parts and "\\" not in rel


def verify(bundle: Path, public_key_pem: bytes | None = None) -> Verification:
    """Check a bundle offline; the result lists every problem found (none: the bundle is intact)."""
    result = Verification()
    try:
        data = (bundle / MANIFEST).read_bytes()
        signature = base64.b64decode((bundle / SIGNATURE).read_text(encoding="ascii").strip(), validate=True)
    except (OSError, UnicodeDecodeError, binascii.Error) as exc:
        result.problems.append(f"not a sealed bundle: {exc}")
        return result
    try:
        if public_key_pem is not None:
            key, result.pinned = load_public_key(public_key_pem, "--public-key"), True
        else:
            key = load_public_key((bundle / PUBLIC_KEY).read_bytes(), PUBLIC_KEY)
    except (OSError, CertifyError) as exc:
        result.problems.append(f"no usable public key: {exc}")
        return result
    result.key_fingerprint = fingerprint(key)
    try:
        key.verify(signature, data)
    except InvalidSignature:
        result.problems.append(f"{SIGNATURE}: the signature does not match {MANIFEST} under key {result.key_fingerprint}")
        return result
    try:
        body = json.loads(data)
    except ValueError as exc:
        result.problems.append(f"{MANIFEST}: not JSON: {exc}")
        return result
    if not isinstance(body, dict) or body.get("format") != BUNDLE_FORMAT or body.get("version") != BUNDLE_VERSION \
            or not isinstance(body.get("files"), dict):
        result.problems.append(f"{MANIFEST}: not a {BUNDLE_FORMAT} v{BUNDLE_VERSION} manifest")
        return result
    result.manifest = body
    if body.get("public_key_sha256") != result.key_fingerprint:
        result.problems.append(f"{MANIFEST}: names signer {body.get('public_key_sha256')}, "
                               f"verified with {result.key_fingerprint}")
    _check_files(bundle, body["files"], result)
    _check_report(bundle, body, result)
    return result


def _check_files(bundle: Path, listed: dict[str, str], result: Verification) -> None:
    present, links = _files(bundle)
    result.problems += [f"{rel}: symbolic link inside the bundle" for rel in links]
    for rel, digest in sorted(listed.items()):
        if not _safe(rel):
            result.problems.append(f"{MANIFEST}: unsafe path {rel!r}")
        elif rel not in present:
            result.problems.append(f"{rel}: listed in the manifest but missing")
        elif _sha256(present[rel]) != digest:
            result.problems.append(f"{rel}: SHA-256 differs from the manifest (modified)")
    result.problems += [f"{rel}: not listed in the manifest (added)" for rel in sorted(set(present) - set(listed))]


def _check_report(bundle: Path, body: dict[str, Any], result: Verification) -> None:
    if render.REPORT_JSON not in body["files"]:
        result.problems.append(f"{MANIFEST}: the bundle has no {render.REPORT_JSON}")
        return
    try:
        document = render.load(bundle)
    except render.ReportError as exc:
        result.problems.append(str(exc))
        return
    claims = {"status": document["summary"]["status"], "schema_hash": document["provenance"]["schema_hash"],
              "suite_version": document["provenance"]["suite_version"], "run_id": document["run"]["id"]}
    for name, value in claims.items():
        if body.get(name) != value:
            result.problems.append(f"{MANIFEST}: {name} {body.get(name)!r} but report.json says {value!r}")
    if document["run"]["profile"] != CERTIFY_PROFILE:
        result.problems.append(f"report.json: profile {document['run']['profile']!r}, not {CERTIFY_PROFILE!r}")
    if "baseline" in document:
        result.problems.append("report.json: the run was gated by a baseline; waivers are refused in certification")
    recomputed = status_of(document["results"], document["run"]["interrupted"])
    if recomputed != document["summary"]["status"]:
        result.problems.append(f"report.json: summary.status {document['summary']['status']!r} "
                               f"but its results give {recomputed!r}")
