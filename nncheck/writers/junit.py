"""junit.xml: one test case per check, so CI dashboards show checks like tests.

fail -> <failure>, error -> <error>, skip -> <skipped>; a warn is a <failure> only under
``--fail-on warn`` (otherwise it passes with the warning in system-out). ElementTree does
the XML escaping; characters XML 1.0 forbids altogether (NUL, ESC, BEL ... which a recipe
name or a class label may hold) are written as visible ``\x1b`` escapes, because no
escaping makes them legal and one of them makes the whole file unparseable.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from nncheck.results import RunResult
from nncheck.writers.jsonable import jsonable
from nncheck.writers.report_dir import write_text

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: object) -> str:
    """``text`` with every character XML 1.0 forbids written as a visible escape."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def build(run: RunResult) -> ET.Element:
    counts = run.counts()
    warn_fails = run.fail_on == "warn"
    failures = counts["fail"] + (counts["warn"] if warn_fails else 0)
    suite = ET.Element(
        "testsuite",
        {
            "name": f"nncheck.{run.recipe.get('name', 'run')}",
            "tests": str(len(run.checks)),
            "failures": str(failures),
            "errors": str(counts["error"]),
            "skipped": str(counts["skip"]),
            "time": f"{run.duration_s:.3f}",
            "timestamp": run.started,
        },
    )
    for c in run.checks:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": f"nncheck.{c.stage}", "name": c.id, "time": f"{c.duration_s:.3f}"},
        )
        details = (c.hint + "\n" if c.hint else "") + json.dumps(jsonable(c.metrics), indent=1)
        if c.status == "fail" or (c.status == "warn" and warn_fails):
            node = ET.SubElement(case, "failure", {"message": c.message, "type": c.status})
            node.text = details
        elif c.status == "error":
            node = ET.SubElement(case, "error", {"message": c.message, "type": "error"})
            node.text = c.traceback or details
        elif c.status == "skip":
            ET.SubElement(case, "skipped", {"message": c.message})
        elif c.status == "warn":
            ET.SubElement(case, "system-out").text = f"WARN: {c.message}\n{details}"
    return suite


def write(run: RunResult, directory: Path) -> Path:
    root = ET.Element("testsuites")
    root.append(build(run))
    for node in root.iter():  # every string the file holds, whatever check produced it
        node.attrib = {k: xml_safe(v) for k, v in node.attrib.items()}
        if node.text is not None:
            node.text = xml_safe(node.text)
    ET.indent(root)
    path = Path(directory) / "junit.xml"
    text = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")
    write_text(path, text + "\n")
    return path
