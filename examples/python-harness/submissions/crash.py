import sys

raise SystemExit("no input handling yet: " + sys.stdin.read()[:10])
