"""``scrapy kibana-setup``: import adwatch's data view, saved searches and dashboard into Kibana.

(The command's name is its module's name; Scrapy imports command modules by path, so the hyphen works.)
"""

from __future__ import annotations

import argparse
import urllib.error

from crawler.command_base import ProjectCommand
from scrapy.exceptions import UsageError

from crawler.kibana import NDJSON_PATH, import_saved_objects, saved_objects, to_ndjson


class Command(ProjectCommand):
    summary = "Import the Kibana data view, saved searches and dashboard (ADWATCH_KIBANA_URL)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--kibana", default="", help="Kibana URL (default: ADWATCH_KIBANA_URL)")
        parser.add_argument("--space", default="", help="Kibana space id (default: the default space)")
        parser.add_argument("--print", dest="print_only", action="store_true",
                            help=f"print the NDJSON instead of importing it (also shipped as {NDJSON_PATH.name})")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        ndjson = to_ndjson(saved_objects(self.settings.get("ADWATCH_ES_INDEX") or "adwatch-posts"))
        if opts.print_only:
            print(ndjson, end="")
            return
        url = opts.kibana or self.settings.get("ADWATCH_KIBANA_URL")
        if not url:
            raise UsageError("set ADWATCH_KIBANA_URL or pass --kibana URL", print_help=False)
        try:
            result = import_saved_objects(
                url, ndjson, space=opts.space,
                api_key=self.settings.get("ADWATCH_ES_API_KEY") or "",
                username=self.settings.get("ADWATCH_ES_USERNAME") or "",
                password=self.settings.get("ADWATCH_ES_PASSWORD") or "",
                ca_certs=self.settings.get("ADWATCH_ES_CA_CERTS") or "",
            )
        except urllib.error.HTTPError as exc:
            print(f"adwatch: Kibana refused the import: HTTP {exc.code} {exc.read()[:500]!r}")
            self.exitcode = 1
            return
        except urllib.error.URLError as exc:
            print(f"adwatch: Kibana unreachable: {exc.reason}")
            self.exitcode = 1
            return
        errors = result.get("errors") or []
        print(f"adwatch: imported {result.get('successCount', 0)} Kibana objects"
              + (f", {len(errors)} errors: {errors}" if errors else ""))
        if errors or not result.get("success"):
            self.exitcode = 1
