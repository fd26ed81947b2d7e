"""Campaign specs: ``playbooks/<campaign>.yml``, validated before any kernel starts.

A spec names the campaign, its hypothesis and ICE score, where its data lives, and which
templates run with which parameters::

    campaign: spring-limit-banner          # slug: [a-z0-9][a-z0-9-]*
    title: Spring limit banner
    owner: growth-credit
    hypothesis: Showing the approved limit raises applications
    ice: {impact: 7, confidence: 6, ease: 8}
    tags: [acquisition, experiment]
    schedule: "0 6 * * 1"                  # optional cron expression
    targets: {cac: -0.15}                  # optional KPI targets
    data:                                  # optional: where tables come from
      warehouse: data/sample               #   a folder holding <table>.parquet
      timezone: Europe/Berlin              #   zone of naive timestamps (default UTC)
      snapshot: "2026-11-24T06:00:00Z"     #   when the export was taken (freshness)
      orders: exports/orders.csv           #   one table from a file
      refunds: {path: exports/refunds.csv, encoding: latin-1}  # a CSV that is not UTF-8
      tickets: {sql: "select * from tickets", connection: crm.duckdb}
      deals: {sql: "select * from deals", connection: {env: CRM_DB}}  # path in $CRM_DB
    runs:
      - template: data_quality
        parameters: {coverage_target: 0.9}
      - template: data_quality             # a second run of a template needs a name:
        name: data_quality-eu              #   [a-z0-9][a-z0-9_-]*, its report's file name
        notebook: playbooks/x/dq.ipynb     #   optional forked copy, inside the project

Every problem is reported with the file and the key (``playbooks/x.yml: runs[0].parameters:
unknown parameter 'min_user' for funnel_diagnosis (did you mean 'min_users'?)``), all at once,
and :func:`load_specs` reports those of every spec given together. A spec is UTF-8 YAML; a key
given twice in one mapping is an error naming both lines (YAML itself would keep the last
silently), and a number YAML 1.1 reads as text (``1e12``: no dot, no exponent sign) is named
as such where a parameter expects a number.
Paths in ``data`` are relative to the project root (the folder ``playbook`` runs from) and must
stay inside it or under a folder listed in ``PLAYBOOK_DATA_ROOTS`` (``os.pathsep``-separated):
an absolute path elsewhere, a ``..`` that leads out or a symlink that points out is refused.
A ``sql:`` entry is one read-only SELECT (:mod:`playbook.sql_guard`), checked here against the
tables of its database. Credentials are never written in a spec: an entry that looks like it
holds one (``password=``, ``user:pass@``, a token) is refused; name an environment variable
instead (``connection: {env: NAME}``), whose value is read but never recorded.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from playbook.errors import DataError, SpecError, TemplateError
from playbook.runner.templates import CONTEXT_PARAMETERS, Template, discover, load_template
from playbook.suggest import suggest as _suggest
from playbook.zones import check_snapshot, check_timezone

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
        return (self.impact * self.confidence * self.ease) ** (1 / 3)


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
    schedule: str | None = None
    targets: dict[str, float] = Field(default_factory=dict)
    data: dict[str, DataEntry] = Field(default_factory=dict)
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

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f"'{value}' is not a cron expression (e.g. '0 6 * * 1' for Mondays 06:00)")
        return value


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


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


_FIELDS = {
    "": list(Spec.model_fields),
    "ice": list(ICE.model_fields),
    "runs": list(RunEntry.model_fields),
}


def _message(err: Any) -> tuple[str, str]:
    loc = tuple(p for p in err["loc"]
                if p not in ("str", "datetime", "PathSource", "SqlSource", "EnvConnection"))
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        parent = "runs" if len(loc) >= 2 and loc[0] == "runs" else ("ice" if loc[:1] == ("ice",) else "")
        where = _loc(loc[:-1]) or "top level"
        return where, f"unknown key '{key}'{_suggest(key, _FIELDS.get(parent, []))}; remove it or fix its spelling"
    if kind == "missing":
        return _loc(loc), "required key is missing"
    msg = err["msg"].removeprefix("Value error, ")
    return _loc(loc), f"{msg} (got {err.get('input')!r})" if kind != "value_error" else msg


def _type_adapter(type_name: str) -> TypeAdapter[Any] | None:
    namespace = {"str": str, "int": int, "float": float, "bool": bool, "list": list, "dict": dict,
                 "tuple": tuple, "Any": Any, "None": None, "Literal": Literal}
    if type_name in ("None", ""):
        return None
    try:
        hint = eval(type_name, {"__builtins__": {}}, namespace)  # noqa: S307 - names above only
    except Exception:
        return None
    try:
        return TypeAdapter(hint, config=ConfigDict(strict=True))
    except Exception:
        return None


def _check_value(template: Template, key: str, value: Any) -> str | None:
    """Why ``value`` does not fit the parameter's type hint or its bound (the ``[...]`` at the
    end of its comment, :mod:`playbook.runner.templates`), or None."""
    param = template.parameters[key]
    adapter = _type_adapter(param.type_name)
    if adapter is not None:
        try:
            adapter.validate_python(value)
        except ValidationError:
            return (
                f"parameter '{key}' of {template.name} expects {param.type_name}, got {value!r} "
                f"({type(value).__name__}); default is {param.default_source}"
                f"{_number_hint(param.type_name, value)}"
            )
    why = param.bound.check(value) if param.bound is not None else None
    if param.bound is not None and why:
        return (
            f"{value!r} is outside the bound [{param.bound.text}] of {template.name}'s parameter "
            f"'{key}' ({template.path.as_posix()}): {why}; default is {param.default_source}"
        )
    return None


_EXPONENT = re.compile(r"([-+]?)(\d*)(?:\.(\d*))?[eE]([-+]?)(\d+)")


def _number_hint(type_name: str, value: Any) -> str:
    """Why ``value`` is text when it looks like a number (for a parameter that expects one)."""
    if not isinstance(value, str) or not re.search(r"\b(int|float)\b", type_name):
        return ""
    try:
        number = float(value)
    except ValueError:
        return ""
    wants_float = re.search(r"\bfloat\b", type_name) is not None
    exp = _EXPONENT.fullmatch(value.strip().replace("_", ""))
    if exp and (wants_float or not number.is_integer()):
        sign, whole, frac, esign, digits = exp.groups()
        return f"; YAML reads {value} as text: write {sign}{whole or '0'}.{frac or '0'}e{esign or '+'}{digits}"
    if exp:
        return f"; YAML reads {value} as text: write {int(number)}"
    if math.isfinite(number):  # a number in quotes
        return f"; '{value}' is quoted, so YAML reads it as text: write {value.strip()} without quotes"
    return ""


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader that records every key given twice in one mapping (YAML 1.1 and
    PyYAML keep the last one silently). Merge keys (``<<``) may be overridden, as YAML says."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []  # (line, problem)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader's own error follows
                continue
            if first is None:
                seen[key] = line
            else:
                self.duplicates.append((line, f"line {line}: key '{key}' is given twice in the same "
                                              f"mapping (first on line {first}); keep one"))
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]


def read_yaml(path: Path) -> dict[str, Any]:
    """A spec file's mapping; a :class:`SpecError` naming the file (and the line) otherwise."""
    if not path.exists():
        raise SpecError(f"{path}: spec file not found")
    if path.is_dir():
        raise SpecError(f"{path}: is a folder, not a spec; give a spec file (e.g. {path}/<campaign>.yml) "
                        f"or several: playbook run {path}/*.yml")
    try:
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save the spec "
            f"as UTF-8 (your editor's 'save with encoding', or `iconv -f latin1 -t utf-8`)"
        ) from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec ({exc.strerror}); check its permissions") from None
    loader = _UniqueKeyLoader(text)
    try:
        raw = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SpecError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    finally:
        loader.dispose()
    if loader.duplicates:
        raise SpecError("\n".join(f"{path}: {d}" for _, d in sorted(loader.duplicates)))
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: a spec is a YAML mapping with keys campaign, title, owner, ... runs")
    return raw


def load_spec(path: str | Path, notebooks_dir: str | Path = "notebooks", root: str | Path = ".") -> CampaignSpec:
    """Read and validate a spec; raise :class:`SpecError` listing every problem found."""
    path = Path(path)
    root = Path(root)
    raw = read_yaml(path)
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where, msg = _message(err)
            lines.append(f"{path}: {where}: {msg}")
        raise SpecError("\n".join(dict.fromkeys(lines))) from None

    problems: list[str] = []
    try:
        templates = discover(root / notebooks_dir)
    except TemplateError as exc:
        raise SpecError(f"{path}: {exc}") from exc

    runs: list[ResolvedRun] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(spec.runs):
        where = f"{path}: runs[{i}]"
        template: Template | None = None
        if entry.notebook:
            nb_path = root / entry.notebook
            if not nb_path.resolve().is_relative_to(root.resolve()):
                problems.append(
                    f"{where}.notebook: '{entry.notebook}' is outside the project; keep a forked notebook "
                    "in the project (`playbook new --fork` puts it in playbooks/<campaign>/)"
                )
            elif not nb_path.exists():
                problems.append(f"{where}.notebook: '{entry.notebook}' not found; fix the path or remove the key to use the template")
            else:
                try:
                    template = load_template(nb_path)
                except TemplateError as exc:
                    problems.append(f"{where}.notebook: {exc}")
        elif entry.template in templates:
            template = templates[entry.template]
        else:
            problems.append(
                f"{where}.template: unknown template '{entry.template}'"
                f"{_suggest(entry.template, list(templates))}; `playbook list` shows the templates"
            )
        if not RUN_NAME.match(entry.run_name):
            problems.append(
                f"{where}.{'name' if entry.name is not None else 'template'}: '{entry.run_name}' is not a "
                "run name: use lower-case letters, digits, '-' and '_', starting with a letter or digit "
                "(e.g. 'quality-eu'); the name becomes the report's file name"
            )
        if entry.run_name in seen:
            problems.append(
                f"{where}.name: '{entry.run_name}' already used by runs[{seen[entry.run_name]}]; "
                "give each run of the same template a distinct 'name'"
            )
        seen.setdefault(entry.run_name, i)
        if template is None:
            continue
        params = {k: p.default for k, p in template.user_parameters.items()}
        for key, value in entry.parameters.items():
            if key in CONTEXT_PARAMETERS:
                problems.append(
                    f"{where}.parameters: '{key}' is set by the runner, not the spec"
                    + ("; use the spec's 'data' section" if key in ("data_dir", "sources") else "")
                )
            elif key not in template.parameters:
                problems.append(
                    f"{where}.parameters: unknown parameter '{key}' for {template.name}"
                    f"{_suggest(key, list(template.user_parameters))}"
                )
            else:
                bad = _check_value(template, key, value)
                if bad:
                    problems.append(f"{where}.parameters.{key}: {bad}")
                params[key] = value
        runs.append(ResolvedRun(entry.run_name, template, template.path, params))

    data_dir = root / DEFAULT_WAREHOUSE
    sources, data_problems = _check_data(spec, root)
    problems += [f"{path}: {p}" for p in data_problems]
    if "warehouse" in spec.data and isinstance(spec.data["warehouse"], str):
        data_dir = root / spec.data["warehouse"]
    if "warehouse" not in spec.data and not data_dir.is_dir():
        problems.append(
            f"{path}: data: the default warehouse '{DEFAULT_WAREHOUSE}' does not exist; run "
            "`playbook demo-data` or set data.warehouse to your own export folder"
        )
    if problems:
        raise SpecError("\n".join(problems))
    return CampaignSpec(path=path, spec=spec, data_dir=data_dir, sources=sources, runs=runs, raw=raw)


def load_specs(paths: Iterable[str | Path], notebooks_dir: str | Path = "notebooks",
               root: str | Path = ".") -> list[CampaignSpec]:
    """Load every spec of ``paths``; one :class:`SpecError` listing the problems of all of them."""
    specs: list[CampaignSpec] = []
    problems: list[str] = []
    for path in paths:
        try:
            specs.append(load_spec(path, notebooks_dir, root))
        except SpecError as exc:
            problems.append(str(exc))
    if problems:
        raise SpecError("\n".join(problems))
    return specs


# ----------------------------------------------------------------------------- data section


def data_roots(root: Path) -> list[Path]:
    """Folders a spec may read: the project root and those listed in ``PLAYBOOK_DATA_ROOTS``."""
    roots = [root.resolve()]
    for part in os.environ.get(DATA_ROOTS_ENV, "").split(os.pathsep):
        if part.strip():
            roots.append(Path(part.strip()).expanduser().resolve())
    return roots


def _outside(given: str, file: Path, roots: list[Path]) -> str | None:
    """Why ``file`` may not be read, or None when it resolves inside one of ``roots``."""
    resolved = file.resolve()
    if any(resolved.is_relative_to(r) for r in roots):
        return None
    return (
        f"'{given}' is outside the project (after following '..' and symlinks); a spec reads "
        f"files inside the project or under a folder listed in {DATA_ROOTS_ENV}: move the data "
        f"there or add its folder to {DATA_ROOTS_ENV}"
    )


def _credential_problem(key: str, text: str) -> str | None:
    from playbook.sql_guard import credential_hint

    what = credential_hint(text)
    if what is None:
        return None
    return (
        f"{key}: looks like it holds {what}; never write credentials in a spec (run records and "
        "the archive would publish them): put the connection in an environment variable and "
        "write connection: {env: NAME}"
    )


def _check_sql_source(name: str, value: SqlSource, root: Path, roots: list[Path],
                      problems: list[str]) -> dict[str, Any] | None:
    """Check one ``sql:`` entry: credentials, its connection, its query against the tables."""
    import duckdb

    from playbook.sources import database_tables, open_source_database
    from playbook.sql_guard import check_select

    key = f"data.{name}"
    texts = [(f"{key}.sql", value.sql)]
    if isinstance(value.connection, str):
        texts.append((f"{key}.connection", value.connection))
    found = [p for p in (_credential_problem(k, t) for k, t in texts) if p]
    if found:
        problems.extend(found)
        return None
    try:
        check_select(value.sql, f"{key}.sql")
    except DataError as exc:
        problems.append(str(exc))
        return None

    secret = ""
    connection: str | dict[str, str]
    if isinstance(value.connection, EnvConnection):
        env = value.connection.env
        secret = os.environ.get(env, "")
        if not secret:
            problems.append(
                f"{key}.connection: environment variable {env} is not set; export it with the "
                "path of the DuckDB file before running"
            )
            return None
        db, label, connection = Path(secret).expanduser(), f"${env}", {"env": env}
    else:
        db, label = root / value.connection, f"'{value.connection}'"
        connection = str(db)
        why = _outside(value.connection, db, roots)
        if why:
            problems.append(f"{key}.connection: {why}")
            return None

    def redact(text: str) -> str:
        return text.replace(secret, label) if secret else text

    if not db.is_file():
        problems.append(f"{key}.connection: database file {label} not found")
        return None
    try:
        con = open_source_database(db)
    except duckdb.Error as exc:
        problems.append(redact(f"{key}.connection: cannot open {label} read-only: {exc}"))
        return None
    try:
        check_select(value.sql, f"{key}.sql", database_tables(con))
    except DataError as exc:
        problems.append(redact(str(exc)))
        return None
    finally:
        con.close()
    return {"sql": value.sql, "connection": connection}


def _check_data(spec: Spec, root: Path) -> tuple[dict[str, Any], list[str]]:
    """The sources of a spec's ``data`` section and the problems found (without the file)."""
    roots = data_roots(root)
    problems: list[str] = []
    sources: dict[str, Any] = {}
    for name, value in spec.data.items():
        if name == "warehouse":
            if not isinstance(value, str):
                problems.append("data.warehouse: give a folder path holding <table>.parquet files")
                continue
            folder = root / value
            why = _outside(value, folder, roots)
            if why:
                problems.append(f"data.warehouse: {why}")
            elif not folder.is_dir():
                problems.append(f"data.warehouse: folder '{value}' not found")
            else:
                for file in sorted(folder.iterdir()):
                    if file.suffix.lower() in (".parquet", ".csv") and _outside(file.name, file, roots):
                        problems.append(f"data.warehouse: {_outside(f'{value}/{file.name}', file, roots)}")
            continue
        if name == "snapshot":
            try:
                sources[name] = check_snapshot(value)
            except DataError as exc:
                problems.append(str(exc))
            continue
        if name == "timezone":
            try:
                sources[name] = check_timezone(value if isinstance(value, str) else "")
            except DataError as exc:
                problems.append(str(exc))
            continue
        if isinstance(value, datetime):
            problems.append(f"data.{name}: a time is not a table; give a file path "
                            "(only data.snapshot takes a time)")
            continue
        if isinstance(value, SqlSource):
            checked = _check_sql_source(name, value, root, roots, problems)
            if checked is not None:
                sources[name] = checked
            continue
        rel = value if isinstance(value, str) else value.path
        bad = _credential_problem(f"data.{name}", rel)
        if bad:
            problems.append(bad)
            continue
        file = root / rel
        if file.suffix.lower() not in (".parquet", ".pq", ".csv", ".tsv"):
            problems.append(f"data.{name}: '{rel}' is neither a .parquet nor a .csv file")
        elif _outside(rel, file, roots):
            problems.append(f"data.{name}: {_outside(rel, file, roots)}")
        elif not file.exists():
            problems.append(f"data.{name}: file '{rel}' not found; fix the path or export the table there")
        encoding = value.encoding if isinstance(value, PathSource) else None
        sources[name] = str(file) if encoding is None else _with_encoding(name, file, encoding, problems)
    return sources, problems


def _with_encoding(name: str, file: Path, encoding: str, problems: list[str]) -> dict[str, str]:
    """The source entry of a CSV with a declared encoding (its name checked)."""
    from playbook.sources import check_encoding

    if file.suffix.lower() not in (".csv", ".tsv"):
        problems.append(f"data.{name}.encoding: only a CSV file takes an encoding (Parquet "
                        "records its own); remove the key")
        return {"path": str(file)}
    try:
        return {"path": str(file), "encoding": check_encoding(encoding, f"data.{name}.encoding")}
    except DataError as exc:
        problems.append(str(exc))
        return {"path": str(file)}
