"""Welsh names of diagram elements: the ``nameCy`` extension property, read here and nowhere else.

Process owners give each user task, lane and process a Welsh name in the modeler's panel; it is
stored beside the element's other properties::

    <bpmn:userTask id="record_referral" name="Record the referral">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="nameCy" value="Cofnodi'r atgyfeiriad" />

Welsh pages show it wherever they show the English name. A deploy lists (as warnings, not
refusals) the user tasks, lanes and forms that have no Welsh text yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from cprflow.core.errors import Text

__all__ = ["PROPERTY", "WelshNames", "missing", "read"]

PROPERTY = "nameCy"
_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_NS = {"bpmn": _BPMN, "spiffworkflow": _SPIFF}
_NAMED = "//bpmn:userTask | //bpmn:lane | //bpmn:process | //bpmn:manualTask"


@dataclass(frozen=True)
class WelshNames:
    """Welsh names by user task id, by lane name and by process id, for one deployed version."""

    tasks: dict[str, str] = field(default_factory=dict)
    lanes: dict[str, str] = field(default_factory=dict)
    processes: dict[str, str] = field(default_factory=dict)

    def task(self, bpmn_id: str, english: str, lang: str) -> str:
        return self.tasks.get(bpmn_id, english) if lang == "cy" else english

    def lane(self, english: str | None, lang: str) -> str | None:
        return self.lanes.get(english or "", english) if lang == "cy" else english

    def process(self, process_id: str, english: str, lang: str) -> str:
        return self.processes.get(process_id, english) if lang == "cy" else english


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _trees(files: Mapping[str, bytes | str]) -> list[tuple[str, Any]]:
    found = []
    for name, content in sorted(files.items()):
        if not name.endswith(".bpmn"):
            continue
        raw = content.encode("utf-8") if isinstance(content, str) else content
        try:
            found.append((name, etree.fromstring(raw, _parser())))
        except etree.XMLSyntaxError:
            continue  # the deploy check has refused it already; nothing to name
    return found


def _welsh(element: Any) -> str | None:
    values = element.xpath(
        "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name=$p]/@value",
        namespaces=_NS,
        p=PROPERTY,
    )
    return values[0].strip() or None if values else None


def read(files: Mapping[str, bytes | str]) -> WelshNames:
    """Every Welsh name in a set's diagrams (files by path, as a version stores them)."""
    names = WelshNames()
    for _, root in _trees(files):
        for element in root.xpath(_NAMED, namespaces=_NS):
            welsh = _welsh(element)
            if not welsh:
                continue
            kind = etree.QName(element).localname
            if kind == "lane" and element.get("name"):
                names.lanes[element.get("name")] = welsh
            elif kind == "process":
                names.processes[element.get("id")] = welsh
            elif element.get("id"):
                names.tasks[element.get("id")] = welsh
    return names


def missing(files: Mapping[str, bytes | str], forms: Mapping[str, Any]) -> list[str]:
    """User tasks, lanes and forms without Welsh text, one line each (a ``Text``), for the deploy to list."""
    found: list[str] = []
    for name, root in _trees(files):
        for element in root.xpath("//bpmn:userTask | //bpmn:lane", namespaces=_NS):
            if not element.get("name") or _welsh(element):
                continue
            about = {"file": name, "name": element.get("name"), "id": element.get("id"), "property": PROPERTY}
            if etree.QName(element).localname == "lane":
                found.append(Text("%(file)s: lane '%(name)s' (%(id)s) has no Welsh name (%(property)s)", **about))
            else:
                found.append(Text("%(file)s: user task '%(name)s' (%(id)s) has no Welsh name (%(property)s)", **about))
    for form, schema in sorted(forms.items()):
        if form.endswith(".schema.json") and isinstance(schema, dict):
            english = [p for p in _titled(schema) if p[1]]
            lacking = [pointer for pointer, _, welsh in english if not welsh]
            if lacking and len(lacking) > 5:
                found.append(
                    Text(
                        "%(file)s: no Welsh title (x-title-cy) at %(fields)s and %(more)s more",
                        file=f"forms/{form}",
                        fields=", ".join(lacking[:5]),
                        more=len(lacking) - 5,
                    )
                )
            elif lacking:
                found.append(
                    Text(
                        "%(file)s: no Welsh title (x-title-cy) at %(fields)s",
                        file=f"forms/{form}",
                        fields=", ".join(lacking),
                    )
                )
    return found


def _titled(node: Any, pointer: str = "", depth: int = 0) -> list[tuple[str, bool, bool]]:
    """(pointer, has an English title, has a Welsh one) for the form and every field in it."""
    if not isinstance(node, dict) or depth > 16:
        return []
    out = [(pointer or "/", isinstance(node.get("title"), str), isinstance(node.get("x-title-cy"), str))]
    props = node.get("properties")
    for key, child in props.items() if isinstance(props, dict) else []:
        out += _titled(child, f"{pointer}/{key}", depth + 1)
    if isinstance(node.get("items"), dict):
        out += _titled(node["items"], f"{pointer}/items", depth + 1)
    return out
