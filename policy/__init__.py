"""The tuning policy pack (docs/policy.md): rules.py holds its rules, __main__.py serves them."""
