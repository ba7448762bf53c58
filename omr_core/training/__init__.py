"""Training: the staged plan, class-balanced sampling, alerts and quality gates (the pure parts so far)."""
