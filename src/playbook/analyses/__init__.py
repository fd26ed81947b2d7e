"""Analyses: one module per question a growth team asks (quality, funnel, process, ...)."""
