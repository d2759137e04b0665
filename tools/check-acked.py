#!/usr/bin/env python3
"""Checks that every message a load run saw acknowledged was persisted (Python 3 standard library only).

Reads the ids file `ingest-load --ids-out FILE` wrote (one acknowledged request per line:
FIRST_ID<TAB>COUNT, the messages FIRST_ID … FIRST_ID+COUNT-1) and the `message_id` column of a
record table in a data directory's records.sqlite, then prints the acknowledged total, the rows,
the acknowledged ids with no row (lost), and rows of messages never acknowledged (journaled but
their reply never arrived, e.g. cut by a crash — allowed, they were not promised). With a rules
file of one rule and one persist action every message makes exactly one row, so a clean run has
rows == acknowledged and nothing lost. Exits 1 when an acknowledged message has no row.

Usage: python3 tools/check-acked.py IDS_FILE DATA_DIR [--table records]
"""

import argparse
import os
import sqlite3
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids_file")
    parser.add_argument("data_dir")
    parser.add_argument("--table", default="records")
    args = parser.parse_args()

    ranges = []
    with open(args.ids_file) as ids:
        for number, line in enumerate(ids, 1):
            fields = line.split()
            if len(fields) != 2:
                continue
            first, count = int(fields[0]), int(fields[1])
            if first < 0:
                sys.exit(f"{args.ids_file}:{number}: an acknowledged request without an id")
            ranges.append((first, count))
    acknowledged = sum(count for _, count in ranges)
    highest = max((first + count for first, count in ranges), default=0)

    path = os.path.join(args.data_dir, "records.sqlite")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    top = db.execute(f'SELECT IFNULL(MAX(message_id), 0) FROM "{args.table}"').fetchone()[0]
    seen = bytearray(max(highest, top + 1))
    rows = duplicates = 0
    for (message_id,) in db.execute(f'SELECT message_id FROM "{args.table}"'):
        rows += 1
        if seen[message_id]:
            duplicates += 1
        seen[message_id] = 1
    lost = 0
    acked = bytearray(len(seen))
    for first, count in ranges:
        acked[first:first + count] = b"\x01" * count
    for first, count in ranges:
        lost += count - sum(seen[first:first + count])
    unacknowledged = sum(1 for i in range(len(seen)) if seen[i] and not acked[i])

    print(f"acknowledged {acknowledged:,} messages in {len(ranges):,} replies; {rows:,} rows in '{args.table}'")
    print(f"lost (acknowledged, no row) {lost:,}; duplicate rows {duplicates:,}; "
          f"rows never acknowledged {unacknowledged:,}")
    print("OK: every acknowledged message was persisted" if lost == 0 else "FAIL: acknowledged messages are missing")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
