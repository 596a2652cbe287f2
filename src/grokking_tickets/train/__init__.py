from .population import METRICS, Member, Population

__all__ = ["METRICS", "Member", "Population"]
