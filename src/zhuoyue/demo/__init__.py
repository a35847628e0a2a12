"""Demo: a deterministic sample data set and a one-call demo report."""
