"""A tiny CLI under test: `python main.py count INPUT OUTPUT` writes INPUT's word count to OUTPUT."""

import sys


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "count":
        print("usage: main.py count INPUT OUTPUT", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        words = len(f.read().split())
    with open(argv[2], "w") as f:
        f.write(f"{words}\n")
    print(f"counted {words} words")
    return 0


sys.exit(main(sys.argv[1:]))
