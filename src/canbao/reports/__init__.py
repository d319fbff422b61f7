"""Campaign progress: tasks per unit, coverage at any date, work funding, the fund summary."""
