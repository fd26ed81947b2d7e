"""What will the next campaign do? campaign_forecast's entry point.

:func:`forecast_campaign` reads the past campaigns (:mod:`~playbook.analyses.forecast.data`),
fits the participation and conversion models on all of them and forecasts the planned campaign
with 95% prediction intervals (:mod:`~playbook.analyses.forecast.model`), backtests the same
procedure from rolling origins and finds the most similar past campaigns
(:mod:`~playbook.analyses.forecast.backtest`). The decision rule is in
:class:`~playbook.analyses.forecast.result.ForecastResult`.
"""

from __future__ import annotations

from playbook.analyses.forecast.backtest import Settings, backtest, forecast_one, scores, similar
from playbook.analyses.forecast.data import Columns, load_campaigns, planned
from playbook.analyses.forecast.model import features, interval
from playbook.analyses.forecast.result import Forecast, ForecastResult
from playbook.errors import DataError, ParameterError
from playbook.sources import Warehouse

MIN_CAMPAIGNS = 3


def _whole(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ParameterError(f"{name}={value!r}: give a whole number, at least {low}")
    return value


def _check(*, max_mape: float, draws: int, backtest_start: int, min_backtest_points: int,
           min_channel_campaigns: int, campaigns_per_coefficient: int, similar_campaigns: int) -> None:
    ok = isinstance(max_mape, int | float) and not isinstance(max_mape, bool) and max_mape > 0
    if not ok:
        raise ParameterError(f"max_mape={max_mape!r}: give the largest backtest MAPE to trust, as a "
                             "share above 0 (0.25 for 25%)")
    _whole("draws", draws, 200)
    _whole("backtest_start", backtest_start, 2)
    _whole("min_backtest_points", min_backtest_points, 1)
    _whole("min_channel_campaigns", min_channel_campaigns, 1)
    _whole("campaigns_per_coefficient", campaigns_per_coefficient, 2)
    _whole("similar_campaigns", similar_campaigns, 1)


def forecast_campaign(  # noqa: PLR0913 - the planned campaign and the template's settings, keyword-only
    warehouse: Warehouse,
    *,
    channel: str | None = None,
    budget: float | None = None,
    duration_days: float | None = None,
    audience: float | None = None,
    table: str = "campaigns",
    columns: Columns | None = None,
    backtest_start: int = 10,
    min_backtest_points: int = 5,
    max_mape: float = 0.25,
    min_channel_campaigns: int = 3,
    campaigns_per_coefficient: int = 3,
    similar_campaigns: int = 5,
    draws: int = 4000,
    seed: int = 1,
) -> ForecastResult:
    """Forecast the planned campaign (``channel``, ``budget``, ``duration_days``, ``audience``)
    from the past campaigns of ``table``, with its backtest and similar campaigns.

    A missing planned value or a channel no past campaign used is a :class:`ParameterError`
    naming the parameter; fewer than 3 usable past campaigns a :class:`DataError` naming the
    table. ``backtest_start``: the first backtest forecast is fitted on that many campaigns."""
    _check(max_mape=max_mape, draws=draws, backtest_start=backtest_start,
           min_backtest_points=min_backtest_points, min_channel_campaigns=min_channel_campaigns,
           campaigns_per_coefficient=campaigns_per_coefficient, similar_campaigns=similar_campaigns)
    history = load_campaigns(warehouse, table, columns or Columns())
    frame = history.frame
    if len(frame) < MIN_CAMPAIGNS:
        raise DataError(f"{warehouse.source(table).location}: table '{table}' has {len(frame)} usable past "
                        f"campaigns ({history.skipped} rows left out: nulls, non-positive budget or "
                        f"audience, counts above their base); a forecast needs at least {MIN_CAMPAIGNS}")
    plan = planned(history, channel=channel, budget=budget, duration_days=duration_days, audience=audience)
    settings = Settings(min_channel=min_channel_campaigns, per_coef=campaigns_per_coefficient,
                        draws=draws, seed=seed)
    pred, kept, dropped = forecast_one(frame, plan.channel, features(plan), plan.audience, settings, seed=seed)
    p_lo, p_hi = interval(pred.participant_draws)
    c_lo, c_hi = interval(pred.conversion_draws)
    with_part = pred.participant_draws > 0
    conv_rates = pred.conversion_draws[with_part] / pred.participant_draws[with_part]
    r_lo, r_hi = interval(conv_rates) if len(conv_rates) else (float("nan"), float("nan"))
    forecast = Forecast(
        participants=pred.participants, participants_low=p_lo, participants_high=p_hi,
        conversions=pred.conversions, conversions_low=c_lo, conversions_high=c_hi,
        participation_rate=pred.participation_rate, participation_rate_low=p_lo / plan.audience,
        participation_rate_high=p_hi / plan.audience, conversion_rate=pred.conversion_rate,
        conversion_rate_low=r_lo, conversion_rate_high=r_hi)
    points = backtest(frame, backtest_start, settings)  # no point when backtest_start >= campaigns
    return ForecastResult(
        plan=plan, forecast=forecast, backtest=points, scores=scores(points),
        similar=similar(frame, plan, similar_campaigns), terms=kept, dropped=dropped,
        campaigns=len(frame), channel_campaigns=int((frame["channel"] == plan.channel).sum()),
        skipped=history.skipped, table=table, backtest_start=backtest_start,
        min_backtest_points=min_backtest_points, max_mape=float(max_mape), draws=draws, seed=seed)
