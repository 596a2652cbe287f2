from .grokking import grokking_times
from .population import METRICS, Member, Population

__all__ = ["METRICS", "Member", "Population", "grokking_times"]
