"""grokking-tickets: grokking and lottery tickets, reproduced fast."""

__version__ = "0.1.0"
