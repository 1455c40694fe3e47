import sys

# Bug: ignores negative numbers.
print(sum(int(x) for x in sys.stdin.read().split() if not x.startswith("-")))
