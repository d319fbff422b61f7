"""Canbao (参保): runs a county's yearly resident medical insurance campaign."""
