"""Running campaigns: validate a spec, discover templates, execute notebooks with papermill."""
