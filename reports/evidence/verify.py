"""``scrapy verify-evidence``: check a sealed package (folder or .zip) and name every file that fails."""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reports.evidence import manifest
from reports.evidence.package import CA_FILE, TOKEN
from reports.evidence.timestamp import TimestampError, load_roots, verify_stamp


@dataclass
class Verdict:
    """What verification found: ``ok`` only when every listed file matches and every token verifies."""

    checked: int = 0
    failures: list[str] = field(default_factory=list)  # "changed: path", "missing: path", "token: …"
    notes: list[str] = field(default_factory=list)
    stamped_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.failures


def _root(folder: Path) -> Path:
    """The package folder: ``folder`` itself, or its one sub-folder (an unpacked archive)."""
    if (folder / manifest.MANIFEST).exists():
        return folder
    subs = [p for p in folder.iterdir() if p.is_dir()]
    return subs[0] if len(subs) == 1 and (subs[0] / manifest.MANIFEST).exists() else folder


def verify_package(path: Path, roots_file: Path | None = None) -> Verdict:
    """Verify the package at ``path``; ``roots_file`` is the TSA CA the reader trusts (default: the package's own,
    which proves the token matches the manifest but not who issued it — the verdict says so)."""
    if path.is_file() and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.startswith("/") or ".." in Path(name).parts:
                    return Verdict(failures=[f"unsafe path in archive: {name}"])
            zf.extractall(tmp)
            return _verify_folder(_root(Path(tmp)), roots_file)
    return _verify_folder(_root(path), roots_file)


def _verify_folder(folder: Path, roots_file: Path | None) -> Verdict:
    verdict = Verdict()
    manifest_path = folder / manifest.MANIFEST
    if not manifest_path.exists():
        verdict.failures.append(f"missing: {manifest.MANIFEST}")
        return verdict
    data = manifest_path.read_bytes()
    try:
        listed = manifest.parse(data)
    except ValueError as exc:
        verdict.failures.append(str(exc))
        return verdict
    for rel, digest in sorted(listed.items()):
        target = folder / rel
        if not target.is_file():
            verdict.failures.append(f"missing: {rel}")
        elif manifest.sha256_file(target) != digest:
            verdict.failures.append(f"changed: {rel}")
        verdict.checked += 1
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    extra = sorted(p for p in on_disk - set(listed) - {manifest.MANIFEST, TOKEN} if not p.startswith("tokens/"))
    verdict.failures.extend(f"not in the manifest: {p}" for p in extra)
    _verify_tokens(folder, data, listed, roots_file, verdict)
    return verdict


def _verify_tokens(folder: Path, data: bytes, listed: dict[str, str], roots_file: Path | None, verdict: Verdict) -> None:
    token = folder / TOKEN
    if not token.exists():
        verdict.notes.append("no timestamp token: the files match the manifest, but nothing proves when it was made")
        return
    if roots_file is None:
        roots_file = folder / CA_FILE
        verdict.notes.append(f"token checked against the package's own {CA_FILE}: pass the TSA certificate you trust "
                             "to prove who issued it")
    if not roots_file.exists():
        verdict.failures.append(f"token: no TSA certificate to verify {TOKEN} with")
        return
    roots = load_roots(roots_file)
    try:
        verdict.stamped_at = verify_stamp(token.read_bytes(), data, roots)
    except TimestampError as exc:
        verdict.failures.append(f"token: {TOKEN} does not verify for {manifest.MANIFEST} ({exc})")
    tokens = folder / "tokens"
    if tokens.is_dir():
        for path in sorted(tokens.rglob("*.tsr")):
            rel = path.relative_to(tokens).as_posix()[: -len(".tsr")]
            target = folder / rel
            if rel not in listed or not target.is_file():
                continue  # already reported as missing, or a stray token
            try:
                verify_stamp(path.read_bytes(), target.read_bytes(), roots)
            except TimestampError as exc:
                verdict.failures.append(f"token: tokens/{rel}.tsr does not verify for {rel} ({exc})")
