"""How the archive writes one metric (playbook.publish.metric_text): by the kind, unit and interval
of the outcome's metric_info, else by the dotted name (outcomes written before metric_info)."""

from __future__ import annotations

import pytest

from playbook.analyses.base import Metric, MetricKind
from playbook.publish.metric_text import format_by_name, format_metric, metric_label, shown_metrics


def info(kind: str, unit: str = "", **interval: float) -> dict[str, object]:
    return {"label": "A label", "kind": kind, "unit": unit, **interval}


@pytest.mark.parametrize(
    ("kind", "unit", "value", "text"),
    [
        ("share", "", 0.123, "12.3%"),
        ("share", "", 0.0903, "9.0%"),
        ("share", "", 1.0, "100.0%"),
        ("share", "", 0.99999996, "> 99.9%"),  # almost all is not all
        ("share", "", 0.0004, "< 0.1%"),
        ("share", "", 0.0, "0.0%"),
        ("lift", "", 0.0903, "+9.0%"),
        ("lift", "", -0.0207, "-2.1%"),
        ("count", "users", 1553, "1,553"),  # the label names the thing counted
        ("count", "users", 1234567.0, "1,234,567"),
        ("count", "users/day", 33.6071429, "33.6"),
        ("count", "", 12345.6, "12,346"),
        ("money", "EUR", 17.6271936, "17.63 EUR"),
        ("money", "EUR", 123456.7, "123,457 EUR"),
        ("money", "$", 1234.5, "$1,234"),
        ("money", "$", -12.5, "-$12.50"),
        ("money", "", 3.0, "3.00"),
        ("duration", "h", 6.2, "6.2 h"),
        ("duration", "h", 31.1234, "31.1 h"),
        ("duration", "h", 66531.4, "66,531 h"),
        ("duration", "h", 0.0532, "0.053 h"),
        ("duration", "days", 33.0, "33 days"),
        ("duration", "days", 1.0, "1 day"),
        ("ratio", "", 2.3456, "2.35"),
        ("ratio", "", 0.487505478, "0.488"),
        ("ratio", "EUR", 2.94128735, "2.94 EUR"),
        ("ratio", "", 12345.6, "12,346"),
        ("p_value", "", 0.003, "p = 0.003"),
        ("p_value", "", 0.450675836, "p = 0.451"),
        ("p_value", "", 0.001, "p = 0.001"),
        ("p_value", "", 0.000999, "p < 0.001"),
        ("p_value", "", 1.97447074e-08, "p < 0.001"),
    ],
)
def test_each_kind(kind: str, unit: str, value: float, text: str) -> None:
    assert format_metric("any.name", value, info(kind, unit)) == text


@pytest.mark.parametrize(
    ("kind", "unit", "value", "low", "high", "level", "text"),
    [
        ("lift", "", 0.0903, 0.057, 0.123, 0.95, "+9.0% (95% CI +5.7% to +12.3%)"),
        ("share", "", 0.153, 0.144, 0.164, 0.95, "15.3% (95% CI 14.4% to 16.4%)"),
        ("duration", "h", 31.1, 29.84, 32.51, 0.95, "31.1 h (95% CI 29.8 h to 32.5 h)"),
        ("money", "EUR", 17.6, -3.25, 38.5, 0.9, "17.60 EUR (90% CI -3.25 EUR to 38.50 EUR)"),
        ("lift", "", 0.05, 0.01, 0.09, 0.975, "+5.0% (97.5% CI +1.0% to +9.0%)"),
        ("lift", "", 0.05, 0.01, 0.09, None, "+5.0% (CI +1.0% to +9.0%)"),  # no level given
        ("p_value", "", 0.02, 0.01, 0.03, 0.95, "p = 0.020"),  # a p-value has no interval
    ],
)
def test_intervals(kind: str, unit: str, value: float, low: float, high: float, level: float | None,
                   text: str) -> None:
    entry = info(kind, unit, low=low, high=high) | ({"level": level} if level is not None else {})
    assert format_metric("x", value, entry) == text


def test_an_interval_needs_both_ends_as_numbers() -> None:
    assert format_metric("x", 0.05, info("lift", low=0.01)) == "+5.0%"
    assert format_metric("x", 0.05, info("lift", low=0.01, high=float("nan"))) == "+5.0%"
    assert format_metric("x", 0.05, info("lift", low="0.01", high=0.09)) == "+5.0%"  # type: ignore[arg-type]


def test_what_the_result_contract_writes_is_what_is_read() -> None:
    """Metric.as_dict (what playbook.recording.record writes) formats as the issue's example."""
    m = Metric("apply_rate.B.lift_rel", "Apply rate", MetricKind.LIFT, low=0.057, high=0.123, level=0.95)
    entry = m.as_dict()
    text = f"{metric_label(m.name, entry)} {format_metric(m.name, 0.0903, entry)}"
    assert text == "Apply rate +9.0% (95% CI +5.7% to +12.3%)"


def test_non_numbers() -> None:
    assert format_metric("x", float("nan"), info("share")) == "–"
    assert format_metric("x", float("inf"), info("count")) == "–"
    assert format_metric("x", "n/a", info("share")) == "n/a"


@pytest.mark.parametrize(
    ("entry", "text"),
    [
        (None, "9.0%"),  # no metric_info: the name's rules (a *_rate is a share)
        ({"label": "Apply rate", "kind": "unknown-kind"}, "9.0%"),  # a kind this version does not know
        ({"label": "Apply rate"}, "9.0%"),
        ({"label": "Apply rate", "kind": "lift"}, "+9.0%"),
    ],
)
def test_falls_back_to_the_name(entry: dict[str, object] | None, text: str) -> None:
    assert format_metric("apply_rate", 0.0903, entry) == text
    assert format_by_name("apply_rate", 0.0903) == "9.0%"


def test_labels() -> None:
    assert metric_label("apply_rate.B.lift_rel", {"label": "Apply rate, B vs A"}) == "Apply rate, B vs A"
    assert metric_label("apply_rate.B.lift_rel", {"label": "  "}) == "apply_rate.B.lift_rel"
    assert metric_label("apply_rate.B.lift_rel", {"label": 3}) == "apply_rate.B.lift_rel"
    assert metric_label("apply_rate.B.lift_rel", None) == "apply_rate.B.lift_rel"


def test_shown_metrics_of_an_outcome() -> None:
    outcome = {
        "metrics": {"users.B": 1527, "flag": True, "apply_rate.B.lift_rel": 0.0903, "rows": 12345},
        "metric_info": {
            "users.B": {"label": "Users in B", "kind": "count", "unit": "users"},
            "apply_rate.B.lift_rel": {"label": "Apply rate, B vs A", "kind": "lift", "low": 0.057,
                                      "high": 0.123, "level": 0.95},
            "rows": "not an object",  # ignored: shown by its name
        },
    }
    assert shown_metrics(outcome) == [
        {"name": "users.B", "label": "Users in B", "text": "1,527"},
        {"name": "apply_rate.B.lift_rel", "label": "Apply rate, B vs A",
         "text": "+9.0% (95% CI +5.7% to +12.3%)"},
        {"name": "rows", "label": "rows", "text": "12,345"},
    ]
    assert shown_metrics({"metrics": {"coverage": 0.5}}) == [
        {"name": "coverage", "label": "coverage", "text": "50.0%"}]
    assert shown_metrics(None) == [] and shown_metrics({"metrics": []}) == []


def test_every_kind_has_a_format() -> None:
    from playbook.publish.metric_text import FORMATS

    assert set(FORMATS) == set(MetricKind)


def test_a_forecast_shows_a_prediction_interval() -> None:
    m = Metric("forecast.participation", "Participants", MetricKind.COUNT, "participants", low=3770, high=5810,
               level=0.95, interval="prediction")
    entry = m.as_dict()
    assert format_metric(m.name, 4722, entry) == "4,722 (95% prediction interval 3,770 to 5,810)"
    assert format_metric(m.name, 4722, entry, language="zh-CN") == "4,722（95% 预测区间 3,770 至 5,810）"
