"""The hosted admin portal where a customer's IT admin sets up their own SSO (issue 6)."""
