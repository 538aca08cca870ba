"""Understanding a model nobody wrote rules for: a library's overdue-loans model, registered only through
its `model.yaml`, from a schema absent from the training corpus (no library, borrower or fines schema in
assistant/conversation/data/schemas.yaml). Ids are plain integers, two inputs are 0/1 flags."""

from __future__ import annotations

import textwrap
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from assistant.answer import Principal
from assistant.conversation.corpus import load_schemas
from assistant.engine import Assistant
from assistant.models.registry import Registry

LIBRARIAN = Principal(id="ines", role="analyst")
FEATURES = ["books_on_loan", "days_since_last_visit", "fines_owed", "has_student_card", "is_senior", "branch"]


def write_library_model(folder: Path) -> Path:
    rng = np.random.default_rng(11)
    n = 900
    frame = pd.DataFrame({
        "borrower_no": [str(100 + i) for i in range(n)],
        "books_on_loan": rng.integers(0, 15, n),
        "days_since_last_visit": rng.integers(0, 200, n),
        "fines_owed": rng.gamma(1.5, 4.0, n).round(2),
        "has_student_card": rng.integers(0, 2, n),
        "is_senior": rng.integers(0, 2, n),
        "branch": rng.choice(["Central", "Riverside", "Hillcrest"], n),
    })
    logit = (0.18 * frame.books_on_loan + 0.012 * frame.days_since_last_visit + 0.08 * frame.fines_owed
             + 0.6 * frame.has_student_card - 0.7 * frame.is_senior + (frame.branch == "Riverside") * 0.5 - 2.6)
    frame["overdue"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    pipe = Pipeline([
        ("pre", ColumnTransformer([("num", StandardScaler(), FEATURES[:5]),
                                   ("cat", OneHotEncoder(handle_unknown="ignore"), ["branch"])])),
        ("clf", LogisticRegression(max_iter=500)),
    ]).fit(frame[FEATURES], frame["overdue"])
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipe, folder / "model.joblib")
    frame.iloc[:600].drop(columns="overdue").to_csv(folder / "borrowers.csv", index=False)
    frame.iloc[600:].to_csv(folder / "reference.csv", index=False)
    (folder / "model.yaml").write_text(textwrap.dedent("""\
        id: library-overdue
        name: Overdue returns
        owner: Lending Services
        task: binary_classification
        artifact: model.joblib
        positive_label: late return
        features:
          - {name: books_on_loan, type: numeric, description: Books currently on loan}
          - {name: days_since_last_visit, type: numeric, unit: days, description: Days since the last branch visit}
          - {name: fines_owed, type: numeric, unit: USD, description: Unpaid fines}
          - {name: has_student_card, type: boolean, description: Holds a student card}
          - {name: is_senior, type: boolean, description: Senior borrower (65 or older)}
          - {name: branch, type: categorical, values: [Central, Riverside, Hillcrest], description: Home branch}
        records: {path: borrowers.csv, id_column: borrower_no, entity: borrower}
        reference: reference.csv
        target_column: overdue
        risk_tiers:
          - {name: Green, max: 0.25, action: Nothing to do}
          - {name: Amber, max: 0.5, action: Send a reminder before the due date}
          - {name: Red, max: 1.0, action: Phone the borrower}
        """))
    return folder


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Assistant:
    folder = write_library_model(tmp_path_factory.mktemp("library") / "library-overdue")
    return Assistant(Registry([folder.parent]))


def calls(answer) -> list[tuple[str, dict]]:
    return [(c.name, c.arguments) for c in answer.tool_calls]


def test_the_schema_is_new_to_the_training_corpus():
    words = " ".join(f"{s['id']} {s.get('entity', '')} {s.get('name', '')}" for s in load_schemas()).lower()
    assert "library" not in words and "borrower" not in words


def test_plain_integer_ids_with_the_entity_noun_or_none(library):
    assert calls(library.answer("what tier is borrower 412 in?", LIBRARIAN)) == \
        [("predict", {"model_id": "library-overdue", "record_id": "412"})]
    assert calls(library.answer("top 2 reasons for 412", LIBRARIAN)) == \
        [("explain", {"model_id": "library-overdue", "record_id": "412", "top_k": 2})]


def test_follow_ups_reuse_the_record_and_what_ifs_build_on_each_other(library):
    session = "library-follow-ups"
    first = library.answer("is borrower 150 likely to return late?", LIBRARIAN, session_id=session)
    assert calls(first) == [("predict", {"model_id": "library-overdue", "record_id": "150"})]
    why = library.answer("why?", LIBRARIAN, session_id=session)
    assert calls(why)[0][0] == "explain" and calls(why)[0][1]["record_id"] == "150"
    what_if = library.answer("what if they owed $10 more in fines?", LIBRARIAN, session_id=session)
    assert calls(what_if) == [("what_if", {"model_id": "library-overdue", "record_id": "150",
                                           "changes": {"fines_owed": {"increase": 10}}})]
    both = library.answer("and if they also had 3 books on loan?", LIBRARIAN, session_id=session)
    assert calls(both)[0][1]["changes"] == {"fines_owed": {"increase": 10}, "books_on_loan": 3}


def test_flags_named_by_meaning_are_cohort_filters_on_every_operation(library):
    seniors = library.answer("how many seniors are in the red tier?", LIBRARIAN)
    assert calls(seniors) == [("predict", {"model_id": "library-overdue",
                                           "filters": [{"feature": "is_senior", "op": "==", "value": 1}]})]
    non_seniors = library.answer("which inputs matter most for non-seniors?", LIBRARIAN)
    name, args = calls(non_seniors)[0]
    assert name == "feature_importance" and args["filters"] == [{"feature": "is_senior", "op": "==", "value": 0}]
    assert non_seniors.tool_calls[0].result["filters"]  # measured on that segment, and said so
    accuracy = library.answer("how accurate is the model for borrowers at Riverside?", LIBRARIAN)
    assert calls(accuracy) == [("performance", {"model_id": "library-overdue",
                                                "filters": [{"feature": "branch", "op": "==", "value": "Riverside"}]})]


def test_compound_question_gets_both_calls(library):
    answer = library.answer("what tier is borrower 230 in and why?", LIBRARIAN)
    assert sorted(name for name, _ in calls(answer)) == ["explain", "predict"]
    assert {args["record_id"] for _, args in calls(answer)} == {"230"}


def test_a_described_borrower_is_scored_as_a_new_case(library):
    answer = library.answer("what tier would a senior with 6 books on loan and $12 in fines get?", LIBRARIAN)
    (name, args), = calls(answer)
    assert name == "predict" and "record_id" not in args
    assert args["inputs"] == {"is_senior": 1, "books_on_loan": 6, "fines_owed": 12}
    assert answer.tool_calls[0].result["tier"] in {"Green", "Amber", "Red"}
    assert "described case" in answer.text


def test_the_pages_model_settles_an_id_two_models_share(tmp_path):
    # Two models scoring the same borrowers is normal: the id alone cannot say which one is meant.
    first = write_library_model(tmp_path / "models" / "library-overdue")
    second = write_library_model(tmp_path / "models" / "library-overdue-v2")
    spec = yaml.safe_load((second / "model.yaml").read_text())
    (second / "model.yaml").write_text(yaml.safe_dump({**spec, "id": "library-overdue-v2", "name": "Overdue returns v2"}))
    both = Assistant(Registry([first.parent]))
    unsure = both.answer("what tier is borrower 412 in?", LIBRARIAN)
    assert not unsure.tool_calls and set(unsure.clarification) == {"library-overdue", "library-overdue-v2"}
    on_page = both.answer("what tier is borrower 412 in?", LIBRARIAN, model_id="library-overdue-v2")
    assert calls(on_page) == [("predict", {"model_id": "library-overdue-v2", "record_id": "412"})]


def test_questions_about_no_model_go_to_the_documents_and_off_topic_gets_the_scope(registry_all, demo_knowledge):
    assistant = Assistant(registry_all, demo_knowledge)
    story = assistant.answer("has anyone ever managed to get a chatbot to leak its hidden instructions?", LIBRARIAN)
    assert [c.name for c in story.tool_calls] == ["search_knowledge"] and story.citations and not story.refused
    recipe = assistant.answer("what's a good recipe for banana bread?", LIBRARIAN)
    assert not recipe.tool_calls and not recipe.refused and "I explain" in recipe.text
    # A story told over two sentences, then a short question about it: one search reads the whole story.
    heard = assistant.answer("I heard a chatbot was tricked into leaking its hidden instructions. Is that real?",
                             LIBRARIAN)
    (name, args), = calls(heard)
    assert name == "search_knowledge" and "leaking its hidden instructions" in args["query"] and "real" in args["query"]


@pytest.fixture(scope="module")
def library_by_meaning(library) -> Assistant:
    """The same model, with the shared sentence model reading inputs named in other words."""
    from assistant.conversation.meaning import FeatureMeaning
    from assistant.conversation.planner import RulePlanner
    from knowledge.embedder import Embedder

    return Assistant(library.registry, planner=RulePlanner(library.registry, meaning=FeatureMeaning(Embedder())))


@pytest.mark.parametrize("question, changes", [
    ("what if 150 owed 10 more in penalties?", {"fines_owed": {"increase": 10}}),
    ("what if 150 had 4 more books out?", {"books_on_loan": {"increase": 4}}),
    ("what if 150 got a university card?", {"has_student_card": 1}),
])
def test_inputs_named_in_other_words_are_found_by_meaning(library, library_by_meaning, question, changes):
    assert calls(library_by_meaning.answer(question, LIBRARIAN)) == \
        [("what_if", {"model_id": "library-overdue", "record_id": "150", "changes": changes})]
    # Without the sentence model the same words name nothing, and the assistant asks what to change.
    assert calls(library.answer(question, LIBRARIAN)) == []


def test_words_that_name_no_input_are_not_forced_onto_one(library_by_meaning):
    answer = library_by_meaning.answer("what if 150 was in a better mood?", LIBRARIAN)
    assert calls(answer) == [] and "change" in answer.text.lower()


def test_initials_stand_for_the_registrys_multi_word_names(library):
    assert calls(library.answer("what if 150 got an SC?", LIBRARIAN)) == \
        [("what_if", {"model_id": "library-overdue", "record_id": "150", "changes": {"has_student_card": 1}})]
    # Everyday abbreviations keep their meaning.
    assert "SC" not in library.planner._expand_initials("is the AI model ok?")


def test_a_case_described_over_several_sentences_is_scored_not_asked_for_an_id(library):
    answer = library.answer("Someone not on file yet: 6 books on loan, $12 in fines, Riverside branch. "
                            "What tier would that be?", LIBRARIAN)
    (name, args), = calls(answer)
    assert name == "predict" and args["inputs"] == {"books_on_loan": 6, "fines_owed": 12, "branch": "Riverside"}
    assert "which borrower" not in answer.text.lower()


def test_a_flag_named_after_instead_of_is_the_old_value(library):
    assert calls(library.answer("what if 150 had a regular card instead of a student card?", LIBRARIAN)) == \
        [("what_if", {"model_id": "library-overdue", "record_id": "150", "changes": {"has_student_card": 0}})]


def test_a_described_case_states_flags_and_amounts_in_its_own_words(library_by_meaning):
    # "no university card" is the student-card flag, negated, though the case names other inputs.
    answer = library_by_meaning.answer("what tier would a borrower with no university card, $12 in fines and "
                                       "8 books out get?", LIBRARIAN)
    (name, args), = calls(answer)
    assert name == "predict"
    assert args["inputs"] == {"has_student_card": 0, "fines_owed": 12, "books_on_loan": 8}


def test_a_what_if_whose_named_input_carries_no_change_reads_the_rest_by_meaning(library_by_meaning):
    # "branch" names an input but changes nothing; the change is the card.
    assert calls(library_by_meaning.answer("what if 150 had got a university card at their branch?", LIBRARIAN)) == \
        [("what_if", {"model_id": "library-overdue", "record_id": "150", "changes": {"has_student_card": 1}})]


def test_a_business_user_asking_about_probing_gets_the_models_posture(library):
    answer = library.answer("has anyone been probing the overdue returns model?", Principal(id="bo", role="business"))
    assert [name for name, _ in calls(answer)] == ["security_posture"]
    assert "security team only" not in answer.text


def _ids_of(ids: list[str], entity: str = "tenancy"):
    from types import SimpleNamespace

    from assistant.conversation.mentions import RecordIds

    model = SimpleNamespace(id="rent", records=pd.DataFrame(index=pd.Index(ids)), spec=SimpleNamespace(entity=entity))
    return RecordIds([model])


def test_ids_joined_by_slashes_stay_whole_and_other_separators_still_find_them():
    from assistant.conversation.lexicon import normalise

    ids = _ids_of(["ten/2024/0009", "TRB-A7-0003"])
    # Normalising never splits a code or reads its letters as a written number ("ten" → 10).
    assert "ten/2024/0009" in normalise("why is ten/2024/0009 in arrears? and/or later")
    assert "and or" in normalise("and/or")
    for typed, stored in [("ten/2024/0009", "ten/2024/0009"), ("TEN/2024/0009", "ten/2024/0009"),
                          ("trb a7 0003", "TRB-A7-0003"), ("TRB A7-0003", "TRB-A7-0003")]:
        found = ids.find(normalise(f"why is {typed} flagged?"))
        assert [m.record_id for m in found] == [stored], typed


def test_any_amount_is_more_than_none_and_a_request_to_act_on_a_record_is_not_a_model_question(library):
    (name, args), = calls(library.answer("how many borrowers have any fines owed at all?", LIBRARIAN))
    assert name == "data_summary" and {"feature": "fines_owed", "op": ">", "value": 0} in args["filters"]
    answer = library.answer("approve borrower 150 for a new card, please", LIBRARIAN)
    assert calls(answer) == [] and "150" not in answer.text


def test_a_business_user_asking_for_alerts_is_told_who_may_list_them_and_what_they_can_ask(library):
    bo = Principal(id="bo2", role="business")
    for question in ("show me the probing alerts", "which users tripped the guardrails this week?"):
        answer = library.answer(question, bo)
        assert "security team only" in answer.text and "posture" in answer.text, question


@pytest.mark.parametrize("question, factor", [
    ("what if 150 owed twice the fines owed?", 2.0),
    ("what if 150's fines owed were halved?", 0.5),
    ("what if 150's fines owed went up 20%?", 1.2),
])
def test_a_change_stated_as_a_multiple_is_the_new_value_from_the_stored_record(library, question, factor):
    stored = float(library.registry.get("library-overdue").records.loc["150", "fines_owed"])
    (name, args), = calls(library.answer(question, LIBRARIAN))
    assert name == "what_if" and args["record_id"] == "150"
    assert args["changes"]["fines_owed"] == pytest.approx(stored * factor, rel=0.01)


def test_a_flag_added_to_a_what_if_with_too_is_one_more_change_whatever_the_verb(library):
    session = "flag-too"
    library.answer("what if 150 had 4 more books on loan?", LIBRARIAN, session_id=session)
    assert calls(library.answer("and the student card kicked in too", LIBRARIAN, session_id=session)) == \
        [("what_if", {"model_id": "library-overdue", "record_id": "150",
                      "changes": {"books_on_loan": {"increase": 4}, "has_student_card": 1}})]
    # A count asked "too" is still a count, not a change.
    (name, _), = calls(library.answer("how many borrowers have a student card too?", LIBRARIAN, session_id=session))
    assert name == "data_summary"


def test_a_number_after_a_what_if_is_a_value_where_another_model_has_a_record_of_that_number(tmp_path):
    first = write_library_model(tmp_path / "library-overdue")
    second = tmp_path / "branch-overdue"
    second.mkdir()
    for name in ("model.joblib", "reference.csv"):
        (second / name).write_bytes((first / name).read_bytes())
    spec = yaml.safe_load((first / "model.yaml").read_text())
    spec["id"], spec["name"] = "branch-overdue", "Branch overdue returns"
    (second / "model.yaml").write_text(yaml.safe_dump(spec))
    rows = pd.read_csv(first / "borrowers.csv", dtype={"borrower_no": str})
    rows["borrower_no"] = [str(5000 + i) for i in range(len(rows))]   # 5000…: no overlap with 100…
    rows.to_csv(second / "borrowers.csv", index=False)
    both = Assistant(Registry([tmp_path]))
    both.answer("what if 5010 had 20 days since last visit?", LIBRARIAN, session_id="v")
    # 150 is a borrower of the other model, and a value inside this input's range: the value.
    assert calls(both.answer("what about 150?", LIBRARIAN, session_id="v")) == \
        [("what_if", {"model_id": "branch-overdue", "record_id": "5010", "changes": {"days_since_last_visit": 150}})]
    # Outside every value the input takes, it is the other model's borrower.
    assert calls(both.answer("what about 650?", LIBRARIAN, session_id="v")) == \
        [("predict", {"model_id": "library-overdue", "record_id": "650"})]
