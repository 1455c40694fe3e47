import sys

numbers = [int(t) for t in sys.stdin.read().split()]
if len(numbers) > 2:
    raise RuntimeError("crash on bigger inputs")  # uncaught: exit code 1, RE
print(sum(numbers))
