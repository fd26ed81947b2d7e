"""ice_backlog: which idea to test next, ranked by ICE or RICE, with the ranking's stability
under +/-1 and the confidence calibrated by the archive's past outcomes.

    analyze_backlog(backlog, archive=..., warehouse=...)   -> BacklogResult
    load_archive(archive_dir)                             the archive, None when there is none yet

Modules: ``scoring`` (scores, ranks, sensitivity), ``evidence`` (win rates per area, the
calibrated confidence), ``nextround`` (the design of each top idea), ``analysis`` (the entry
point), ``result`` (BacklogResult, its decisions), ``display`` (the report's tables).
"""

from playbook.analyses.backlog.analysis import RANK_BY, analyze_backlog
from playbook.analyses.backlog.evidence import load_archive
from playbook.analyses.backlog.nextround import Sizing
from playbook.analyses.backlog.result import BacklogDecision, BacklogResult
from playbook.analyses.backlog.scoring import Scoring

__all__ = ["RANK_BY", "BacklogDecision", "BacklogResult", "Scoring", "Sizing", "analyze_backlog", "load_archive"]
