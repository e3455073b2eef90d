"""The builder framework: sources, IDX files, generation, encoding, errors."""
