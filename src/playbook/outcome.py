"""The run records as types: an outcome (``<report>.outcome.json``) and a run manifest
(``run.json``), shared by the notebooks (through ``report.record``), the runner and the archive.

Both carry ``schema_version`` (:data:`SCHEMA_VERSION`); files written before it existed read as
version 1. A status is one of :class:`Status`. :func:`json_schema` gives the JSON Schema of
each record for readers outside Python; the archive publishes the catalog's beside
``catalog.json`` (``catalog.schema.json``, the :class:`Catalog` model).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from playbook.analyses.base import MetricKind, Tone

SCHEMA_VERSION = 1


class Status(StrEnum):
    """Where a run or one template of it stands."""

    PENDING = "pending"  # queued, not started
    RUNNING = "running"  # started, not finished
    OK = "ok"  # finished and recorded its outcome
    FAILED = "failed"  # raised, timed out, was interrupted or recorded no outcome


class MetricInfo(BaseModel):
    """How a stakeholder reads one metric (see playbook.analyses.base.Metric)."""

    model_config = ConfigDict(extra="forbid")

    label: str
    kind: MetricKind
    unit: str = ""
    low: float | None = None
    high: float | None = None
    level: float | None = None
    interval: Literal["prediction"] | None = None  # None: a confidence interval


class Outcome(BaseModel):
    """``<report>.outcome.json``: the result of one template run, as data."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    template: str
    campaign: str
    run_id: str
    status: Status
    language: str = "en"  # of the headline, labels and report (playbook.i18n.LANGUAGES)
    headline: str
    decision: str | None = None
    tone: Tone | None = None
    metrics: dict[str, float] = Field(default_factory=dict)
    metric_info: dict[str, MetricInfo] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)
    recorded_at: str | None = None
    error: str | None = None

    @field_validator("metrics")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f"metrics {', '.join(bad)} are not finite; leave them out")
        return value


class TemplateRecord(BaseModel):
    """One template of a run, in ``run.json``'s ``templates``."""

    model_config = ConfigDict(extra="allow")

    name: str
    template: str
    notebook: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    status: Status = Status.PENDING
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    error: dict[str, str] | None = None
    headline: str | None = None
    decision: str | None = None


class RunManifest(BaseModel):
    """``run.json``: what ran, on which inputs, with which versions, and how it ended."""

    model_config = ConfigDict(extra="allow")

    schema_version: int = SCHEMA_VERSION
    campaign: str
    run_id: str
    status: Status
    spec_path: str | None = None
    spec: dict[str, Any] = Field(default_factory=dict)
    trigger: str | None = None
    slot: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_s: float | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    templates: list[TemplateRecord] = Field(default_factory=list)


class CatalogCampaign(BaseModel):
    """One campaign in ``catalog.json``: its spec fields and its page."""

    model_config = ConfigDict(extra="allow")

    slug: str
    title: str
    owner: str | None = None
    hypothesis: str | None = None
    ice: dict[str, Any] | None = None
    tags: list[str] = Field(default_factory=list)
    schedule: str | None = None
    idea: str | None = None  # the backlog idea the campaign tests
    area: str | None = None
    targets: dict[str, Any] = Field(default_factory=dict)
    html: str


class CatalogReport(BaseModel):
    """One published report in ``catalog.json``: its outcome, manifest entry and run record."""

    model_config = ConfigDict(extra="allow")

    campaign: str
    run_id: str
    name: str
    template: str
    status: Status
    html: str
    outcome: Outcome | None = None
    manifest: dict[str, Any] = Field(default_factory=dict)
    run: dict[str, Any] = Field(default_factory=dict)
    spec: dict[str, Any] = Field(default_factory=dict)


class Catalog(BaseModel):
    """``catalog.json``: every published report of the archive, newest first."""

    model_config = ConfigDict(extra="allow")

    generated_at: str
    playbook_version: str
    campaigns: list[CatalogCampaign]
    reports: list[CatalogReport]


def json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of a record type, with the schema version in its description."""
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema.setdefault("description", (model.__doc__ or "").strip())
    schema["description"] += f" (schema_version {SCHEMA_VERSION})"
    return schema
