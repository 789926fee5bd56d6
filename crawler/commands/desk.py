"""``scrapy desk``: serve the takedown desk (127.0.0.1 by default), or add a user with ``--add-user NAME --role R``."""

from __future__ import annotations

import argparse
import getpass
import sys

from scrapy.exceptions import UsageError

from crawler.command_base import ProjectCommand
from reports.desk.config import DeskConfig
from reports.desk.db import ROLES, DeskDb, DeskError


class Command(ProjectCommand):
    summary = "Serve the takedown desk (review, batches, filing formats, results); --add-user NAME --role R"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--host", default=None, help="address to bind (default ADWATCH_DESK_HOST, 127.0.0.1)")
        parser.add_argument("--port", type=int, default=None, help="port (default ADWATCH_DESK_PORT, 8766)")
        parser.add_argument("--add-user", default=None, metavar="NAME", help="add (or reset) a user and exit")
        parser.add_argument("--role", choices=ROLES, default=None, help="--add-user: the user's role")
        parser.add_argument("--password-stdin", action="store_true",
                            help="--add-user: read the password from standard input instead of prompting")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        cfg = DeskConfig.from_settings(self.settings)
        if opts.add_user:
            self._add_user(cfg, opts)
            return
        from werkzeug.serving import make_server

        from reports.desk.app import create_app

        host, port = opts.host or cfg.host, opts.port if opts.port is not None else cfg.port
        if host not in ("127.0.0.1", "localhost", "::1"):
            print(f"adwatch: WARNING: the desk listens on {host}, not only on this machine: put TLS in front",
                  flush=True)
        server = make_server(host, port, create_app(cfg), threaded=True)
        print(f"adwatch: desk on http://{host}:{server.server_port}/ (Ctrl-C stops it)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()

    def _add_user(self, cfg: DeskConfig, opts: argparse.Namespace) -> None:
        if not opts.role:
            raise UsageError(f"--add-user needs --role ({', '.join(ROLES)})", print_help=False)
        if opts.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = getpass.getpass(f"password for {opts.add_user}: ")
            if getpass.getpass("again: ") != password:
                raise UsageError("the passwords differ", print_help=False)
        db = DeskDb(cfg.store)
        try:
            db.add_user(opts.add_user, opts.role, password)
        except DeskError as exc:
            raise UsageError(str(exc), print_help=False) from exc
        finally:
            db.close()
        print(f"adwatch: user {opts.add_user} ({opts.role}) saved", flush=True)
