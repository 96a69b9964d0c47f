"""What the product shows: the run report, `evohyper compare`, the tune report (plots + markdown)."""
