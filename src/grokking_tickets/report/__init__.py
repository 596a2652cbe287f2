"""The report: report.md, report.html and the README assets, drawn from a run store (never trains)."""
