"""Whom a call helps: the benefit model learned from logged outreach, and how rankings of
whom to call are evaluated (policy value, AUUC, Qini). ``python -m ml.targeting`` prints
the policy-value table."""
