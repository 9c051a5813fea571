"""The audit trail from the command line: ``python -m app.audit report|verify``.

    python -m app.audit report [--user NAME] [--action ACTION] [--since DATE] [--until DATE] [--json]
    python -m app.audit verify     # exit 1 naming the first broken event, 0 when the chain is intact
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from database.audit import ACTIONS


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-30") from None


def main(argv=None, out=None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m app.audit", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="SQLAlchemy URL (default: CAREPATH_DATABASE_URL or var/carepath.db)")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="list events, newest first")
    report.add_argument("--user")
    report.add_argument("--action", choices=ACTIONS)
    report.add_argument("--since", type=_date)
    report.add_argument("--until", type=_date)
    report.add_argument("--limit", type=int)
    report.add_argument("--json", action="store_true", help="one JSON object per line")
    commands.add_parser("verify", help="check the hash chain")
    args = parser.parse_args(argv)
    from app.access.store import open_store

    store = open_store(url=args.url)
    trail = store.audit
    try:
        if args.command == "verify":
            check = trail.verify()
            if not check.ok:
                print(f"audit chain BROKEN at event {check.first_broken_id}: {check.reason} "
                      f"({check.rows} events before it verified)", file=out)
                return 1
            last_id, last_hash = trail.head()
            print(f"audit chain intact: {check.rows} events; head {last_id} {last_hash}", file=out)
            return 0
        rows = trail.rows(args.user, args.action, args.since, args.until, args.limit)
        for row in rows:
            if args.json:
                print(json.dumps(row.as_json()), file=out)
            else:
                print(f"{row.id}\t{row.at[:19]}\t{row.username}\t{row.role}\t{row.action}\t{row.page}\t"
                      f"{row.patient_count} patients", file=out)
        if not args.json:
            print(f"{len(rows)} events", file=out)
        return 0
    finally:
        store.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
