"""Reports made from run directories."""
