"""The shipped diagrams are laid out so a person can read them: no two shapes of one diagram overlap.

Containers (pools, lanes, expanded sub-processes, groups) hold shapes by design, and a boundary
event sits on the border of the activity it is attached to; every other pair of shapes must not
share any area.
"""

from __future__ import annotations

from itertools import combinations
from typing import NamedTuple

import pytest
from lxml import etree

from tests.conftest import ROOT

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
}
CONTAINERS = {"participant", "lane", "subProcess", "group", "transaction", "adHocSubProcess"}


class Shape(NamedTuple):
    id: str
    kind: str
    x: float
    y: float
    width: float
    height: float
    attached_to: str | None


def shapes(path: str) -> dict[str, list[Shape]]:
    """Each diagram (BPMNPlane) of a file, with its shapes."""
    root = etree.parse(str(ROOT / path)).getroot()
    elements = {n.get("id"): n for n in root.iter() if isinstance(n.tag, str) and n.get("id")}
    found: dict[str, list[Shape]] = {}
    for plane in root.iterfind(".//bpmndi:BPMNPlane", NS):
        listed = found.setdefault(plane.get("id"), [])
        for shape in plane.iterfind("bpmndi:BPMNShape", NS):
            element = elements.get(shape.get("bpmnElement"))
            bounds = shape.find("dc:Bounds", NS)
            if element is None or bounds is None:
                continue
            kind = etree.QName(element).localname
            if kind == "subProcess" and shape.get("isExpanded") == "false":
                kind = "collapsedSubProcess"
            listed.append(
                Shape(
                    element.get("id"),
                    kind,
                    *(float(bounds.get(k)) for k in ("x", "y", "width", "height")),
                    element.get("attachedToRef"),
                )
            )
    return found


def overlap(a: Shape, b: Shape) -> bool:
    return a.x < b.x + b.width and b.x < a.x + a.width and a.y < b.y + b.height and b.y < a.y + a.height


def may_touch(a: Shape, b: Shape) -> bool:
    """Pairs that share area by design."""
    if a.kind in CONTAINERS or b.kind in CONTAINERS:
        return True
    return a.attached_to == b.id or b.attached_to == a.id


def overlapping(path: str) -> list[tuple[str, str]]:
    return [
        (a.id, b.id)
        for listed in shapes(path).values()
        for a, b in combinations(listed, 2)
        if overlap(a, b) and not may_touch(a, b)
    ]


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "processes").glob("*.bpmn")))
def test_no_two_shapes_of_a_shipped_diagram_overlap(name: str) -> None:
    assert overlapping(f"processes/{name}") == []


def test_the_check_sees_an_overlap_and_allows_what_is_drawn_on_purpose() -> None:
    a = Shape("a", "task", 0, 0, 100, 80, None)
    assert overlap(a, Shape("b", "task", 90, 70, 100, 80, None)) and not may_touch(
        a, Shape("b", "task", 0, 0, 1, 1, None)
    )
    assert not overlap(a, Shape("c", "task", 100, 0, 100, 80, None))  # side by side, touching
    assert may_touch(a, Shape("timer", "boundaryEvent", 80, 60, 36, 36, "a"))
    assert not may_touch(a, Shape("timer", "boundaryEvent", 80, 60, 36, 36, "elsewhere"))
    assert may_touch(a, Shape("lane", "lane", 0, 0, 1000, 200, None))
