"""Reading the three document formats, and reporting files that cannot be read."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
import yaml

from knowledge.atlas import attack_type_for, parse_atlas
from knowledge.loader import load_source
from knowledge.markdown import MarkdownError, parse_markdown

from .conftest import ATLAS_FILE, CREDIT_CARD, FEATURE_LINES, INCIDENT_004, write_corpus, write_small_atlas


def test_markdown_front_matter_and_heading_trail():
    doc = parse_markdown(
        "---\ntitle: Churn notes\ndoc_type: Limitations\nmodel_id: customer-churn\ndate: 2026-02-10\n---\n"
        "Intro text.\n\n# Churn notes\n\n## Data\n\nAbout data.\n\n### Gaps\n\nJanuary gaps.\n\n"
        "```\n# not a heading\n```\n\n## Use\n\nOnly consumers.\n",
        file="limitations/churn.md",
    )
    assert doc.doc_id == "limitations/churn.md"
    assert (doc.title, doc.doc_type, doc.model_id, doc.access) == (
        "Churn notes",
        "limitations",
        "customer-churn",
        "internal",
    )
    assert doc.date == dt.date(2026, 2, 10)
    trails = [s.path for s in doc.sections]
    # "# Churn notes" comes after some text, so it is a real heading and stays in the trail
    assert trails == [(), ("Churn notes", "Data"), ("Churn notes", "Data", "Gaps"), ("Churn notes", "Use")]
    assert "# not a heading" in doc.sections[2].text


def test_markdown_title_heading_is_not_repeated_in_the_trail():
    doc = parse_markdown(CREDIT_CARD.format(features=FEATURE_LINES), file="model_cards/credit-default.md")
    assert [s.path for s in doc.sections][:2] == [("Overview",), ("Intended use",)]


@pytest.mark.parametrize(
    "text, reason",
    [
        ("# Title\n\nNo front matter.", "no YAML front matter"),
        ("---\ntitle: x\ndoc_type: memo\n---\nText", "doc_type"),
        ("---\ndoc_type: faq\n---\nText", "title: Field required"),
        ("---\ntitle: x\ndoc_type: faq\naccess: secret\n---\nText", "access"),
        ("---\ntitle: [oops\ndoc_type: faq\n---\nText", "not valid YAML"),
        ("---\ntitle: x\ndoc_type: faq\n---\n\n", "no text"),
    ],
)
def test_malformed_markdown_says_why(text, reason):
    with pytest.raises(MarkdownError, match=reason):
        parse_markdown(text, file="x.md")


def test_incident_yaml_single_and_list(corpus: Path):
    source = load_source(corpus / "incidents")
    docs = {d.doc_id: d for d in source.documents}
    assert set(docs) == {"incident:INC-2025-004", "incident:INC-2025-007", "incident:INC-2026-001"}
    single = docs["incident:INC-2025-004"]
    assert single.access == "restricted"  # the default for incidents
    assert (single.attack_type, single.stage, single.severity, single.status) == (
        "extraction",
        "production",
        "high",
        "mitigated",
    )
    assert single.atlas_techniques == ["AML.T0024.002", "AML.T0040"]
    assert [s.path for s in single.sections] == [("Summary",), ("Impact",), ("Mitigation",)]
    assert "card-testing bot" in single.sections[0].text
    assert docs["incident:INC-2025-007"].access == "internal"
    assert docs["incident:INC-2026-001"].attack_type == "membership_inference"  # written "Membership inference"
    assert source.rejected == []


def test_one_bad_record_in_a_list_rejects_only_that_record(tmp_path: Path):
    records = yaml.safe_load(INCIDENT_004)
    bad = dict(records, id="INC-9", status="done")
    (tmp_path / "list.yaml").write_text(yaml.safe_dump([records, bad]))
    source = load_source(tmp_path)
    assert [d.doc_id for d in source.documents] == ["incident:INC-2025-004"]
    [rejected] = source.rejected
    assert rejected.file == "list.yaml"
    assert "record 2 (INC-9)" in rejected.reason and "status" in rejected.reason


def test_malformed_files_are_reported_and_the_rest_load(corpus: Path):
    source = load_source(corpus)
    reasons = {r.file: r.reason for r in source.rejected}
    assert set(reasons) == {
        "broken/no-front-matter.md",
        "broken/bad-doc-type.md",
        "broken/bad-severity.yaml",
        "broken/not-yaml.yaml",
    }
    assert "no YAML front matter" in reasons["broken/no-front-matter.md"]
    assert "doc_type" in reasons["broken/bad-doc-type.md"]
    assert "severity" in reasons["broken/bad-severity.yaml"]
    assert "invalid YAML at line" in reasons["broken/not-yaml.yaml"]
    assert source.skipped == ["images/diagram.png"]
    assert len(source.documents) == 10  # 7 Markdown documents and 3 incidents


def test_missing_path_is_reported(tmp_path: Path):
    source = load_source(tmp_path / "nowhere")
    assert source.missing
    assert source.rejected[0].reason == "path does not exist"


def test_real_atlas_gives_case_studies_and_reference_documents():
    docs = parse_atlas(yaml.load(ATLAS_FILE.read_text(), Loader=yaml.CSafeLoader), file="ATLAS.yaml")
    kinds = Counter(d.atlas_type for d in docs)
    assert kinds["case_study"] == 46 and kinds["technique"] == 170 and kinds["mitigation"] == 35
    by_id = {d.doc_id: d for d in docs}

    study = by_id["atlas:AML.CS0056"]
    assert study.doc_type == "incident" and study.access == "public" and study.model_id is None
    assert study.attack_type == "extraction"
    assert "AML.T0024.002" in study.atlas_techniques
    assert study.date == dt.date(2026, 2, 23)
    assert [s.path for s in study.sections] == [("Summary",), ("Procedure",)]

    technique = by_id["atlas:AML.T0024.002"]
    assert technique.doc_type == "reference" and technique.access == "public"
    # titles say what an item is, since users ask for "the ATLAS technique for ..." and the texts never say it
    assert technique.title == "Extract AI Model (MITRE ATLAS sub-technique AML.T0024.002)"
    assert by_id["atlas:AML.T0024"].title == "Exfiltration via AI Inference API (MITRE ATLAS technique AML.T0024)"
    assert by_id["atlas:AML.M0004"].title == "Restrict Number of AI Model Queries (MITRE ATLAS mitigation AML.M0004)"
    assert by_id["atlas:AML.TA0010"].title == "Exfiltration (MITRE ATLAS tactic AML.TA0010)"
    assert study.title.endswith(" (MITRE ATLAS case study AML.CS0056)")
    assert technique.url == "https://atlas.mitre.org/techniques/AML.T0024.002"
    mitigations = next(s for s in technique.sections if s.path == ("Mitigations",)).text
    assert "Restrict Number of AI Model Queries (AML.M0004)" in mitigations

    mitigation = by_id["atlas:AML.M0004"]
    assert mitigation.doc_type == "reference" and "AML.T0024.002" in mitigation.atlas_techniques
    # ATLAS links are made readable
    assert "](/techniques/" not in technique.text and "AI Model Inference API Access (AML.T0040)" in technique.text


def test_atlas_attack_families():
    assert attack_type_for(["AML.T0040", "AML.T0024.000"]) == "membership_inference"
    assert attack_type_for(["AML.T0024.001"]) == "inversion"
    assert attack_type_for(["AML.T0043.003", "AML.T0015"]) == "evasion"
    assert attack_type_for(["AML.T0051.001", "AML.T0015"]) == "prompt_injection"
    assert attack_type_for(["AML.T0020"]) == "poisoning"
    assert attack_type_for(["AML.T0000"]) == "other"


def test_atlas_is_recognised_by_content_not_only_by_name(tmp_path: Path):
    atlas = write_small_atlas(tmp_path / "mitre" / "taxonomy-v5.yaml")
    source = load_source(atlas.parent)
    assert source.rejected == []
    assert {d.doc_id for d in source.documents} >= {"atlas:AML.CS0056", "atlas:AML.T0024", "atlas:AML.M0004"}


def test_a_file_named_atlas_that_is_not_atlas_is_rejected(tmp_path: Path):
    (tmp_path / "ATLAS.yaml").write_text("just: a mapping\n")
    source = load_source(tmp_path)
    assert source.documents == []
    assert "not ATLAS data" in source.rejected[0].reason


def test_corpus_writer_files_all_parse():
    """Every file in the bundled demo corpus reads cleanly (or is reported with its reason)."""
    if not any(REAL.glob("**/*.md")):
        pytest.skip("the demo corpus is empty")
    source = load_source(REAL)
    assert source.documents, "no documents in the demo corpus"
    assert source.rejected == [], source.rejected


REAL = Path(__file__).resolve().parents[2] / "knowledge" / "corpus"


def test_write_corpus_is_what_the_other_tests_assume(tmp_path: Path):
    root = write_corpus(tmp_path / "c", malformed=False)
    assert load_source(root).rejected == []
