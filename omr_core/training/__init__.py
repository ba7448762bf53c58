"""Training: the staged plan and its datasets, class-balanced sampling, step-time estimates, the runner (its own
process, with checkpoints, fallbacks and alerts), quality gates, and registering what a stage made."""
