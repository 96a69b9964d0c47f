"""Science-report scripts (`make reports`): seeds, published numbers, multi-run studies. They sit on top of
the library and the built-in tasks and write `reports/`."""
