"""The spec's models: what a ``playbooks/<campaign>.yml`` may hold (pydantic), and the
resolved campaign the runner executes. Checking a spec: :mod:`playbook.runner.spec`."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
)

from playbook.errors import SpecError
from playbook.i18n import DEFAULT_LANGUAGE, check_language
from playbook.runner.templates import Template

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
#: A run's name (``runs[].name``, else its ``template``) names its files in the run folder: the
#: campaign's slug rule, with the underscores of template names (``data_quality``).
RUN_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
DEFAULT_WAREHOUSE = "data/sample"
DATA_ROOTS_ENV = "PLAYBOOK_DATA_ROOTS"
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ICE(_Strict):
    impact: Annotated[int, Field(ge=1, le=10)]
    confidence: Annotated[int, Field(ge=1, le=10)]
    ease: Annotated[int, Field(ge=1, le=10)]

    @property
    def score(self) -> float:
        return float((self.impact * self.confidence * self.ease) ** (1 / 3))


class EnvConnection(_Strict):
    """A connection named by an environment variable: its value is never written down."""

    env: Annotated[str, Field(pattern=ENV_NAME.pattern)]


def _kind(value: Any) -> str:
    """Which model a ``data`` value is meant as, so errors speak of that one only."""
    if isinstance(value, SqlSource | PathSource):
        return type(value).__name__
    if isinstance(value, dict):
        return "SqlSource" if "sql" in value else "PathSource"
    if isinstance(value, datetime):  # YAML reads an unquoted ISO time as one (data.snapshot)
        return "datetime"
    return "str"


class SqlSource(_Strict):
    sql: str
    connection: Annotated[
        Annotated[str, Tag("str")] | Annotated[EnvConnection, Tag("EnvConnection")],
        Discriminator(lambda v: "EnvConnection" if isinstance(v, dict | EnvConnection) else "str"),
    ]


class PathSource(_Strict):
    path: str
    encoding: str | None = None  # of a CSV file: utf-8 (default), utf-16 or latin-1


DataEntry = Annotated[
    Annotated[str, Tag("str")] | Annotated[PathSource, Tag("PathSource")]
    | Annotated[SqlSource, Tag("SqlSource")] | Annotated[datetime, Tag("datetime")],
    Discriminator(_kind),
]


class AudienceEntry(_Strict):
    """``audience``: the users of a tag set the runs are about (:mod:`playbook.audience`)."""

    tag_set: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    tags: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    as_of: date | None = None
    users_table: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "users"
    key: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = "user_id"


class RunEntry(_Strict):
    template: str
    name: str | None = Field(default=None, description="output name when a template runs twice")
    notebook: str | None = Field(default=None, description="a forked copy of the template")
    parameters: dict[str, Any] = Field(default_factory=dict)

    @property
    def run_name(self) -> str:
        return self.name or self.template


class Spec(_Strict):
    campaign: str
    title: str
    owner: str
    hypothesis: str
    ice: ICE
    tags: list[str] = Field(default_factory=list)
    #: the backlog idea the campaign tests (its id), and the idea's area: the archive follows
    #: an idea from the backlog to its design, readout and decision (playbook.knowledge)
    idea: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)] | None = None
    area: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    language: str = DEFAULT_LANGUAGE  # of everything a stakeholder reads (playbook.i18n)
    #: a draft runs like any spec, but `playbook publish` leaves its runs out of the archive
    #: unless --include-drafts (`playbook new` writes drafts: a spec is ready once edited)
    draft: bool = False
    schedule: str | None = None
    targets: dict[str, float] = Field(default_factory=dict)
    data: dict[str, DataEntry] = Field(default_factory=dict)
    audience: AudienceEntry | None = None
    runs: Annotated[list[RunEntry], Field(min_length=1)]

    @field_validator("campaign")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(
                f"'{value}' is not a campaign slug: use lower-case letters, digits and dashes, "
                "starting with a letter or digit (e.g. 'spring-limit-banner')"
            )
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        try:
            return check_language(value, "language")
        except SpecError as exc:
            raise ValueError(str(exc).removeprefix("language: ")) from None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"'{value}' is not a cron expression (e.g. '0 6 * * 1' for Mondays 06:00)")
        return value

    def filled(self, declared: Collection[str], run_parameters: Mapping[str, Any]) -> dict[str, Any]:
        """The spec's own values of the :data:`SPEC_FILLED` parameters that a template declares
        and its run does not set (kpi_review's ``targets`` default to the spec's ``targets``)."""
        return {k: dict(getattr(self, k)) for k in SPEC_FILLED
                if k in declared and k not in run_parameters and getattr(self, k)}


#: Template parameters that a run which does not set them takes from the spec's key of the same
#: name (unlike the runner's context parameters, a run may set them): the campaign's KPI targets.
SPEC_FILLED: tuple[str, ...] = ("targets",)


@dataclass(frozen=True)
class ResolvedRun:
    """One template run of a spec with everything the runner needs."""

    name: str
    template: Template
    notebook: Path
    parameters: dict[str, Any]  # user parameters merged over the template's defaults


@dataclass(frozen=True)
class CampaignSpec:
    path: Path
    spec: Spec
    data_dir: Path
    sources: dict[str, Any]
    runs: list[ResolvedRun] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
