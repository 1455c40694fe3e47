import sys


def check(name, fn):
    try:
        print(f"{name}: {fn()}")
    except Exception as e:  # a module that does not work shows here, named
        print(f"{name}: FAILED {type(e).__name__}: {e}")


def j():
    import json
    return json.dumps(json.loads('{"b": [1, 2.5, null, true], "a": "\\u00e9"}'), sort_keys=True)


def r():
    import re
    return re.sub(r"(\w+)@(\w+)", r"\2 at \1", "me@host you@there") + " " + str(re.findall(r"\d+", "a1b22c333"))


def d():
    from decimal import ROUND_HALF_EVEN, Decimal, getcontext
    getcontext().prec = 30
    return f"{Decimal(1) / Decimal(7)} {Decimal('2.675').quantize(Decimal('0.01'), ROUND_HALF_EVEN)}"


def sq():
    import sqlite3
    con = sqlite3.connect("scores.db")  # a file in the workspace, not only :memory:
    con.execute("create table s (who text, pts int)")
    con.executemany("insert into s values (?, ?)", [("ann", 3), ("bob", 5), ("ann", 4)])
    con.commit()
    con.close()
    con = sqlite3.connect("scores.db")
    rows = con.execute("select who, sum(pts) from s group by who order by who").fetchall()
    return f"{rows} {sqlite3.sqlite_version_info >= (3, 0, 0)}"


def z():
    import zlib
    data = b"subrun " * 1000
    packed = zlib.compress(data, 9)
    return f"{zlib.crc32(data)} {len(packed) < 100} {zlib.decompress(packed) == data}"


def bz():
    import bz2
    data = b"subrun " * 1000
    packed = bz2.compress(data)
    return f"{packed[:3]!r} {bz2.decompress(packed) == data}"


def h():
    import hashlib
    return " ".join(hashlib.new(n, b"subrun").hexdigest()[:16] for n in ("sha256", "md5", "sha1", "blake2b", "sha3_256"))


def dt():
    from datetime import date, datetime, timedelta
    t = datetime.fromisoformat("2024-02-28T23:30:00") + timedelta(hours=1)
    return f"{t.isoformat()} {date(2024, 12, 25).strftime('%a %j')} {(date(2025, 1, 1) - date(2024, 1, 1)).days}"


def zi():
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo
    return datetime(2024, 7, 1, 12, tzinfo=timezone.utc).astimezone(ZoneInfo("Europe/Paris")).isoformat()


def co():
    from collections import Counter, OrderedDict, defaultdict, deque
    q = deque(range(5))
    q.rotate(2)
    dd = defaultdict(list)
    dd["k"].append(1)
    return f"{Counter('abracadabra').most_common(2)} {list(q)} {list(OrderedDict(b=1, a=2))} {dict(dd)}"


def dc():
    from dataclasses import asdict, dataclass, field

    @dataclass(order=True)
    class Case:
        points: int
        name: str = "x"
        tags: list = field(default_factory=list)

    cases = sorted([Case(3, "b"), Case(1, "a", ["s"])])
    return f"{[asdict(c) for c in cases]}"


def ut():
    import io
    import unittest

    class T(unittest.TestCase):
        def test_ok(self):
            self.assertEqual(1 + 1, 2)

        def test_bad(self):
            self.assertEqual(1 + 1, 3)

    suite = unittest.defaultTestLoader.loadTestsFromTestCase(T)
    result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
    return f"run={result.testsRun} failures={len(result.failures)} ok={result.wasSuccessful()}"


def ap():
    import argparse
    p = argparse.ArgumentParser(prog="sol")
    p.add_argument("--n", type=int, default=1)
    p.add_argument("files", nargs="*")
    return f"{vars(p.parse_args(['--n', '3', 'a.txt', 'b.txt']))}"


def pl():
    from pathlib import Path
    base = Path("tree/sub")
    base.mkdir(parents=True, exist_ok=True)
    (base / "a.txt").write_text("alpha", encoding="utf-8")
    (base / "b.md").write_text("beta", encoding="utf-8")
    found = sorted(str(p) for p in Path("tree").rglob("*.txt"))
    return f"{found} {(base / 'a.txt').read_text(encoding='utf-8')} {(base / 'b.md').stat().st_size}"


def cs():
    import csv
    import io
    out = io.StringIO()
    csv.writer(out).writerows([["name", "note"], ["a,b", 'say "hi"']])
    return f"{out.getvalue()!r} {list(csv.reader(io.StringIO(out.getvalue())))}"


def pk():
    import pickle
    obj = {"t": (1, 2.5, None), "s": {3}, "b": b"\x00\xff", "n": 2**70}
    return f"{pickle.loads(pickle.dumps(obj, protocol=5)) == obj} {pickle.loads(pickle.dumps(obj, protocol=0)) == obj}"


def xe():
    import xml.etree.ElementTree as ET
    root = ET.fromstring("<cases><case id='1'>a</case><case id='2'>b</case></cases>")
    ET.SubElement(root, "case", id="3").text = "c"
    return f"{[(c.get('id'), c.text) for c in root.findall('case')]} {ET.tostring(root)[:20]!r}"


def ud():
    import unicodedata
    return f"{unicodedata.name('é')} {unicodedata.normalize('NFD', 'é').encode()} {unicodedata.category('٣')}"


def mx():
    import bisect, fractions, heapq, itertools, math, random, statistics, struct, base64
    random.seed(7)
    return " ".join(str(x) for x in (
        math.comb(30, 12), math.isqrt(10**20 + 1), round(statistics.median([5, 1, 4, 2]), 2),
        fractions.Fraction(3, 4) + fractions.Fraction(1, 6), heapq.nsmallest(2, [5, 1, 4]),
        bisect.bisect([1, 3, 5], 4), list(itertools.accumulate([1, 2, 3])), random.randint(1, 10**6),
        struct.pack("<Ih", 1, -2), base64.b64encode(b"subrun")))


for name, fn in [
    ("json", j), ("re", r), ("decimal", d), ("sqlite3", sq), ("zlib", z), ("bz2", bz),
    ("hashlib", h), ("datetime", dt), ("zoneinfo", zi), ("collections", co),
    ("dataclasses", dc), ("unittest", ut), ("argparse", ap), ("pathlib", pl), ("csv", cs),
    ("pickle", pk), ("xml.etree", xe), ("unicodedata", ud),
    ("math, statistics, fractions, heapq, bisect, itertools, random, struct, base64", mx),
]:
    check(name, fn)
