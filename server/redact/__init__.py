"""Redaction, used for history and for every egress: one definition of what a secret is.

    from server.redact import redact, Placeholders
    r = redact(prompt)            # r.text, r.findings, r.placeholders
    answer = r.placeholders.restore(remote_answer)
"""

from server.redact.core import Finding, Placeholders, Redacted, find, redact

__all__ = ["Finding", "Placeholders", "Redacted", "find", "redact"]
