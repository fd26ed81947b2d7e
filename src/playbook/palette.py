"""The colours of the tones (good, bad, invalid, neutral), in one place for the report's badges,
its tables and the charts. The archive's stylesheet (publish/static/archive.css) uses the same
values for its decision badges; a test keeps the two in step."""

from __future__ import annotations

# text and badge colours (WCAG AA contrast on white)
TONE_COLOURS = {"good": "#1a7f45", "bad": "#b42318", "invalid": "#6e1d1d", "neutral": "#5f6b7a"}
# a row that needs attention in a table: a light tint of the bad tone
BAD_TINT = "#fde8e6"  # the stylesheet's --bad-bg
# chart fills: a lighter green reads better as a large area; red and grey as the tones
CHART_GOOD, CHART_BAD, CHART_NEUTRAL = "#4c9a6a", TONE_COLOURS["bad"], TONE_COLOURS["neutral"]
