import sys

# Wrong: ignores negative numbers.
print(sum(max(int(t), 0) for t in sys.stdin.read().split()))
