"""Reading a document's text within bounds: in a child process limited in time, memory and output.

A small file can cost minutes and gigabytes to read (a PDF whose pages share one stream of
hundreds of thousands of text operators, a DOCX of a million paragraphs), so uploaded files are
never read inside a request's transaction or in the service's own process. ``run`` starts
``python -m cprflow.features.extraction`` with the bytes on stdin; the child lowers its own
address-space and CPU limits before it imports a parser, and stops once it has produced more text
than ``Bounds.max_chars``. The parent kills it at ``Bounds.seconds``. A file that breaks a bound is
``refused``: kept, without text, and flagged to the people who see the case's documents.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from dataclasses import dataclass

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
PAGE_BREAK = "\n\f\n"

#: What ``documents.text_status`` may hold.
PENDING, EXTRACTED, NONE, REFUSED = "pending", "extracted", "none", "refused"
STATUSES = (PENDING, EXTRACTED, NONE, REFUSED)

_TOO_LONG = 3  # the child's exit status when the text passed max_chars


@dataclass(frozen=True)
class Bounds:
    """Longest a file's text may take to read, the memory the reader may use, the text it may yield."""

    seconds: float = 30.0
    memory_mb: int = 512
    max_chars: int = 5_000_000


DEFAULT_BOUNDS = Bounds()


class TooLong(Exception):
    """The document holds more text than the bound allows."""


def _xml_text(xml: bytes, paragraph_tags: tuple[str, ...], max_chars: int) -> str:
    """The paragraphs' text, read as a stream (each paragraph freed once read), entities and network off."""
    from lxml import etree

    paragraphs: list[str] = []
    size = 0
    events = etree.iterparse(
        io.BytesIO(xml), events=("end",), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    for _, element in events:
        if isinstance(element.tag, str) and etree.QName(element).localname in paragraph_tags:
            text = "".join(element.itertext())
            if text.strip():
                paragraphs.append(text)
                size += len(text) + 1
                if size > max_chars:
                    raise TooLong
            if element.getparent() is None or etree.QName(element.getparent()).localname not in paragraph_tags:
                element.clear(keep_tail=True)
    return "\n".join(paragraphs)


def extract_text(content_type: str, data: bytes, max_chars: int = Bounds.max_chars) -> str | None:
    """Plain text of a document; None if the file holds none we can read; TooLong past ``max_chars``.

    Runs in the calling process with no time or memory bound: for files the service made itself
    (letters, samples). Anything a person uploaded goes through ``run``."""
    try:
        if content_type == PDF:
            from pypdf import PdfReader

            pages: list[str] = []
            size = 0
            for page in PdfReader(io.BytesIO(data)).pages:
                # Pages are kept apart by a form feed, so findings can say which page they are on.
                pages.append(page.extract_text() or "")
                size += len(pages[-1]) + len(PAGE_BREAK)
                if size > max_chars:
                    raise TooLong
            text = PAGE_BREAK.join(pages)
        else:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if content_type == DOCX:
                    text = _xml_text(archive.read("word/document.xml"), ("p",), max_chars)
                else:
                    text = _xml_text(archive.read("content.xml"), ("p", "h"), max_chars)
    except (TooLong, MemoryError):
        raise
    except Exception:  # a file we cannot read is stored all the same, without text
        return None
    text = text.strip()
    return text or None


@dataclass(frozen=True)
class Result:
    status: str
    text: str | None


def run(content_type: str, data: bytes, bounds: Bounds) -> Result:
    """Read the text in a bounded child process: extracted, none, or refused (a bound was broken)."""
    command = [
        sys.executable,
        "-m",
        "cprflow.features.extraction",
        content_type,
        str(bounds.memory_mb),
        str(max(1, int(bounds.seconds) + 1)),
        str(bounds.max_chars),
    ]
    try:
        done = subprocess.run(command, input=data, capture_output=True, timeout=bounds.seconds, check=False)
    except subprocess.TimeoutExpired:
        return Result(REFUSED, None)
    if done.returncode != 0 or len(done.stdout) > 4 * bounds.max_chars:
        return Result(REFUSED, None)
    text = done.stdout.decode("utf-8", "replace").strip()
    if len(text) > bounds.max_chars:
        return Result(REFUSED, None)
    return Result(EXTRACTED, text) if text else Result(NONE, None)


def _child(argv: list[str]) -> int:
    content_type, memory_mb, cpu_seconds, max_chars = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    try:
        import resource

        if memory_mb > 0:
            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    except (ImportError, ValueError, OSError):  # no POSIX limits here: the parent's timeout still holds
        pass
    # The readers are loaded before any file is looked at: one that cannot load within the bounds
    # makes the child fail (refused), not read as a file without text.
    import lxml.etree  # noqa: F401
    import pypdf  # noqa: F401

    data = sys.stdin.buffer.read()
    try:
        text = extract_text(content_type, data, max_chars)
    except TooLong:
        return _TOO_LONG
    sys.stdout.buffer.write((text or "").encode("utf-8", "surrogatepass"))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
