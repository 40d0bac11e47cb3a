"""One module per scenario kind: its schema, its builder, and its registration."""
