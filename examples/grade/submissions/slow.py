import sys

numbers = [int(t) for t in sys.stdin.read().split()]
total = 0
while True:  # never finishes: TLE
    total += 1
