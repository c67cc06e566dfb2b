"""People's credentials: passwords and TOTP, web sessions, API tokens, chat-link codes (21 CFR 11.300)."""
