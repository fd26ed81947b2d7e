"""Campaign forecast: a planned campaign's participation and conversions from past campaigns.

    forecast_campaign(...)   campaign_forecast's analysis -> ForecastResult

Modules: ``data`` (the campaigns table and the planned campaign, checked), ``model`` (the NB2
GLMs, the terms the data support, simulated prediction intervals), ``backtest`` (rolling-origin
backtest, MAPE, coverage, similar campaigns), ``result`` (ForecastResult, its decisions and
their tones), ``analysis`` (the entry point).
"""

from playbook.analyses.forecast.analysis import forecast_campaign
from playbook.analyses.forecast.data import Columns, columns_from
from playbook.analyses.forecast.result import ForecastDecision, ForecastResult

__all__ = ["Columns", "columns_from", "ForecastDecision", "ForecastResult", "forecast_campaign"]
