"""The pages: server-rendered Chinese pages for the bureau's staff, the townships, villages and
departments, and the residents' self-query."""
