def solve(numbers):
    """Meant to find the longest strictly increasing run; counts non-decreasing runs, and
    fails on an empty list."""
    best = run = 1
    for a, b in zip(numbers, numbers[1:]):
        run = run + 1 if b >= a else 1
        best = max(best, run)
    return best if numbers else numbers[0]
