def solve(numbers):
    """The length of the longest strictly increasing run of consecutive numbers."""
    best = run = 0
    previous = None
    for n in numbers:
        run = run + 1 if previous is not None and n > previous else 1
        best = max(best, run)
        previous = n
    return best
