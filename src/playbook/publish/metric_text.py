"""How the archive shows one metric: its label, and its value with its interval.

An outcome carries ``metric_info`` beside ``metrics``: per dotted name, the label, kind, unit
and interval its template's result gave it (:class:`playbook.analyses.base.Metric`). The archive
shows the label and formats the value by its kind:

========  ==================================================  =====================
kind      shown as                                            example
========  ==================================================  =====================
share     a percentage, one decimal (``> 99.9%`` and          ``12.3%``
          ``< 0.1%`` for what is neither all nor nothing)
lift      a signed percentage, one decimal                    ``+9.0%``
count     whole numbers with thousands separators (a          ``12,345``
          fraction below 1,000 keeps 3 significant digits)
money     two decimals below 1,000, none above, with the      ``17.63 EUR``, ``$1,234``
          unit (a one-character symbol goes first)
duration  one decimal (2 significant digits below 1, none     ``6.2 h``, ``33 days``
          above 1,000, none for whole numbers), with the unit
ratio     3 significant digits (none above 1,000), with the   ``2.35``
          unit when it has one
p_value   three decimals, or below 0.001                      ``p = 0.003``, ``p < 0.001``
========  ==================================================  =====================

With an interval (``low`` and ``high``, at ``level``), both ends are formatted the same way:
``+9.0% (95% CI +5.8% to +12.4%)``. Counts name their thing in the label, so their unit is not
repeated. Labels and units are text: the pages escape them (Jinja autoescape).

Outcomes without ``metric_info`` (written before it existed) are shown by their dotted name,
formatted by the name's last part (:func:`format_by_name`).

A report in another language than English has its numbers written by that language's rules
(:mod:`playbook.i18n.formats`, Babel's locale data: ``12.3万`` for a count in zh-CN,
``+9.0%（95% 置信区间 +5.8% 至 +12.4%）``); its labels were recorded in its language already.
English is written by the table above.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

from playbook.analyses.base import MetricKind
from playbook.i18n import DEFAULT_LANGUAGE, gettext
from playbook.i18n import formats as locale_formats

NO_NUMBER = "–"


def is_number(value: Any) -> TypeGuard[int | float]:
    """A finite int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def format_by_name(name: str, value: Any) -> str:
    """The rules for outcomes without ``metric_info``: a share (percentage) when the last part of
    the dotted name is ``coverage``, ``share``, ``rate`` or ``chance_to_win``, ends in ``_rate``,
    ``_share`` or ``_breach``, or starts with ``conv``; relative lifts (``lift_rel``, ``*_rel``)
    are signed percentages; ``p_value`` keeps 3 significant digits; whole numbers get thousands
    separators; anything else 3 significant digits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if not math.isfinite(value):
        return NO_NUMBER
    last = name.rsplit(".", 1)[-1].lower()
    if last == "lift_rel" or last.endswith("_rel"):
        return f"{value * 100:+.1f}%"
    if (
        last in {"coverage", "share", "rate", "chance_to_win"}
        or last.endswith(("_rate", "_share", "_breach"))
        or last.startswith("conv")
    ):
        return f"{value * 100:.1f}%"
    if last in {"p_value", "pvalue", "p"}:
        return f"{value:.3g}"
    if isinstance(value, int) or (value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _whole(value: float) -> bool:
    return float(value).is_integer() and abs(value) < 1e15


def _with_unit(text: str, unit: str, value: float) -> str:
    if not unit:
        return text
    if value == 1 and unit.isalpha() and unit.endswith("s") and len(unit) > 2:
        unit = unit[:-1]  # 1 day, 1 week
    return f"{text} {unit}"


def _share(value: float, unit: str) -> str:
    text = f"{value * 100:.1f}%"
    if text == "100.0%" and value < 1:  # almost all is not all
        return "> 99.9%"
    if text == "0.0%" and value > 0:
        return "< 0.1%"
    return text


def _lift(value: float, unit: str) -> str:
    return f"{value * 100:+.1f}%"


def _count(value: float, unit: str) -> str:
    if _whole(value) or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _money(value: float, unit: str) -> str:
    amount = f"{abs(value):,.{0 if abs(value) >= 1000 else 2}f}"
    sign = "-" if value < 0 and float(amount.replace(",", "")) != 0 else ""
    if len(unit) == 1 and not unit.isalnum():
        return f"{sign}{unit}{amount}"
    return f"{sign}{amount} {unit}".rstrip()


def _duration(value: float, unit: str) -> str:
    if _whole(value):
        text = f"{value:,.0f}"
    elif abs(value) < 1:
        text = f"{value:.2g}"
    else:
        text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.1f}"
    return _with_unit(text, unit, value)


def _ratio(value: float, unit: str) -> str:
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return _with_unit(text, unit, value)


def _p_value(value: float, unit: str) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


#: How each kind of metric is written (module docstring).
FORMATS: dict[MetricKind, Callable[[float, str], str]] = {
    MetricKind.SHARE: _share,
    MetricKind.LIFT: _lift,
    MetricKind.COUNT: _count,
    MetricKind.MONEY: _money,
    MetricKind.DURATION: _duration,
    MetricKind.RATIO: _ratio,
    MetricKind.P_VALUE: _p_value,
}


def _kind(info: Mapping[str, Any]) -> MetricKind | None:
    try:
        return MetricKind(str(info.get("kind")))
    except ValueError:
        return None


def _level(level: Any) -> str:
    """``0.95`` → ``'95% CI'``; ``'CI'`` when the level is missing or not a share."""
    if is_number(level) and 0 < level < 1:
        return f"{level * 100:.4g}% CI"
    return "CI"


def _localized(kind: MetricKind, value: float, unit: str, language: str) -> str:
    """One value by ``language``'s rules (:func:`playbook.i18n.formats.value`)."""
    if kind is MetricKind.SHARE:
        text = locale_formats.percent(value, language=language)
        if value < 1 and text == locale_formats.percent(1.0, language=language):
            return "> " + locale_formats.percent(0.999, language=language)
        if value > 0 and text == locale_formats.percent(0.0, language=language):
            return "< " + locale_formats.percent(0.001, language=language)
        return text
    if kind is MetricKind.MONEY and not (len(unit) == 3 and unit.isalpha() and unit.isupper()):
        return _with_unit(locale_formats.money(value, None, language), unit, value)
    if kind is MetricKind.DURATION and unit in ("d", "days"):
        days = locale_formats.number(value, 0 if _whole(value) else 1, language)
        return gettext("{n} d", language).format(n=days)
    if kind is MetricKind.DURATION and unit != "h":
        return _with_unit(locale_formats.number(value, language=language), unit, value)
    if kind is MetricKind.RATIO:
        return _with_unit(locale_formats.number(value, language=language), unit, value)
    return locale_formats.value(value, str(kind), unit, language)


def _format_localized(kind: MetricKind, value: float, info: Mapping[str, Any], unit: str,
                      language: str) -> str:
    text = _localized(kind, value, unit, language)
    low, high = info.get("low"), info.get("high")
    if kind is not MetricKind.P_VALUE and is_number(low) and is_number(high):
        level = info.get("level")
        pattern = (gettext("{level} prediction interval {low} to {high}", language)
                   if info.get("interval") == "prediction" else gettext("{level} CI {low} to {high}", language))
        ends = pattern.format(
            level=locale_formats.percent(level, digits=0, language=language)
            if is_number(level) and 0 < level < 1 else "CI",
            low=_localized(kind, float(low), unit, language),
            high=_localized(kind, float(high), unit, language))
        text = gettext("{value} ({interval})", language).format(value=text, interval=ends)
    return text


def format_metric(name: str, value: Any, info: Mapping[str, Any] | None = None,
                  language: str = DEFAULT_LANGUAGE) -> str:
    """``value`` as a stakeholder reads it: by the kind and unit in ``info`` (one entry of an
    outcome's ``metric_info``) with its interval, else by ``name`` (:func:`format_by_name`);
    in ``language`` (the report's) by its locale's rules."""
    kind = _kind(info) if isinstance(info, Mapping) else None
    if info is None or kind is None:
        return format_by_name(name, value)
    if not is_number(value):
        return NO_NUMBER if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
    unit = str(info.get("unit") or "").strip()
    if language != DEFAULT_LANGUAGE:
        return _format_localized(kind, float(value), info, unit, language)
    fmt = FORMATS[kind]
    text = fmt(float(value), unit)
    low, high = info.get("low"), info.get("high")
    if kind is not MetricKind.P_VALUE and is_number(low) and is_number(high):
        level = _level(info.get("level"))
        if info.get("interval") == "prediction":
            level = level.replace("CI", "prediction interval")
        text += f" ({level} {fmt(float(low), unit)} to {fmt(float(high), unit)})"
    return text


def metric_label(name: str, info: Mapping[str, Any] | None) -> str:
    """The label ``info`` gives the metric, else its dotted name."""
    label = info.get("label") if isinstance(info, Mapping) else None
    return label.strip() if isinstance(label, str) and label.strip() else name


def metric_infos(outcome: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """An outcome's ``metric_info`` (entries that are JSON objects), ``{}`` for older outcomes."""
    info = (outcome or {}).get("metric_info")
    if not isinstance(info, Mapping):
        return {}
    return {str(k): v for k, v in info.items() if isinstance(v, Mapping)}


def shown_metrics(outcome: Mapping[str, Any] | None,
                  language: str = DEFAULT_LANGUAGE) -> list[dict[str, str]]:
    """Every numeric metric of an outcome as ``{name, label, text}``, in the outcome's order;
    the values written in ``language`` (the report's)."""
    metrics = (outcome or {}).get("metrics")
    if not isinstance(metrics, Mapping):
        return []
    infos = metric_infos(outcome)
    return [
        {"name": str(k), "label": metric_label(str(k), infos.get(str(k))),
         "text": format_metric(str(k), v, infos.get(str(k)), language)}
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]


__all__ = [
    "FORMATS",
    "NO_NUMBER",
    "format_by_name",
    "format_metric",
    "is_number",
    "metric_infos",
    "metric_label",
    "shown_metrics",
]
