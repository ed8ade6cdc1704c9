"""Random arrival and usage patterns of a scenario, drawn from one seeded ``random.Random`` (deterministic)."""

from __future__ import annotations

import math
import random


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson(``mean``) draw: Knuth's product method up to a mean of 50, a rounded normal above."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def seed32(rng: random.Random) -> int:
    """A non-zero uint256 seed (orders and agents take one; zero is refused by the contracts)."""
    return rng.getrandbits(255) + 1
