"""The demo: a synthetic county and a whole collection season under each policy preset.

Demo and synthetic-data code lives here, apart from the domain apps; no domain app imports it.
"""
