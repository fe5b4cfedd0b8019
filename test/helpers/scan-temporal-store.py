"""Reads the Temporal dev server's SQLite store as the server wrote it (no SDK, no codec) and reports
which of the needles given on stdin (a JSON list of strings) occur in any table, with the table names."""
import json
import sqlite3
import sys

db, needles = sys.argv[1], [n.encode() for n in json.load(sys.stdin)]
con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
found = {}
tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
scanned = 0
for table in tables:
    for row in con.execute(f'SELECT * FROM "{table}"'):
        for value in row:
            if isinstance(value, str):
                value = value.encode()
            if not isinstance(value, bytes):
                continue
            scanned += len(value)
            for n in needles:
                if n in value:
                    found.setdefault(n.decode(), set()).add(table)
json.dump({"scannedBytes": scanned, "found": {k: sorted(v) for k, v in found.items()}}, sys.stdout)
