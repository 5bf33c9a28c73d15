import csv, sys
lines = [l for l in sys.stdin if not l.startswith("\x1b")]
for row in csv.DictReader(lines):
    if row["kind"] == "page":
        print(row["path"] + "\t" + row["permalink"])
