"""Claims in free copy, and whether the brief's facts stand behind them. Pure: no Django.

`extract.extract_claims(text)` finds what a text claims (discounts, prices, deadlines, urgency,
shipping, guarantees, superlatives, quantities, ratings); `facts.facts_parse(raw)` turns a brief's
stored facts into `BriefFacts`; `check.check_claims(text, facts)` judges every claim supported,
contradicted or unsupported. Generation, pair building, the gate and the simulation all use these.
"""
from prefcontent.content.claims.check import (
    CONTRADICTED,
    SUPPORTED,
    UNSUPPORTED,
    ClaimVerdict,
    check_claims,
    claim_problems,
)
from prefcontent.content.claims.extract import KINDS, Claim, extract_claims
from prefcontent.content.claims.facts import BriefFacts, FactsError, facts_parse

__all__ = ["CONTRADICTED", "KINDS", "SUPPORTED", "UNSUPPORTED", "BriefFacts", "Claim", "ClaimVerdict", "FactsError",
           "check_claims", "claim_problems", "extract_claims", "facts_parse"]
