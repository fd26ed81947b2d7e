"""Process efficiency: step durations against SLAs, the slow step, weekly trends, work in progress.

    analyze_process(...)   process_efficiency's analysis -> ProcessResult

Modules: ``sql`` (durations pushed to DuckDB), ``trend`` (the weekly trend tests), ``result``
(ProcessResult and its decision rule), ``analysis`` (the entry point).
"""

from playbook.analyses.process.analysis import analyze_process
from playbook.analyses.process.result import ProcessResult

__all__ = ["ProcessResult", "analyze_process"]
