"""What the brand's own A/B tests say about a candidate text: a nearest-neighbour estimate of its rate.

A best-of request ranks candidates by the adapter's implicit DPO reward. That reward is learned
from pairs, one bit each (this arm beat that one); the tests behind them also say by how much,
and every tested variant carries its own clicks and impressions. So each candidate also gets the
evidence of the copy the brand has tested that resembles it: the rate pooled over its `neighbours`
most similar tested variants (character trigrams, as the duplicate check), each weighted by its
similarity to the power `sharpness` (an exact repeat counts fully, a text sharing half its
trigrams 1/16 at 4), shrunk toward the brand's mean rate by `prior_trials` pseudo-impressions
(so a candidate like one small test does not jump to that test's rate, and one like nothing
tested keeps the mean). On the closed-loop simulation this estimate ranks candidates far closer
to their true click probability than the adapter's reward does (bench/RESULTS.md).

Only finished tests count, and only variants the brand's rules allow: a rule-breaking text that
drew clicks must not lift the rank of the copy that resembles it (the confident-over-correct
trap). Pure here; `prefcontent.generation.selectors.brand_test_evidence` reads the rows.
"""
from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from prefcontent.core.text import TrigramMatrix


@dataclass(frozen=True)
class TestedCopy:
    """A variant the brand has tested, with its outcome summed over the finished tests it ran in."""

    text: str
    successes: int  # clicks (or conversions) of the variant's arms
    trials: int  # impressions of the variant's arms


@dataclass(frozen=True)
class EvidenceSettings:
    neighbours: int = 20  # tested variants pooled per candidate
    sharpness: float = 4.0  # a neighbour's weight is its similarity to this power
    prior_trials: float = 2000.0  # pseudo-impressions at the brand's mean rate


class EvidenceModel:
    """Rates of candidate texts estimated from the brand's tested copy."""

    def __init__(self, tested: Sequence[TestedCopy], settings: EvidenceSettings = EvidenceSettings(),
                 matrix: TrigramMatrix | None = None):
        """`matrix`: the TrigramMatrix of the tested texts with trials (a cached one); built when None."""
        if settings.neighbours < 1 or settings.sharpness < 0 or settings.prior_trials <= 0:
            raise ValueError("neighbours must be >= 1, sharpness >= 0 and prior_trials > 0")
        self.tested = [t for t in tested if t.trials > 0]
        texts = tuple(t.text for t in self.tested)
        if matrix is None or matrix.texts != texts:
            matrix = TrigramMatrix(texts)
        self.matrix = matrix
        self.settings = settings
        trials = sum(t.trials for t in self.tested)
        self.mean_rate = sum(t.successes for t in self.tested) / trials if trials else 0.0
        # How far apart the brand's own variants are, each shrunk as a candidate would be: the unit
        # in which `standardized_rate` says how good a candidate looks (0 when nothing has been tested).
        shrunk = [self._shrink(t.successes, t.trials) for t in self.tested]
        self.spread = statistics.pstdev(shrunk) if len(shrunk) > 1 else 0.0

    def predict(self, text: str) -> float:
        """The estimated rate of `text`: the brand's mean rate when nothing tested resembles it."""
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[float]:
        """`predict` of each text, with one sparse product for all of them against the tested copy."""
        s = self.settings
        similarities = self.matrix.similarities(list(texts))
        rates = []
        for row in similarities:
            # The most similar first, ties in tested order (as heapq.nlargest), summed in that order.
            nearest = np.argsort(-row, kind="stable")[: s.neighbours]
            successes = trials = 0.0
            for j in nearest:
                weight = float(row[j]) ** s.sharpness
                successes += weight * self.tested[j].successes
                trials += weight * self.tested[j].trials
            rates.append(self._shrink(successes, trials))
        return rates

    def standardized_rate(self, rate: float) -> float:
        """How far an estimate (`predict`) lies above the brand's mean, in standard deviations of its tested copy."""
        return (rate - self.mean_rate) / self.spread if self.spread > 0 else 0.0

    def _shrink(self, successes: float, trials: float) -> float:
        m = self.settings.prior_trials
        return (successes + m * self.mean_rate) / (trials + m)
