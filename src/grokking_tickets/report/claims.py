"""The shared claims.json. Defined with the claims themselves (analysis/claims.py), where the
experiments that write it can reach it; named here for readers of the report layer."""

from ..analysis.claims import claim_key, merge_claims

__all__ = ["claim_key", "merge_claims"]
