"""``playbook publish``'s report and the ``playbook archive`` commands (registered by
:mod:`playbook.cli`):

    playbook archive remove <campaign>[/<run_id>]   retract runs (moved to outputs/retracted)
    playbook archive serve [--port 8765]            serve outputs/archive on 127.0.0.1
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from playbook.errors import ArchiveError


def publish_archive(force: bool, include_drafts: bool = False) -> bool:
    """Publish the archive; False when some sources could not be read (each is named)."""
    from playbook.publish import publish as do_publish

    return report(do_publish(force=force, include_drafts=include_drafts))


def report(result: object) -> bool:
    """Print what a publish did; False when some sources could not be read (each is named)."""
    from playbook.publish.site import PublishResult

    assert isinstance(result, PublishResult)
    for failure in result.failures:
        click.echo(f"not published: outputs/runs/{failure.source}: {failure.message}", err=True)
    click.echo(f"published {result.converted} new report(s), {result.skipped} unchanged")
    if result.drafts:
        click.echo(f"left out {result.drafts} draft run(s) (publish with --include-drafts)")
    click.echo(f"archive: {Path(result.index).resolve()}")
    return not result.failures


@click.group()
def archive() -> None:
    """The published archive: retract runs from it, serve it."""


@archive.command("remove")
@click.argument("target")
@click.option("--include-drafts", is_flag=True, help="keep draft runs in the republished archive")
def archive_remove(target: str, include_drafts: bool) -> None:
    """Retract TARGET (<campaign>/<run_id>, or <campaign> for all its runs) from the archive: its
    run folders move to outputs/retracted/ (nothing is lost) and its pages are removed."""
    from playbook.publish.retract import retract

    done = retract(target, include_drafts=include_drafts)
    for dest in done.moved:
        click.echo(f"retracted {dest.parent.name}/{dest.name}: moved to {dest} (nothing is deleted; "
                   "move it back into outputs/runs/ and publish to restore it)")
    if done.result is not None and not report(done.result):
        sys.exit(1)


@archive.command("serve")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
def archive_serve(port: int) -> None:
    """Serve outputs/archive on http://127.0.0.1:PORT (Ctrl-C stops it)."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from playbook.project import paths

    root = paths().archive
    if not (root / "index.html").is_file():
        raise ArchiveError(f"{root}: no archive yet; run `playbook publish` first")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise ArchiveError(f"cannot serve on port {port}: {exc.strerror or exc}; try --port") from None
    click.echo(f"archive on http://127.0.0.1:{server.server_address[1]}/index.html (Ctrl-C stops it)")
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped")
