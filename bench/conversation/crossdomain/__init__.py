"""Cross-domain models for the conversation benchmark (built by `build_models`)."""
