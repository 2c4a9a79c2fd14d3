"""Grades A–D by rank of score (docs/landuse.md §3).

Default shares 20/40/35/5 % (淮安 2024); preset ``ah`` 20/45/30/5 % (铜陵 2021).

Counts: the cumulative shares are turned into rank boundaries and rounded, so the
counts always add up to the number graded. The default rounding is ``floor``: an
enterprise is A only if its position lies inside the top 20 %, B inside the top 60 %,
and so on; the remainder falls to D. This reads "A: top 20 %" literally and, in a
small cohort, still names a last grade (7 graded: 1 A, 3 B, 2 C, 1 D). ``nearest``
rounds each cumulative boundary half up instead (7 graded: 1/3/3/0).

Ties take the better grade: an enterprise's position is the number of enterprises with
a strictly higher score (competition ranking, "1224"), so tied enterprises share the
rank and grade of the first of them. Scores are compared rounded to 9 decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from smartpark.core.errors import AnalyticsError

GRADES: Final = ("A", "B", "C", "D")
DEFAULT_SHARES: Final = (20.0, 40.0, 35.0, 5.0)
SHARE_PRESETS: Final = {"default": DEFAULT_SHARES, "ah": (20.0, 45.0, 30.0, 5.0)}
TIE_DECIMALS: Final = 9

Rounding = Literal["floor", "nearest"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def parse_shares(text: str) -> tuple[float, float, float, float]:
    """``default``, ``ah`` or four percentages ``20,40,35,5`` summing to 100."""
    if text in SHARE_PRESETS:
        a, b, c, d = SHARE_PRESETS[text]
        return (a, b, c, d)
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4:
        raise AnalyticsError(
            f"shares: expected {', '.join(SHARE_PRESETS)} or four percentages like "
            f"20,40,35,5, got {text!r}"
        )
    return check_shares(parts)


def check_shares(shares: Sequence[float]) -> tuple[float, float, float, float]:
    if len(shares) != 4 or any(not s >= 0 for s in shares) or abs(sum(shares) - 100) > 1e-9:
        raise AnalyticsError(f"shares: four percentages >= 0 summing to 100, got {list(shares)}")
    a, b, c, d = (float(s) for s in shares)
    return (a, b, c, d)


def boundaries(n: int, shares: Sequence[float], rounding: Rounding = "floor") -> IntArray:
    """Cumulative counts: positions < out[0] are A, < out[1] B, < out[2] C, the rest D."""
    check_shares(shares)
    cumulative = np.cumsum(np.asarray(shares, np.float64))[:-1] * n / 100.0
    cumulative = np.round(cumulative, 9)  # 0.6 * 5 is 3.0000000000000004
    if rounding == "floor":
        cut = np.floor(cumulative)
    elif rounding == "nearest":
        cut = np.floor(cumulative + 0.5)
    else:
        raise AnalyticsError(f"rounding: expected floor or nearest, got {rounding!r}")
    return cut.astype(np.int64)


def counts(n: int, shares: Sequence[float], rounding: Rounding = "floor") -> IntArray:
    """Enterprises per grade for ``n`` graded without ties; they add up to ``n``."""
    cuts = np.concatenate([[0], boundaries(n, shares, rounding), [n]])
    return np.diff(cuts)


def assign(
    scores: FloatArray,
    shares: Sequence[float] = DEFAULT_SHARES,
    rounding: Rounding = "floor",
) -> tuple[IntArray, IntArray]:
    """Rank (1 = best, 0 = not ranked) and grade code (0=A..3=D, -1 = none) per row.

    Rows with a NaN score are not ranked.
    """
    graded = ~np.isnan(scores)
    rank = np.zeros(scores.shape, np.int64)
    grade = np.full(scores.shape, -1, np.int64)
    n = int(graded.sum())
    if n == 0:
        return rank, grade
    key = np.round(scores[graded], TIE_DECIMALS)
    ascending = np.sort(key)
    higher = n - np.searchsorted(ascending, key, side="right")  # strictly better scores
    rank[graded] = higher + 1
    grade[graded] = np.searchsorted(boundaries(n, shares, rounding), higher, side="right")
    return rank, grade
