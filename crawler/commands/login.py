"""``scrapy login PLATFORM``: log an account in in a visible browser and save its session; ``--check`` says which
saved sessions are logged in."""

from __future__ import annotations

import argparse

from scrapy.exceptions import UsageError

from crawler.command_base import ProjectCommand
from crawler.sessions.login import check, login
from crawler.sessions.specs import SessionsConfig


class Command(ProjectCommand):
    summary = "Log a platform account in (visible browser) and save its session; --check lists the sessions"

    def syntax(self) -> str:
        return "PLATFORM [options]"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--session", default="account", help="name of the saved session (default: account)")
        parser.add_argument("--check", action="store_true", help="only say which saved sessions are logged in")
        parser.add_argument("--url", default="", help="login page (default: the platform's, PLATFORM_LOGIN)")
        parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the login")
        parser.add_argument("--headless", action="store_true", help="no visible window (automation, tests)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        logins = self.settings.getdict("PLATFORM_LOGIN")
        if len(args) != 1 or args[0] not in logins:
            raise UsageError(f"name one platform: {', '.join(sorted(logins))}")
        platform, spec = args[0], logins[args[0]]
        config = SessionsConfig.from_settings(self.settings)
        if opts.check:
            found = check(config, platform, spec["cookie"])
            for health in found:
                print(health.line())
            if not found:
                print(f"{platform}: no saved session (scrapy login {platform})")
            self.exitcode = 0 if found and all(h.logged_in for h in found) else 1
            return
        if "/" in opts.session or opts.session.startswith("."):
            raise UsageError("--session is a plain name")
        path = config.platform_dir(platform) / f"{opts.session}.json"
        print(f"{platform}: log in in the browser window (waiting up to {opts.timeout:.0f}s for the "
              f"{spec['cookie']} cookie) …", flush=True)
        if login(opts.url or spec["url"], spec["cookie"], path, self.settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS"),
                 headless=opts.headless, timeout=opts.timeout):
            print(f"{platform}: session {opts.session!r} saved to {path}")
        else:
            print(f"{platform}: not logged in within {opts.timeout:.0f}s; nothing saved")
            self.exitcode = 1
