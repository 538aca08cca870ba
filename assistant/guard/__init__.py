"""Guardrails: input screening, query-stream detection, budgets, locks and alerts around every answer."""
