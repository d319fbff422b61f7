"""Accounts: who may do what, and where (the roles and their jurisdiction), and the API tokens
of the integrations."""
