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
Paths in ``data`` are relative to the project root (:mod:`playbook.project`) and must
stay inside it or under a folder listed in ``PLAYBOOK_DATA_ROOTS`` (``os.pathsep``-separated):
an absolute path elsewhere, a ``..`` that leads out or a symlink that points out is refused.
A ``sql:`` entry is one read-only SELECT (:mod:`playbook.sql_guard`), checked here against the
tables of its database. Credentials are never written in a spec: an entry that looks like it
holds one (``password=``, ``user:pass@``, a token) is refused; name an environment variable
instead (``connection: {env: NAME}``), whose value is read but never recorded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    TypeAdapter,
    ValidationError,
)

from playbook.audience import SETTING as AUDIENCE
from playbook.errors import DataError, SpecError, TemplateError
from playbook.project import ProjectPaths, find_root
from playbook.runner.spec_data import check_data, data_roots
from playbook.runner.spec_models import (
    DATA_ROOTS_ENV,
    DEFAULT_WAREHOUSE,
    ENV_NAME,
    ICE,
    RUN_NAME,
    SLUG,
    CampaignSpec,
    EnvConnection,
    PathSource,
    ResolvedRun,
    RunEntry,
    Spec,
    SqlSource,
)
from playbook.runner.spec_yaml import read_yaml
from playbook.runner.templates import CONTEXT_PARAMETERS, Template, discover, load_template
from playbook.suggest import suggest as _suggest
from playbook.tags import TagStore


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


def _validated(path: Path, raw: Any) -> Spec:
    try:
        return Spec.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where, msg = _message(err)
            lines.append(f"{path}: {where}: {msg}")
        raise SpecError("\n".join(dict.fromkeys(lines))) from None


def _template_of(entry: RunEntry, where: str, root: Path, templates: dict[str, Template],
                 problems: list[str]) -> Template | None:
    """The run's template: its forked notebook (inside the project) or the named template."""
    if not entry.notebook:
        if entry.template in templates:
            return templates[entry.template]
        problems.append(
            f"{where}.template: unknown template '{entry.template}'"
            f"{_suggest(entry.template, list(templates))}; `playbook list` shows the templates"
        )
        return None
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
            return load_template(nb_path)
        except TemplateError as exc:
            problems.append(f"{where}.notebook: {exc}")
    return None


def _check_name(entry: RunEntry, where: str, i: int, seen: dict[str, int], problems: list[str]) -> None:
    """The run's name is a run name, and no earlier run of the spec has it."""
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


def _parameters(template: Template, entry: RunEntry, where: str, problems: list[str]) -> dict[str, Any]:
    """The template's defaults with the run's parameters checked and applied."""
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
    return params


def _data(spec: Spec, path: Path, root: Path, problems: list[str]) -> tuple[Path, dict[str, Any]]:
    """(warehouse folder, sources) of the spec's data section; its problems added to ``problems``."""
    data_dir = root / DEFAULT_WAREHOUSE
    sources, data_problems = check_data(spec, root)
    problems += [f"{path}: {p}" for p in data_problems]
    if "warehouse" in spec.data and isinstance(spec.data["warehouse"], str):
        data_dir = root / spec.data["warehouse"]
    if "warehouse" not in spec.data and not data_dir.is_dir():
        problems.append(
            f"{path}: data: the default warehouse '{DEFAULT_WAREHOUSE}' does not exist; run "
            "`playbook demo-data` or set data.warehouse to your own export folder"
        )
    return data_dir, sources


def _audience(spec: Spec, path: Path, root: Path, problems: list[str]) -> dict[str, Any]:
    """The spec's audience as the warehouse's setting. Its tag set and tags are checked when the
    store has the tag set; one that is not there yet (a segmentation run of the same batch
    writes it) is looked for again when the campaign runs (:func:`resolve_audience`)."""
    from playbook.audience import Audience

    assert spec.audience is not None
    audience = Audience.from_setting(spec.audience.model_dump(mode="json"))
    store = TagStore(ProjectPaths(root).tags)
    if audience.tag_set in store.names():
        try:
            audience.resolved(store)
        except DataError as exc:
            problems.append(f"{path}: {exc}")
    return audience.as_setting()


def resolve_audience(cs: CampaignSpec, root: Path) -> CampaignSpec:
    """``cs`` with its audience's snapshot fixed to the one it will read (the latest unless the
    spec names one), so the run record says which; unchanged when there is no audience or the
    tag set is missing (the notebook then fails with the message that says what to run)."""
    import dataclasses

    from playbook.audience import Audience

    if AUDIENCE not in cs.sources:
        return cs
    store = TagStore(ProjectPaths(root).tags)
    audience = Audience.from_setting(cs.sources[AUDIENCE])
    if audience.tag_set not in store.names():
        return cs
    sources = {**cs.sources, AUDIENCE: audience.resolved(store).as_setting()}
    return dataclasses.replace(cs, sources=sources)


def load_spec(path: str | Path, notebooks_dir: str | Path = "notebooks",
              root: str | Path | None = None) -> CampaignSpec:
    """Read and validate a spec; raise :class:`SpecError` listing every problem found."""
    path = Path(path)
    root = Path(root) if root is not None else find_root()
    raw = read_yaml(path)
    spec = _validated(path, raw)
    problems: list[str] = []
    try:
        templates = discover(root / notebooks_dir)
    except TemplateError as exc:
        raise SpecError(f"{path}: {exc}") from exc

    runs: list[ResolvedRun] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(spec.runs):
        where = f"{path}: runs[{i}]"
        template = _template_of(entry, where, root, templates, problems)
        _check_name(entry, where, i, seen, problems)
        if template is not None:
            params = _parameters(template, entry, where, problems)
            params |= spec.filled(template.parameters, entry.parameters)
            runs.append(ResolvedRun(entry.run_name, template, template.path, params))
    data_dir, sources = _data(spec, path, root, problems)
    if spec.audience is not None:
        sources[AUDIENCE] = _audience(spec, path, root, problems)
    if problems:
        raise SpecError("\n".join(problems))
    return CampaignSpec(path=path, spec=spec, data_dir=data_dir, sources=sources, runs=runs, raw=raw)


def load_specs(paths: Iterable[str | Path], notebooks_dir: str | Path = "notebooks",
               root: str | Path | None = None) -> list[CampaignSpec]:
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


__all__ = ["DATA_ROOTS_ENV", "DEFAULT_WAREHOUSE", "ENV_NAME", "ICE", "RUN_NAME", "SLUG", "CampaignSpec",
           "EnvConnection", "PathSource", "ResolvedRun", "RunEntry", "Spec", "SqlSource", "check_data",
           "data_roots", "load_spec", "load_specs", "read_yaml", "resolve_audience"]
