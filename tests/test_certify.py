"""Certification: keys, `conformance certify` writing a signed bundle, `conformance verify` detecting
every kind of tampering, and the conformant / partial / non-conformant rule."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from report_fixtures import as_json, hand_report, hand_results

from conformance import certify, cli
from conformance.engine import Verdict
from conformance.reports import json_report, render


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`conformance certify` on the embedded server with a fresh default key; (bundle dir, config dir).

    The request budget keeps the test fast; budget-skipped MUSTs make the result partial at best."""
    root = tmp_path_factory.mktemp("certify")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
        code = cli.main(["certify", "--quiet", "--concurrency", "4", "--max-requests", "100",
                         "--reports-dir", str(root / "reports")])
    path = (root / "reports" / "latest").resolve()
    assert code == (0 if render.load(path)["summary"]["status"] == "conformant" else 1)
    return path, root / "config" / "oai-conformance"


@pytest.fixture
def copy(bundle: tuple[Path, Path], tmp_path: Path) -> Path:
    return Path(shutil.copytree(bundle[0], tmp_path / "bundle"))


def _verify(path: Path, *extra: str) -> int:
    return cli.main(["verify", str(path), *extra])


# --- keys ----------------------------------------------------------------------------------------


def test_default_key_is_created_private_with_its_public_half(bundle: tuple[Path, Path]) -> None:
    _, config = bundle
    key = config / "signing-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and stat.S_IMODE(config.stat().st_mode) == 0o700
    private = certify.load_private_key(key)
    assert (config / "signing-key.pub.pem").read_bytes() == certify.public_pem(private.public_key())


def test_default_key_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert certify.default_key_path() == tmp_path / "oai-conformance" / "signing-key.pem"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert certify.default_key_path() == tmp_path / "home" / ".config" / "oai-conformance" / "signing-key.pem"


def test_encrypted_keys_read_their_passphrase_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "k.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"hunter22")))
    with pytest.raises(certify.CertifyError, match="cannot read"):
        certify.load_private_key(path)
    monkeypatch.setenv(certify.PASSPHRASE_ENV, "hunter22")
    assert certify.fingerprint(certify.load_private_key(path).public_key()) == certify.fingerprint(key.public_key())


def test_non_ed25519_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(certify.CertifyError, match="not an Ed25519"):
        certify.load_private_key(path)


# --- the bundle ----------------------------------------------------------------------------------


def test_bundle_lists_every_file_with_its_hash(bundle: tuple[Path, Path]) -> None:
    path, _ = bundle
    manifest = json.loads((path / certify.MANIFEST).read_text(encoding="utf-8"))
    files = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()} - {certify.MANIFEST, certify.SIGNATURE}
    assert set(manifest["files"]) == files
    assert {"report.json", "junit.xml", "report.html", "summary.md", certify.PUBLIC_KEY} <= files
    document = render.load(path)
    assert manifest["status"] == document["summary"]["status"]
    assert (manifest["schema_hash"], manifest["suite_version"], manifest["profile"]) == (
        document["provenance"]["schema_hash"], document["provenance"]["suite_version"], "certify")
    assert "baseline" not in document


def test_verify_accepts_an_intact_bundle(bundle: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    path, config = bundle
    assert _verify(path) == 3  # intact, but who signed is not known
    assert "integrity only, signer not verified" in capsys.readouterr().out
    assert _verify(path, "--trust-embedded-key") == 0
    assert "key shipped in the bundle, not verified" in capsys.readouterr().out
    assert _verify(path, "--public-key", str(config / "signing-key.pub.pem")) == 0
    assert "pinned key" in capsys.readouterr().out
    assert _verify(path, "--public-key", str(config / "signing-key.pem")) == 0  # a private key gives its public half


def _tamper_modify(b: Path) -> None:
    with (b / "report.html").open("a", encoding="utf-8") as f:
        f.write("<!-- edited -->")


def _tamper_delete(b: Path) -> None:
    (b / "junit.xml").unlink()


def _tamper_add(b: Path) -> None:
    (b / "transcripts" / "extra.txt").parent.mkdir(exist_ok=True)
    (b / "transcripts" / "extra.txt").write_text("planted", encoding="utf-8")


def _tamper_manifest(b: Path) -> None:
    manifest = json.loads((b / certify.MANIFEST).read_text(encoding="utf-8"))
    manifest["model"] = "forged"
    (b / certify.MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _tamper_signature(b: Path) -> None:
    (b / certify.SIGNATURE).write_text(base64.b64encode(bytes(64)).decode() + "\n", encoding="ascii")


def _tamper_symlink(b: Path) -> None:
    os.symlink("/etc/hostname", b / "linked.txt")


def _tamper_resign(b: Path) -> None:
    """A forger edits report.json and re-seals with their own key (the shipped key proves nothing)."""
    document = json.loads((b / "report.json").read_text(encoding="utf-8"))
    document["provenance"]["model"] = "forged"
    (b / "report.json").write_text(json_report.dump(document), encoding="utf-8")
    certify.seal(b, Ed25519PrivateKey.generate())


@pytest.mark.parametrize(("tamper", "message"), [
    (_tamper_modify, "report.html: SHA-256 differs"),
    (_tamper_delete, "junit.xml: listed in the manifest but missing"),
    (_tamper_add, "transcripts/extra.txt: not listed in the manifest (added)"),
    (_tamper_manifest, "signature does not match"),
    (_tamper_signature, "signature does not match"),
    (_tamper_symlink, "linked.txt: symbolic link inside the bundle"),
])
def test_verify_detects_tampering(copy: Path, tamper: Any, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    tamper(copy)
    assert _verify(copy) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"INVALID: {copy}") and message in out


def test_a_pinned_key_catches_a_resigned_bundle(copy: Path, bundle: tuple[Path, Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _tamper_resign(copy)
    assert _verify(copy) == 3  # never "OK" without a trusted key
    out = capsys.readouterr().out
    assert not out.startswith("OK") and "integrity only, signer not verified" in out
    assert "(claimed by an unverified signer)" in out
    assert _verify(copy, "--public-key", str(bundle[1] / "signing-key.pub.pem")) == 1
    assert "signature does not match" in capsys.readouterr().out


def test_verify_refuses_what_is_not_a_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "nothing").mkdir()
    assert _verify(tmp_path / "nothing") == 1
    assert "not a sealed bundle" in capsys.readouterr().out
    assert _verify(tmp_path / "missing") == 2  # nothing to verify: the command could not do its job
    assert "no such bundle directory" in capsys.readouterr().err


def _seal_document(document: dict[str, Any], directory: Path) -> Path:
    directory.mkdir()
    render.write(document, directory)
    certify.seal(directory, Ed25519PrivateKey.generate())
    return directory


def test_verify_refuses_waivers_and_other_profiles(tmp_path: Path) -> None:
    waived = as_json(hand_report(profile="certify"))
    waived["baseline"] = {"file": "b.yml", "gated_verdicts": ["FAIL"], "failed": False, "new": [], "waived": [],
                          "expired": [], "fixed": [], "not_run": []}
    problems = certify.verify(_seal_document(waived, tmp_path / "waived")).problems
    assert problems == ["report.json: the run was gated by a baseline; waivers are refused in certification"]
    problems = certify.verify(_seal_document(as_json(hand_report()), tmp_path / "compatible")).problems
    assert problems == ["report.json: profile 'compatible', not 'certify'"]


def test_verify_recomputes_the_status_from_the_results(tmp_path: Path) -> None:
    document = as_json(hand_report(profile="certify"))
    document["summary"]["status"] = "conformant"  # the results say non-conformant
    problems = certify.verify(_seal_document(document, tmp_path / "b")).problems
    assert problems == ["report.json: summary.status 'conformant' but its results give 'non-conformant'"]


# --- conformant / partial / non-conformant -------------------------------------------------------


def _status(*verdicts: tuple[str, Verdict]) -> str:
    results = [r for r in hand_results() if r.verdict is Verdict.PASS]
    template = results[0]
    for level, verdict in verdicts:
        results.append(dataclasses.replace(template, level=level, verdict=verdict, scenario=f"s{len(results)}"))
    return as_json(hand_report(results))["summary"]["status"]


def test_status_rules() -> None:
    assert _status() == "conformant"
    assert _status(("SHOULD", Verdict.WARN), ("SHOULD", Verdict.SKIP)) == "conformant"
    assert _status(("MUST", Verdict.SKIP)) == "partial"
    assert _status(("MUST", Verdict.INCONCLUSIVE)) == "partial"
    assert _status(("MUST", Verdict.SKIP), ("MUST", Verdict.FAIL)) == "non-conformant"


def test_a_conformant_bundle_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    passing = [r for r in hand_results() if r.verdict is Verdict.PASS]
    key = tmp_path / "key.pem"
    certify.generate_key(key)
    path = tmp_path / "bundle"
    path.mkdir()
    render.write(as_json(hand_report(passing, profile="certify")), path)
    certify.seal(path, certify.load_private_key(key))
    assert _verify(path, "--public-key", str(tmp_path / "key.pub.pem")) == 0
    assert "status CONFORMANT, profile certify" in capsys.readouterr().out


def test_certify_refuses_an_unreadable_key_before_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.pem").write_text("not a key", encoding="utf-8")
    assert cli.main(["certify", "--signing-key", str(tmp_path / "bad.pem"), "--reports-dir", str(tmp_path / "r")]) == 2
    assert "cannot read signing key" in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_certify_has_no_waiver_option() -> None:
    with pytest.raises(SystemExit):
        cli.main(["certify", "--baseline", "b.yml"])

