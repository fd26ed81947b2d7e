"""Publish executed runs as a static knowledge archive; see :mod:`playbook.publish.site`."""

from playbook.publish.site import PublishFailure, PublishResult, publish

__all__ = ["PublishFailure", "PublishResult", "publish"]
