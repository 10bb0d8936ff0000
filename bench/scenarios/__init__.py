"""One module per scenario of issue 6; each drives every system the same way."""
