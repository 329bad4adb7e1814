#!/usr/bin/env python3
"""has-text.py TEXT FILE...: exit 0 when a text part of one of the
messages (decoded from its transfer encoding and charset) holds TEXT."""
import email
import email.policy
import sys

text = sys.argv[1]
for path in sys.argv[2:]:
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    for part in msg.walk():
        if part.get_content_maintype() != "text":
            continue
        try:
            body = part.get_content()
        except (LookupError, ValueError):
            continue
        if text in body:
            sys.exit(0)
sys.exit(1)
