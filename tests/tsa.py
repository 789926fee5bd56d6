"""A throw-away RFC 3161 time-stamping authority on 127.0.0.1, for tests and the demo (never the internet).

``openssl ts -reply`` answers; the CA and the TSA certificate are made fresh in a temporary folder, so nothing here
is trusted outside one run. Usage: ``with LocalTsa() as tsa: tsa.url, tsa.ca_file``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TSA_CONFIG = """\
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = {dir}
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.crt
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_alg = sha256
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_authority(folder: Path, name: str = "adwatch test") -> None:
    """A CA and a TSA certificate signed by it (extendedKeyUsage critical timeStamping), in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3", "-subj", f"/CN={name} CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=folder)
    _openssl("req", *curve, "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", f"/CN={name} TSA", cwd=folder)
    (folder / "ext.cnf").write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                    "extendedKeyUsage=critical,timeStamping\n")
    _openssl("x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "tsa.crt", "-days", "3", "-extfile", "ext.cnf", cwd=folder)
    (folder / "serial").write_text("01\n")
    (folder / "tsa.cnf").write_text(TSA_CONFIG.format(dir=folder))


class LocalTsa:
    """An HTTP TSA: POST a DER TimeStampReq (application/timestamp-query), get a TimeStampResp back."""

    def __init__(self, folder: Path | None = None, name: str = "adwatch test") -> None:
        self._own = folder is None
        self.folder = Path(folder or tempfile.mkdtemp(prefix="adwatch-tsa-"))
        make_authority(self.folder, name)
        self._lock = threading.Lock()  # openssl ts increments one serial file
        handler = type("TsaHandler", (_Handler,), {"tsa": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/tsa"

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.crt"

    def reply(self, query: bytes) -> bytes:
        with self._lock, tempfile.TemporaryDirectory() as tmp:
            q, r = Path(tmp) / "q.tsq", Path(tmp) / "r.tsr"
            q.write_bytes(query)
            subprocess.run(["openssl", "ts", "-reply", "-queryfile", str(q), "-config", str(self.folder / "tsa.cnf"),
                            "-out", str(r)], check=True, capture_output=True, timeout=60)
            return r.read_bytes()

    def start(self) -> LocalTsa:
        threading.Thread(target=self.httpd.serve_forever, name="local-tsa", daemon=True).start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._own:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalTsa:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    tsa: LocalTsa

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            answer, status = self.tsa.reply(body), 200
        except subprocess.CalledProcessError:
            answer, status = b"bad request", 400
        self.send_response(status)
        self.send_header("Content-Type", "application/timestamp-reply" if status == 200 else "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
