"""A shopping cart's arithmetic."""


def total(prices: list[float], discount: float = 0.0) -> float:
    """What the customer pays for `prices`, with the discount applied."""
    return sum(prices) - discount
