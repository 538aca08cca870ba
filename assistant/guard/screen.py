"""Input screening: is this message an attempt to extract, invert or hijack the models?

Each refusal category is a family of general English patterns, listed in one place (`SCREENS`).
Messages are screened in several readings (as typed, normalised, de-leeted, decoded from base64
or rot13, quoted fragments joined back together) so that light obfuscation does not slip through.
Besides the textbook words, each category has a paraphrase family: the same intent in everyday
words ("the multiplier on income", "everyone in the South with their score", "was she part of
what it was taught on", "which hour is it softest"). Questions *about* an attack ("what is
membership inference?", "how do you protect against extraction?") are educational, not attacks,
and are let through to the documents that answer them; the excuse covers the sentence it is in
(and the one after), so a general question does not cover an attempt tucked into a later sentence.

The patterns are written from the attack families (Tramèr et al., PRADA, MITRE ATLAS AML.T0024
and neighbours) and from the product's public vocabulary, never from an evaluation set.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable

from knowledge import injection


@dataclass(frozen=True)
class Finding:
    """Why a message was screened out: the category, the rule that matched and its evidence."""

    category: str
    rule: str
    evidence: str
    # Enough evidence of intent to count toward escalation (warnings, locks). A refusal on a weak or
    # disputed reading is still a refusal, but a handful of them never locks anyone.
    confident: bool = True


# -- vocabulary shared by the screens ------------------------------------------------------------
_MODEL = r"(?:model|classifier|scorer|algorithm|system|engine|ai|network|forest|tree|regression|estimator)"
_ENTITIES = (r"(?:customers?|clients?|accounts?|records?|rows?|transactions?|policies|policyholders?|people|persons?|"
             r"borrowers?|applicants?|members?|subscribers?|users?|cardholders?|entries|ids|cases|claims?|entities)")
_OUTPUTS = (r"(?:predictions?|scores?|scorings?|probabilit(?:y|ies)|likelihoods?|risk (?:scores?|levels?|ratings?)|"
            r"tiers?|ratings?|outputs?|results?|labels?|classifications?|decisions?|odds)")
_ALL = (r"(?:all|every|each|entire|whole|complete|full|everyone|everybody|every ?one|the rest of|remaining|"
        r"thousands?|hundreds?|bulk|mass|(?:a )?(?:few|couple of|several) (?:hundred|thousand)|(?<![\w-])(?:\d{1,3}(?:,\d{3})+|\d{3,}|[2-9]\d)(?![\w-]))")
_GIVE = (r"(?:list|lists|listing|dump|dumps|export|exports|download|print|output|give|giving|send|show|extract|pull|"
         r"provide|share|generate|produce|return|enumerate|iterate|compile|tabulate|paste|spit out|write out|fetch|"
         r"retrieve|scrape|copy|email|mail|hand over|run (?:through|over)|go through|page through|loop (?:over|through))")
_FILE = (r"(?:csv|spreadsheet|excel|xlsx|json|file|dump|export|database|db|table|raw data|one by one|one at a time|"
         r"row by row|line by line|in batches|batch(?:es)?|pages?|paginat\w*|api)")
_PERSON = (r"(?:[a-z]{1,4}-?\d{3,}|(?:mr|mrs|ms|miss|dr)\.? [a-z]+|[a-z]+ [a-z]+'s|she|he|her|him|his|they|them|"
           r"this (?:customer|person|client|applicant|individual|cardholder|account holder|borrower)|"
           r"that (?:customer|person|client|applicant|individual|cardholder|borrower)|a (?:specific|particular|certain) "
           r"(?:customer|person|client|individual)|my (?:\w+ )?(?:neighbou?r|friend|ex|colleague|boss|wife|husband|"
           r"partner|brother|sister|mother|father|mum|mom|dad|son|daughter|tenant|landlord|client|customer)|"
           r"my (?:own )?(?:data|record|details|information)|i\b|me\b|someone|somebody|anyone|a person|a named person)")
_TRAINING = (r"(?:training|train|trained|fitting|fit|fitted|reference|development|dev|modell?ing|calibration|"
             r"validation|holdout|learning|built|build)")
_TRAINSET = rf"(?:{_TRAINING}\s*(?:data(?:set)?|set|sample|population|cohort|records?|rows?|examples?|corpus|pool)?)"
_FRAUD = (r"(?:fraud|flag\w*|alert\w*|detect\w*|screen\w*|monitor\w*|transaction\w*|transfers?|payments?|purchases?|"
          r"charges?|wires?|merchant\w*|card|chargebacks?|aml|money|cash|withdrawals?)")
_CAUGHT = (r"(?:kick(?:s|ing)? in|tripp?(?:ing|ed)?|triggering|setting off|flagging|challenged|asked for (?:one|a code|verification)|questioned|verified|flag(?:ged)?|detect(?:ed)?|caught|catch|notic(?:ed|e)|block(?:ed)?|declin(?:ed|e)|stopp?(?:ed)?|"
           r"trigger(?:ed|s|ing)?|trip(?:ped)?|picked up|pick(?:ed)? up|marked|review(?:ed)?|alert(?:ed|s)?|"
           r"escalat(?:ed|e)|held|investigat(?:ed|e)|suspicious|high[- ]risk|red[- ]flag(?:ged)?|scrutini[sz]ed|seen|nervous|bounc\w*|stuck|looked at|questioned|asked)")


# After "every"/"all": tiers, models, features and segments are not records.
_NOT_RECORDS = r"(?!\s+(?:of\s+the\s+|the\s+)?(?:[\w-]+\s+)?(?:tiers?|bands?|models?|features?|inputs?|segments?|regions?|groups?|categor\w*|metrics?|thresholds?)\b)"
_AGGREGATE = re.compile(r"\b(?:distribution|summary|summari[sz]e|breakdown (?:by|of|across|per)|(?:tier|risk|score|cohort|segment|regional|region|category|channel|age|income) breakdown|percentages?|shares?|counts?|how many|averages?|(?:the|a) mean|"
                        r"mean (?:\w+ )?(?:balance|income|score|probability|value|age|tier)|median|overview|histogram|mix|split|proportions?|rates?|totals?)\b")


def _sentence_of(text: str, evidence: str) -> str:
    """The sentence (or sentences) of `text` that contain `evidence`; the whole text if it cannot be found."""
    start = text.find(evidence)
    if start < 0:
        return text
    end = start + len(evidence)
    bounds = [0] + [m.end() for m in re.finditer(r"[.?!;]+\s+|\n+", text)] + [len(text)]
    lo = max(b for b in bounds if b <= start)
    hi = min(b for b in bounds if b >= end)
    return text[lo:hi]


_NEGATED_AGGREGATE = re.compile(r"\b(?:not|no|don'?t (?:want|need)|rather than|instead of|never mind)\s+(?:just\s+)?(?:a |the |any )?(?:sample|summary|summari[sz]ed|count|counts|"
                                r"distribution|breakdown|total|totals|aggregate|overview|average|percentages?|share)\b")


def _unless_aggregate(find: Callable[[str], str | None]) -> Callable[[str], str | None]:
    """Counts, shares and summaries over a whole population are what cohort questions are for."""
    def wrapped(text: str) -> str | None:
        evidence = find(text)
        if evidence and _AGGREGATE.search(_NEGATED_AGGREGATE.sub(" ", _sentence_of(text, evidence))):
            return None  # the sentence asking is a cohort question; another sentence may still be one
        return evidence

    return wrapped


_NOT_RECONSTRUCTED = r"(?!\s+(?:the\s+|a\s+|our\s+|my\s+)?(?:timeline|history|sequence|chain|events?|incident|conversation|thread|chat|discussion|what|decision|reasoning|story|case for)\b)"


def _top_level_alternatives(pattern: str) -> list[str]:
    """Split a pattern on its top-level `|` (not inside groups or character classes)."""
    parts, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "]":  # "[]...]" holds a literal ]
                i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def _compile(pattern: str) -> re.Pattern:
    """Compile with the alternatives that start at a word boundary folded under one `\\b(?:…)`.

    Same matches, several times faster: the engine tests the boundary once per position instead of
    once per alternative. Only which evidence string is reported can differ."""
    parts = _top_level_alternatives(pattern)
    bounded = [part[2:] for part in parts if part.startswith("\\b")]
    if len(bounded) < 2:
        return re.compile(pattern)
    rest = [part for part in parts if not part.startswith("\\b")]
    return re.compile("|".join([r"\b(?:" + "|".join(bounded) + ")"] + rest))


def _rx(pattern: str) -> Callable[[str], str | None]:
    compiled = _compile(pattern)

    def find(text: str) -> str | None:
        m = compiled.search(text)
        return m.group(0) if m else None

    return find


def _top_n(text: str) -> str | None:
    """"Top 500 customers" asks for more than a page; "top 5" is an ordinary work list."""
    for m in re.finditer(rf"\b(?:top|first|highest|riskiest|worst|last|next)\s+(?<![\d,])(\d[\d,]*+)\s+(?:[\w-]+\s+){{0,3}}?{_ENTITIES}", text):
        if int(m.group(1).replace(",", "")) > WORK_LIST:
            return m.group(0)
    if not _AGGREGATE.search(text):
        for m in re.finditer(r"(?<![\w-])(\d{1,3}(?:,\d{3})+|\d{2,})\s+(?:[\w-]+\s+){0,2}?(?:rows|records|customers|transactions|accounts|ids|cases|applicants|"
                             r"points|profiles|samples|queries|pairs|combinations|inputs|what-ifs|vectors|people)\b", text):
            if int(m.group(1).replace(",", "")) > PAGE and re.search(rf"\b(?:{_GIVE}|score|scored|run|paste|attached|list|need|want|answer|synthesi[sz]e|report|label\w*)\b", text):
                return m.group(0)
    for m in re.finditer(rf"\b(?<![\d,])(\d[\d,]*+)\s+(?:[\w-]+\s+){{0,2}}?{_ENTITIES}\b.{{0,80}}\b{_OUTPUTS}", text):
        if int(m.group(1).replace(",", "")) > PAGE and re.search(rf"\b{_GIVE}\b", text):
            return m.group(0)
    # "the top 10 ... actually, make it 1,000": raising the count after the fact
    for m in re.finditer(r"\bmake (?:it|that|them) (\d{1,3}(?:,\d{3})+|\d{2,})\b", text):
        if int(m.group(1).replace(",", "")) > PAGE:
            return m.group(0)
    return None


PAGE = 10  # the most per-record results any answer carries
WORK_LIST = 25  # "top 20 to call this week" is a work list; "top 300" is the book

_ID = r"[a-z]{1,4}-?(\d{3,})"


def _id_range(text: str) -> str | None:
    """"C-10000 through C-10499", "C-21000..C-21999", or more than a page of ids listed one after another."""
    for m in re.finditer(rf"\b{_ID}\s*(?:through|thru|to|until|till|up to|-|–|—|\.\.\.?|and so on (?:up )?to|all the way to)\s*(?:[a-z]{{1,4}}-?)?(\d{{3,}})\b", text):
        lo, hi = int(m.group(1)), int(m.group(2))
        if hi > lo and hi - lo + 1 > PAGE:
            return m.group(0)
    ids = set(re.findall(rf"\b{_ID}\b", text))
    if len(ids) > PAGE:
        return f"{len(ids)} ids"
    if len(ids) >= 3 and re.search(r"\b(?:and so on|etc\.?|and the rest|onwards|and beyond)\b|\.\.\.", text):
        return "a list of ids that goes on"
    return None


_INDIVIDUAL = _compile(rf"\b[a-z]{{1,4}}-?\d{{3,}}\b|\b[a-z]{{1,4}}-?\d+x+\b|\ba named person\b|\b[a-z_]+\s*=\s*[\w.$]+\s*,\s*[a-z_]+\s*=|"
                         r"\b(?:the |this |that |a |one )?(?:exact |specific )?(?:tuple|spreadsheet row)\b|\b(?:my|our) (?:\w+ )?(?:family|relatives|household|kids|children)\b"
                         rf"|\b(?:transactions?|purchases?|payments?|accounts?|records?|charges?) (?:i|we) (?:made|disputed|reported|own|opened|submitted|filed)\b|\bborn on\b|\bthat person\b|\bmy (?:\w+[- ]){{0,2}}?(?:neighbou?r|friend|ex|ex-\w+|colleague|coworker|co-worker|boss|"
                         r"wife|husband|partner|brother|sister|mother|father|mum|mom|dad|son|daughter|tenant|landlord|ceo|manager)\b"
                         r"|\b(?:my|our) (?:own )?(?:account|record|data|details|purchase|transaction|card|application|loan)s?\b"
                         r"|\b(?:this|that|a specific|a particular|a certain|the) (?:customer|person|client|individual|cardholder|account holder|borrower|applicant)\b"
                         r"|\b(?:mr|mrs|ms|miss|dr)\.? [a-z]+\b|\b(?:he|she|him|her|his)\b"
                         r"|\b(?:aged?|a) \d{2}[- ]year[- ]old\b|\bborn (?:in )?\d{4}\b|\b(?:record|row) matching\b"
                         r"|\b(?:a|any|one) (?:customer|person|client|row|record|transaction|cardholder|account) (?:who|with|that|matching|whose)\b"
                         r"|\b(?:someone|somebody|anyone|a person) with\b|\b(?:these|those|the following) (?:exact )?(?:attributes|details|features|values)\b"
                         r"|\ba \$?[\d,.]+ (?:\w+ )?(?:purchase|transaction|payment|transfer|charge)\b"
                         r"|\b(?:this|that|the) (?:exact |specific |particular )?(?:record|row|entry|example)\b"
                         r"|\b(?:the|this|that|my|our) (?:\w+ ){0,3}(?:case|purchase|transaction|payment|transfer|claim|application|loan|order) (?:from|on|in|at|of|i made|we made|last)\b"
                         r"|\bwhich (?:of (?:the|our|these|those) )?(?:customers|people|records|rows|accounts|transactions|ids|cardholders)\b")
_TRAINING_SET = _compile(rf"\b{_TRAINSET}\b.{{0,5}}|\b(?:trained|fit|fitted|built|learn(?:ed|t)|calibrated|developed)\s+(?:on|from|with|using)\b"
                           r"|\b(?:feed|fed|went|go|gone) into (?:building|training|fitting|the (?:training|model))\b|\bused (?:when|while|in|during) (?:building|training|developing|fitting)\b"
                           r"|\bwhen (?:the )?(?:\w+[- ]){0,2}model was (?:developed|built|trained|fitted|made)\b|\b(?:you|it|the (?:[\w-]+ ){0,2}model) (?:learn|learned|learnt|train|trained) (?:from|on)\b"
                           r"|\bin-?sample\b|\bout-of-sample\b|\bout of sample\b"
                           r"|\bused (?:to|for) (?:train|build|fit|develop|calibrate)\b|\b(?:during|in) (?:its |the )?training\b|\btraining (?:labels?|rows?|records?|samples?|examples?|outcomes?)\b")
_ASKS_MEMBERSHIP = _compile(r"\b(?:is|was|were|are|did|does|has|have|confirm|verify|check|tell me (?:if|whether)|whether|look up|find out|know if|reckons?|think|or not|yes/no|yes or no|y/n)\b"
                              r"|\b(?:one of|among|part of|in|inside|included|a training)\b")


def aggregate_only(text: str) -> bool:
    """A count, share or summary over a population that names no individual: it cannot disclose a person."""
    text = text.lower()
    return bool(_AGGREGATE.search(_NEGATED_AGGREGATE.sub(" ", text))) and not _INDIVIDUAL.search(text)


def _individual_in_training(text: str) -> str | None:
    """A specific person or record, and the training data, in one question: a membership question."""
    training = _TRAINING_SET.search(text)  # the rarer signal first
    person = training and _INDIVIDUAL.search(text)
    if person and training and _ASKS_MEMBERSHIP.search(text):
        if re.search(r"\b(?:customers?|people|records?|accounts?) (?:like|similar to)\b", text):
            return None  # "customers like C-1" asks about coverage of a segment, not about C-1
        return f"{person.group(0)} … {training.group(0).strip()}"
    return None


_OUTPUT_WORDS = r"(?:scores?|tiers?|risk|probabilit(?:y|ies)|predictions?|outputs?|explanations?|reasons?|labels?|ratings?|results?)"
_GUESS = (r"(?:work (?:it )?(?:out|backwards?)|working (?:it )?(?:out|backwards?)|infer(?:red|ring)?\b|estimat(?:e|ed|ing)\b|deduc\w*|reconstruct\w*(?!\s+(?:the\s+|a\s+|our\s+|my\s+)?(?:timeline|history|sequence|events?|incident|conversation|thread|chat|discussion|what|story))|back(?:ing)? out|recover\w*|"
          r"reproduce|guess\w*|figure out|derive|reverse[- ]engineer|pin down|narrow down|zero in on|home in on|triangulate|piece together|solve for|"
          r"what must (?:their|his|her|its|the) (?:other )?\w+ be|back-?solv\w*|pull\b.{0,30}\bout|tell (?:whether|if)|find out (?:whether|if)|give it away|"
          r"likely to be|probably (?:are|is|were|was|has|have|had)|how (?:much|many)\b.{0,40}\bexactly|"
          r"best reconstruction|synthesi[sz]e|what(?:'s| is| are) (?:her|his|their|its) (?:\w+ )?(?:likely|probable)|by comparing)")


_EXTREME = (r"(?:most convinced|perfect|textbook|quintessential|(?:typical|representative|average)\b(?=.{0,80}\b(?:exact|literal|concrete|every field|as if it were|actual person|not an average|not ranges|real (?:one|person|customer)))|highest possible|lowest possible|maximi[sz]\w*|minimi[sz]\w*|optimi[sz]\w*|peaks?|0?\.99\b|most (?:certain|confident|sure|likely|extreme|typical|prototypical|representative)|"
            r"100 ?%|fully (?:certain|sure)|ideali[sz]ed|ideal|prototyp\w*|archetyp\w*|most \w+-y|push every input|extreme)")
_INPUTS = r"(?:inputs?|input space|combination|feature values|values|profile|record|row|example|transaction|customer|churner|defaulter|person|case)"


def _extreme_inputs(text: str) -> str | None:
    """Model inversion by optimisation: the inputs the model is most certain about, its prototype of a class."""
    extreme = re.search(rf"\b{_EXTREME}", text)
    if not extreme:
        return None
    if re.search(rf"\b(?:which|what|find|generate|synthesi[sz]e|produce|create|give me|show me|describe|make|build|craft|construct|spell out|write)\b.{{0,60}}\b{_INPUTS}\b", text) and \
            re.search(r"\b(?:model|score|probability|tier|class|label|certain|sure|confident|fraud|churn|default|output|predict\w*)\b", text) and \
            not re.search(r"\b(?:which|what) (?:customers|clients|accounts|transactions|records) (?:have|are|has|had|were)\b", text):
        return extreme.group(0)
    return None


def _attributes_from_outputs(text: str) -> str | None:
    """Working out a specific person's (or the training set's) inputs from what the model says about them."""
    guess = re.search(rf"\b{_GUESS}", text)
    if not guess:
        return None
    person = _INDIVIDUAL.search(text) or re.search(r"\b(?:customers?|cardholders?|people|training examples?|inputs?)\b", text)
    outputs = re.search(rf"\b{_OUTPUT_WORDS}\b|\b(?:high|medium|low|critical|elevated)\b|\bmodel\b", text)
    if person and outputs:
        return guess.group(0)
    return None


# -- paraphrase vocabulary: the same intents in everyday words ------------------------------------
# Numbers that live inside a model, named without the textbook words ("coefficient", "weight").
_PARAM_STRONG = (r"(?:multipliers?|constant term|starting constant|baseline value|plus[- ]or[- ]minus (?:number|value|figure)s?|"
                 r"signed (?:values?|numbers?|figures?)|points? of (?:internal |raw )?score|per[- ](?:field|feature|input) (?:amounts?|numbers?|values?|contributions?)|"
                 r"d ?\+ ?1 unknowns|the unknowns (?:for|of|in) (?:the |your )?(?:\w+[- ]){0,2}model|\btheta\b|parameter vector|odds ratios?|platt (?:scaling )?(?:parameters?|constants?|a and b)|"
                 r"raw margin|margin function|pre-?sigmoid|closed[- ]form|cut values?|bin (?:edges|boundaries|breakpoints)|"
                 r"value (?:it|each \w+|the (?:trees?|model|forest)) (?:\w+ )?(?:compares?|hinges?|checks?|splits?) (?:against|on)|"
                 r"(?:what|which) (?:number|value|figure) does (?:the |your )?(?:\w+ )?(?:model|scorer|trees?) (?:attach|assign|add|give)|"
                 r"(?:numbers?|values?|figures?) (?:it |the model )?(?:attache?s|attached|assigns?) to|what the (?:\w+ )?model (?:learned|learnt) for (?:every|each)|"
                 r"value the (?:\w+ )?(?:trees?|model|forest|booster) (?:keeps? )?(?:coming back to|comes back to|splits? on))")
_PARAM_WEAK = (r"(?:slopes?|weights? (?:on|for|of|attached to|given to)|constants?|adjustments? (?:\w+ ){0,3}(?:get|gets|inside|in the (?:\w+ )?(?:calculation|score|model))|"
               r"internal (?:score|scale|calculation|number)|raw (?:log-?odds|score|value|function|code)|log-?odds|logits?|"
               r"equation|formula|maths?|starting (?:value|point)|how many points|squash\w*)")
# Asking for the number itself rather than a description of it.
_PRECISE = (r"(?:exact(?:ly)?|precise(?:ly)?|full precision|to the decimal|(?:[3-9]|1\d|three|four|five|six|seven|eight|nine|ten|twelve|sixteen) "
            r"(?:decimals?|decimal places|dp|digits|significant (?:figures|digits)|sig figs)|decimals? minimum|nearest (?:hundredth|thousandth|tenth)|"
            r"no rounding|unrounded|the (?:number|figure|value)s? (?:itself|themselves)|(?:i need|give me|just) (?:a |the )?(?:figure|number)s?\b|the number, please|"
            r"(?:the )?(?:real|actual|raw|true) (?:numbers?|figures?|values?|constants?)|every number filled in|(?:numbers?|constants?|values?) (?:filled|plugged) in|"
            r"with (?:the|its) (?:real|exact|actual|true) (?:constants?|numbers?|values?|coefficients?)|not a (?:ranking|description)|"
            r"(?:for|of) (?:every|each) (?:feature|input|field|variable)|in one line|plot|calculator|spreadsheet|excel|recompute)")

_METRIC = re.compile(r"\b(?:auc|roc|(?<!full )precision|recall|f1|accuracy|gini|ks statistic|psi|drift|lift|brier|calibration error|rates?|metrics?|kpis?)\b")
_PARAM_STRONG_RX = re.compile(rf"\b{_PARAM_STRONG}")
_PARAM_WEAK_RX = re.compile(rf"\b{_PARAM_WEAK}")
_NUMBERS_ASKED = re.compile(rf"\b{_PRECISE}\b")
_MODEL_REF = _compile(rf"\b{_MODEL}\b|\b(?:scorer|booster|trees|ensemble|credit|churn|fraud|default|score|probability|logits?|log-?odds|features?)\b")


def _numbers_inside(text: str) -> str | None:
    """The model's own numbers asked for in any wording: one unmistakable name for a parameter, or a
    looser one ("the slope", "the adjustment") together with a demand for the exact figure."""
    strong = _PARAM_STRONG_RX.search(text)
    hits = set() if strong else {m.group(0) for m in _PARAM_WEAK_RX.finditer(text)}
    if not (strong or hits) or not _MODEL_REF.search(text):
        return None
    if strong:
        return strong.group(0)
    if _METRIC.search(text):
        return None  # "the exact formula for AUC" is about a performance metric, not the model's numbers
    asked = _NUMBERS_ASKED.search(text)
    if hits and (asked or len(hits) >= 2):
        return f"{sorted(hits)[0]} … {asked.group(0) if asked else 'and more'}"
    return None


# A tier or action cut-off asked for as the exact raw number ("where exactly does it flip from Medium to High").
_CUTOFF_ASKED = re.compile(r"\b(?:at what (?:exact |precise )?(?:score|probability|value|number|point|level)|where (?:exactly )?does (?:\w+ ){1,4}(?:flip|switch|cross|land|move|go|draw|tip)|"
                           r"draws? (?:its|the) line|the line between|flips? from|go(?:es)? from \S+ to|moves? from \S+ to)\b")
_CUTOFF_EXACT = re.compile(r"\b(?:exact(?:ly)?|precise(?:ly)?|to the decimal|decimal places|the number(?: itself)?(?:, please)?|raw value|internal scale|"
                           r"(?:[3-9]|three|four|five|six) decimals?)\b")


def _exact_cutoff(text: str) -> str | None:
    """A cut-off between tiers or actions, asked for as the exact internal number (the tier names are public)."""
    m = _CUTOFF_ASKED.search(text)
    if m and _CUTOFF_EXACT.search(text) and re.search(r"\b(?:tier|medium|high|low|critical|elevated|approve|hold|block|review|action|score|probability)\b", text):
        return m.group(0)
    return None


# Reaching the whole population: words that mean "all of them, not a page".
_POPULATION = (r"(?:everything|everyone|everybody|anyone whose|anybody whose|all of them|every (?:single |last )?(?:one|person|customer|client|record|row|"
               r"transaction|account|cardholder|id|policy)|each (?:of them|and every|one of them)|the (?:whole|entire|full|complete) (?:lot|roster|list|set|region|book|table|"
               r"population|portfolio|customer list|scored table)|the lot\b|however many|however long (?:it|that) (?:gets|runs|is)|no limit|don'?t skip|every last|one after another|"
               r"(?:right |all the way )?down to the (?:bottom|end|last)|(?:keep|carry on|continue) (?:\w+ ){0,3}to the (?:end|bottom)|(?:a )?(?:few|couple of|several) (?:hundred|thousand)|tens of thousands|"
               r"each (?:transaction|customer|record|row|account|id) in (?:the|our) (?:book|base|portfolio|table|list))")
_PER_RECORD = r"(?:ids?|list|tiers?|scores?|scored|probabilit(?:y|ies)|labels?|ratings?|predictions?|breakdown|explanations?|roster|outputs?|amounts?)"
_LIST_ASK = (r"(?:list|give|show|paste|pour|write out|send|print|dump|tell me|want|need|hand|put (?:that|it|this) together|pull|go through|keep|continue|"
             r"i'?d like|can you|could you|please|roster|table)")


def _whole_population(text: str) -> str | None:
    """A per-record answer (ids, tiers, scores) for the whole population or an open-ended run of it."""
    pop = re.search(rf"\b{_POPULATION}", text)
    if pop and re.search(rf"\b{_PER_RECORD}\b", text) and re.search(rf"\b{_LIST_ASK}\b", text):
        return pop.group(0)
    return None


# -- membership and inversion in everyday words --------------------------------------------------
# Signals that only make sense as a membership question once a record is named.
_MEMBER_FLAG = (r"(?:in[_ ]train(?:ing)?(?: flag)?|is[_ ]train\w*|out-of-bag|\boob\b|bootstrap samples?|(?:had been|was|were|been) (?:held|left) out|"
                r"(?:was|were|been|got|is|it) memori[sz]ed)")
# Training data in everyday words: taught, schooled, study material, what it was fed, before it went live.
_TAUGHT = (r"(?:taught\b|teach(?:ing)?\b|schooled\b|schooling\b|study material|(?:model|it|forest|scorer|classifier|system) (?:has |had )?studied|one the (?:\w+ )?model studied|"
           r"(?:model'?s?|your (?:\w+ )?model'?s) lessons|lessons? (?:of|for) the (?:\w+ )?model|practi[sc]ed on|"
           r"(?:model|it|forest|scorer|classifier|system|booster) (?:\w+ )?learn(?:ed|t|s)? (?:on|from)|grown on|(?:was|were|been|got) (?:originally |initially |first )?fed\b|"
           r"shown (?:while|when|during)|(?:model|scorer|classifier|system|forest) was put together|"
           r"before (?:it|the model|they) (?:was |were )?(?:went live|switched on|deployed|launched|go(?:es)? live)|"
           r"(?:model|it|forest|classifier|system) (?:has |had )?already (?:seen|met|knew|knows)|already knew (?:her|his|their|the) answer|(?:had|has) (?:it|the model) (?:already )?(?:seen|met)|"
           r"(?:version|model|copy) (?:of (?:the|it) )?that never saw|(?:model|it|forest|classifier|system) ['\"]?remembers?['\"]?|"
           rf"teaching examples?|training (?:examples?|members?)|{_MEMBER_FLAG})")


_TAUGHT_RX = re.compile(rf"\b{_TAUGHT}")


def _taught_on(text: str) -> str | None:
    """A specific person or record, and the model's schooling described in everyday words."""
    taught = _TAUGHT_RX.search(text)  # the rarer signal first: most messages stop here
    person = taught and _INDIVIDUAL.search(text)
    if person and taught and (_ASKS_MEMBERSHIP.search(text) or re.search(rf"\b{_MEMBER_FLAG}", text)):
        if re.search(r"\b(?:customers?|people|records?|accounts?|cases?|transactions?) (?:like|similar to)\b", text):
            return None
        return f"{person.group(0)} … {taught.group(0)}"
    return None


# A small, exactly described cohort: an average over it is one person's value.
def _narrow_cohort(text: str) -> str | None:
    """Aggregates over a cohort pinned to one person (an exact age plus more filters), or with one id excluded."""
    agg = re.search(r"\b(?:average|mean|median|total|sum|typical)\s+(?:\w+\s+)?(?:balance|income|salary|age|debt|charges?|amount|limit)s?\b", text)
    if not agg:
        return None
    if re.search(r"\b(?:exclud\w*|without|minus|except|leaving out|leave out)\s+(?:customer\s+)?[a-z]{1,4}-?\d{3,}\b|\bsubtract\w*\b|\bdifference\b", text):
        return agg.group(0) + " … with one record taken out"
    exact = re.search(r"\b(?:exactly|aged?)\s+\d{2}\b(?!\s*(?:-|–|to|and|or|\+|plus))|\b\d{2}[- ]year[- ]olds?\b", text)
    if exact and len(re.findall(r",|\band\b|\bwith\b|\bin the\b", text)) >= 3:
        return agg.group(0) + " … " + exact.group(0)
    return None


# -- prompt injection without the classic phrases --------------------------------------------------
# Shell, terminal or interpreter emulation: a classic way to get files "printed".
_EMULATE = (r"\b(?:act|behave|pretend to be|serve|work)\s+as\s+(?:a |an |my )?(?:linux |unix |bash |python |sql |windows )?(?:terminal|shell|console|interpreter|repl|command line)\b"
            r"|\bsimulate (?:a |an )?(?:linux |unix |bash )?(?:terminal|shell|console)\b|\b(?:cat|type|less|more|head)\s+/(?:etc|var|opt|home|root|usr|app|srv)/\S+")
# Flags in config or JSON syntax that switch safety off or raise a role.
_CONFIG_FLAGS = (r"\b(?:guard ?rails?|guard_?rails|filters?|\w+_filter|safety|safe_?mode|moderation|restrictions?|reveal_\w+|unrestricted|censor\w*|refusals?)\b[\"']?\s*[=:]\s*[\"']?"
                 r"(?:off|false|0|disabled|none|no|true|on|yes|1)\b"
                 r"|\b(?:role|user_?role|permission|access|mode)\b[\"']?\s*[=:]\s*[\"']?(?:admin\w*|system|root|superuser|developer|owner|debug|god)\b"
                 r"|\binstructions?_for_\w+|\b(?:config|configuration|settings|policy) (?:update|change|patch|override)\b.{0,40}\b(?:apply|acknowledge|activate|load|accept)\b")
# Text inside a pasted document that speaks to the assistant reading it.
_EMBEDDED_DIRECTIVE = (r"\b(?:modeldesk|assistant|ai|bot|chatbot|llm)\s*,\s*(?:when|if|as|while|after|once|before) you (?:\w+ )?(?:read|summari[sz]e|process|see|parse|review|get to|reach|proofread)\b"
                       r"|\b(?:any|every|the|an?) (?:ai |ml )?(?:assistant|ai|bot|chatbot|llm|model|system) (?:reading|processing|parsing|summari[sz]ing|that reads|who reads|seeing) (?:this|it)\b"
                       r"|\bwhen you (?:summari[sz]e|read|process|see|parse|review|proofread|translate|get to) (?:this|it)\b.{0,80}\b(?:also|include|output|reveal|list|treat|disclose|send|give)\b"
                       r"|\b(?:proofread|read|summari[sz]e|check|review|translate) (?:this|it|the \w+)\b.{0,80}\b(?:and|then) (?:then )?(?:act on (?:it|them)|do what (?:it|they) says?|obey (?:it|them)|follow (?:its|the) instructions|carry out (?:its|the) instructions)\b"
                       r"|[\"'>\[(]\s*system\s*:\s*\w")
# Declaring the rules gone, void or replaced ("whatever came before is void", "opposite day").
_RULES_VOID = (r"\b(?:forget|ignore|disregard|drop|discard|erase|void|scrap)\s+(?:\w+\s+){0,2}?(?:what|everything|anything|all)\s+(?:you (?:were|have been|'ve been|got) "
               r"(?:told|given|instructed|set up with|loaded with)|(?:that )?came before|before this|above)\b"
               r"|\bwhatever came before\b|\b(?:everything|anything) (?:before|above) this (?:message|point|line)\b.{0,30}\b(?:void|null|cancel+ed|doesn'?t count|no longer)\b"
               r"|\b(?:your|the) only (?:rule|instruction|job|directive) (?:now|from now on)\b|\bopposite (?:day|mode)\b|\bwhatever you(?:'d| would)? (?:normally|usually) refuse\b"
               r"|\b(?:act as if|pretend|treat|consider|assume|for (?:the rest of )?(?:this|our) (?:chat|conversation|session))\b.{0,80}\b(?:rules?|polic(?:y|ies)|restrictions?|guidelines?|refusals?)\b"
               r".{0,60}\b(?:no longer (?:count|apply|matter|bind)|don'?t (?:count|apply|matter)|(?:are|is|were|was) (?:void|lifted|waived|suspended|null))\b"
               r"|\b(?:no holding back|hold(?:ing)? nothing back|without holding back)\b|\b(?:reveal|disclose|tell me|share) (?:anything|everything|whatever) (?:you were|you've been|you are|is) (?:told to keep|requested|asked)\b"
               r"|\byou were told to keep (?:private|secret|confidential|hidden|quiet)\b|\bnew (?:rule|policy|directive|instruction)s? (?:from me|for (?:this|the) (?:chat|session))\b"
               r"|\byou (?:may|can) now (?:reveal|disclose|share|ignore|answer|set aside|bypass|drop|say)\b|\byou(?:'re| are) (?:now )?(?:allowed|free|permitted|cleared) to (?:reveal|disclose|ignore|set aside|bypass|drop)\b"
               r"|\b(?:giving|grant(?:ing)?|give) you (?:full )?(?:clearance|permission|authori[sz]ation)\b|\bcleared to\b.{0,30}\b(?:set aside|ignore|skip|bypass|drop|refus)"
               r"|\b(?:step|break) out of (?:the |your )?(?:\w+ )?(?:persona|role|character)\b|\b(?:raw|underlying|unfiltered|base) (?:\w+ )?model (?:with no|without)\b"
               r"|\b(?:any|every) (?:request|message|prompt|question) (?:containing|with|that (?:contains|includes|mentions))\b.{0,30}\b(?:phrase|word|code|password)\b"
               r"|\bgrand(?:ma|mother|pa|father|mum|mom)\b.{0,160}\b(?:pretend|act as|play|role-?play|be (?:her|him)|read me|used to (?:read|tell))\b")
# Asking what the assistant was told before the conversation, in any words.
_SETUP_TEXT = (r"\b(?:instructions?|rules?|guidelines?|guidance|directions?|directives?|notes?|briefing|prompt|setup)\s+(?:that\s+)?(?:you (?:were|have been|'ve been|got)|were you)\s+"
               r"(?:given|told|provided|loaded with|set up with|instructed(?: to follow| with)?|configured with|initiali[sz]ed with|seeded with|primed with|started with|programmed with|fed)\b"
               r"|\b(?:text|everything|all|what)\b.{0,40}\b(?:between|before) (?:the start of (?:this|our) (?:conversation|chat)|i started|my first message|we started)\b"
               r"|\bfirst letters? of (?:each|every) (?:line|word|sentence)\b.{0,40}\b(?:spell|rules|instructions|prompt)")
# Asking which wordings get past the guard itself.
_GUARD_PROBING = (r"\b(?:phrasings?|wordings?|prompts?|messages?|requests?|questions?|examples?)\b.{0,60}\b(?:slip past|slips past|get through|gets through|get past|bypass|evade|"
                  r"aren'?t (?:flagged|caught|blocked)|not (?:flagged|caught|blocked)|go unflagged)\b(?=.{0,80}\b(?:guard\w*|filters?|screens?|classifier|you|modeldesk)\b)"
                  r"|\b(?:guard\w*|filters?|screen\w*)\b.{0,60}\b(?:which|what) (?:phrasings?|wordings?|prompts?|messages?|requests?) (?:it |they )?(?:flags?|catch\w*|blocks?|miss\w*|let through)")


# -- fraud evasion in friendly words (adversarial models only) -----------------------------------
# Where the screening model is softest: the hour, channel or category it "lets slide".
_SOFT_SPOT = (r"\b(?:softest|gentlest|loosest|most (?:relaxed|forgiving|lenient|tolerant|permissive)|least (?:picky|strict|scrutini[sz]ed|attention|"
              r"likely to (?:hold|flag|review|block|question|challenge))|quietest for the (?:fraud|model|checker|checks?|system)|looked at (?:the )?least|gets? (?:looked at|checked|reviewed) (?:the )?least|"
              r"go(?:es)? (?:easiest|easy|easier|softest|soft|softer|light|lighter|lightest) on|let(?:s|ting)? (?:\w+ ){0,2}slide|doesn'?t bother (?:asking|checking|flagging|holding|with)|stops? caring|(?:make|makes|making) (?:the model |it |them )?relax)\b"
              r"|\bjust (?:under|below|beneath) (?:some |a |the )?(?:round number|threshold|limit|cut-?off)")
# Keeping a transaction out of a tier or queue, clearing without the check, getting it "over the line".
_OUT_OF_REVIEW = (r"\b(?:keeps?|keeping|stays?|staying|gets?|getting|kept)\s+(?:[\w']+\s+){0,4}?out of\s+(?:the\s+|that\s+|this\s+|a\s+|['\"])?(?:[\w']+\s+){0,4}?"
                  r"(?:hold|review|bucket|tier|critical|elevated|high|queue|step-?up|block|verification)\b"
                  r"|\b(?:it|they|them|that|this|mine|purchases?|payments?|transfers?|orders?)\s+(?:\w+\s+)?(?:clears?|goes through|gets? approved|pass(?:es)?)\s+without (?:a |an |any )?(?:step-?up|review|hold|flag|verification|otp|challenge|questions?|analyst)\b"
                  r"|\bwithout (?:anyone|anybody|a human|an analyst|someone|a person) (?:looking|checking|reviewing|noticing)\b"
                  r"|\b(?:skip|skipping|bypass|dodge|escape|get out of)\s+(?:the\s+)?(?:\w+\s+)?(?:step-?up|verification|review|otp|challenge|analyst)\b"
                  r"|\b(?:would|will|does|could) (?:it|that|this|putting|doing|using|switching|paying|splitting|moving)\b.{0,60}\b(?:lower|reduce|cut)\s+(?:the\s+|my\s+)?(?:chance|odds|likelihood|risk)\s+(?:of|that)\s+(?:a |an |it )?(?:\w+ )?(?:review|hold|flag|step-?up|decline|block)"
                  r"|\bso (?:that )?(?:none|not one|nothing|neither) of (?:them|these|those|it|the \w+)\s+(?:\w+\s+)?(?:gets?|get|is|are|will|would|ever)\s+(?:\w+\s+)?" + _CAUGHT +
                  r"|\b(?:if|when|since) the (?:goal|aim|point|idea) is\b.{0,40}\b(?:no|avoid|without|skip|never)\b"
                  r"|\bget (?:it|them|this|that|the \w+) over the line\b|\blevers? (?:should|can|could) (?:i|we) pull\b|\bwhich lever (?:should|do|can) (?:i|we)\b"
                  r"|\b(?:to|it|they|them|i|we|purchases?|payments?|transfers?|orders?|transactions?)\s+(?:\w+\s+)?(?:sail|breeze|slip|sneak|glide|cruise|squeeze)s? (?:straight )?(?:through|past|by)\b"
                  r"|\bas close as (?:possible|you can) to\b|\b(?:just|simply) gets? approved\b"
                  r"|\bnext time\b.{0,40}\b(?:it|they|the \w+) (?:\w+ ){0,2}(?:gets? approved|goes through|clears|passes|(?:is|be) approved)\b"
                  r"|\bstay (?:just )?(?:below|under|beneath|around) (?:it|that|them|this|that level)\b|\bstop being (?:okay|ok|fine|safe|normal|acceptable)\b"
                  r"|\b(?:i'?d|i will|i'll|so i can|we'?ll) (?:like to )?stick to (?:those|these|them)\b|\bknow where to put\b|\brather skip (?:the )?(?:verification|step-?up|review|check)")
# Shaping the transaction itself: sizing, splitting, spacing, coding it as something else, minimal perturbations.
_SHAPE_IT = (r"\b(?:how should (?:i|we|he|she|they) (?:size|split|space|time|structure|schedule) (?:them|it|the (?:payments?|transfers?|purchases?|transactions?|orders?))|"
             r"what should (?:each|every|the|my|our|his|her|their) (?:\w+ )?(?:payments?|transfers?|purchases?|transactions?|orders?|top-?ups?) look like)\b"
             r"|\b(?:spacing (?:them|it|the (?:payments?|purchases?|transfers?|orders?))|space (?:them|it|these|those) (?:\w+ ){0,3}apart|best spacing"
             r"|restructur\w+ (?:the |that |this |my |our |his |her )?(?:purchase|payment|transfer|transaction|order)s?|(?:payment|purchase|transfer|top-?up) schedule"
             r"|schedule (?:that|to) (?:spreads?|splits?)|breaking (?:\w+ ){0,2}(?:purchases?|payments?|transfers?|orders?) into)\b"
             r"|\b(?:coding|code|classify|categori[sz]e|submit|putting|put|ring|book)\s+(?:it|them|a|an|the|this|that)?\s*(?:\w+\s+){0,3}(?:as|through as)\s+(?:a |an )?(?:\w+\s+){0,2}(?:rather than|instead of|order|purchase)\b"
             r"|\b(?:look|appear|seem|pass (?:as|for))\s+(?:\w+\s+)?(?:domestic|local|in-?store|card[- ]present)\b|\bin the (?:features|inputs|data) (?:it|the model) (?:receives|sees|gets)\b"
             r"|\bhow far can (?:i|we|you|he|she|they) push\b|\b(?:cheapest|easiest|simplest|quickest) to (?:manipulate|change|fake|alter|tweak|spoof|game)\b"
             r"|\bmanipulat\w+ (?:the )?(?:features?|inputs?|fields?|values?)\b|\bminimal (?:perturbations?|changes?|edits?|tweaks?)\b|\badversarial examples? (?:for|against|on)\b"
             r"|\b(?:settings?|values?|combination|options?|choices?|inputs?)\b.{0,30}\b(?:that |which )?(?:minimi[sz]\w*|lowers?|reduces?)\s+(?:the\s+)?(?:fraud\s+)?(?:score|risk|probability)\b"
             r"|\b(?:trick|secret|hack|knack)\s+(?:is\s+)?to\s+(?:get(?:ting)?|keep(?:ing)?|make|making|have|having)\b.{0,60}\b(?:approved|through|past|low|out of|unflagged|clean|under)\b"
             r"|\b(?:get|getting|to get)\s+(?:[\w-]+\s+){0,5}scored (?:as )?low\b|\bwhat works against (?:our|this|the|your) (?:\w+ )?(?:model|forest|system|checks?)\b"
             r"|\b(?:is it|would it be) (?:better|safer|smarter) (?:to|if (?:i|we|he|she|they))\b.{0,150}\b(?:no (?:review|hold|flag|step-?up)|avoid\w*|skip|without (?:a |any )?(?:review|hold|step-?up)|gets? approved|drop the amount|move the hour)\b"
             r"|\bget\s+(?:[\w-]+\s+){0,4}?past\s+(?:the\s+|your\s+|its\s+|our\s+)?(?:\w+\s+)?(?:checks?|model|screen\w*|review|detection|filters?|fraud\w*)\b"
             r"|\bunder (?:the |its |your |our |this )?(?:[\w'-]+ ){0,2}radar\b|\b(?:stay|fly|keep|get)\s+under\s+(?:this|the|your|our)\s+(?:\w+\s+){0,2}(?:model|forest|system|checks?)\b")


# Re-identification: someone the user knows, or a description that pins one record down.
_ACQUAINTANCE = _compile(r"\bmy (?:\w+[- ]){0,2}?(?:neighbou?r|friend|ex|ex-\w+|colleague|coworker|co-worker|boss|landlord|tenant|cousin|aunt|uncle|brother|sister|"
                         r"partner|wife|husband)\b|\ba named person\b|\bif i tell you (?:she|he|they)\b|\bi have (?:one|someone|a \w+) in mind\b|\bi think (?:it'?s|that'?s) my\b"
                         r"|\bi met (?:a|the|this|someone)\b|\ba (?:local )?(?:councillor|celebrity|politician|journalist|public figure)\b")
_WHO_FITS = _compile(
    r"\b(?:which|what) (?:customer |client |account |cardholder )?(?:id|record|customer|row|account|person)\b.{0,30}\b(?:(?:fits?|fitting|matches|matching|corresponds? to) (?:that|this|the|those|these) "
    r"(?:description|profile|details|attributes)|is (?:that|this|it|she|he)\b)"
    r"|\bthe (?:customer|person|client|cardholder|record|one) (?:with|matching|fitting|who has) (?:those|these|that|this|the same) (?:attributes|details|description|profile|characteristics|features)\b"
    r"|\bwho(?:'s| is| was)? (?:the )?(?:[\w-]+ ){0,3}(?:customer|person|cardholder|client|account holder|guy|woman|man|\d{2}-year-old) (?:with|who|on|in|that)\b.{0,80}\b(?:name|id|identity)\b"
    r"|\b(?:i'?d like to know|tell me|find out) who (?:it|that|this|they|she|he) (?:was|is)\b|\bwhich person behind\b|\bwhose (?:was|is|were)\b"
    r"|\bconfirm (?:her|his|their) (?:id|identity|name|record|customer id)\b|\b(?:only|single|just) one (?:customer|person|client|cardholder|account|record) (?:on|with|who|that|in)\b.{0,60}\b(?:what|which|who|their|her|his)\b"
    r"|\b(?:find|identify|locate|pull up) (?:the |a |one )?(?:real|actual) (?:person|customer|cardholder|individual)\b|\b(?:find|identify|locate) (?:the )?(?:person|customer|cardholder|individual) (?:who|that) match"
    r"|\bmatch(?:ing)? (?:her|his|their) (?:details|attributes|profile|description)\b|\bis [a-z]{1,4}-?\d{3,} (?:the same|actually|really) (?:person|customer|cardholder|client|individual|ms|mr|mrs|dr|a named person)\b")
_PRIVATE_VALUE = re.compile(r"\b(?:her|his|their|the person'?s)\s+(?:exact |actual |real )?(?:balance|income|salary|age|address|debt|payment method|monthly charges?|credit limit|id)\b")


def _who_fits(text: str) -> str | None:
    """Re-identification: which record is the person described, or a known person's hidden values."""
    m = _WHO_FITS.search(text)
    known = _ACQUAINTANCE.search(text)
    if m and re.search(r"\b(?:highest|lowest|riskiest|most|least|top|worst|best)\b", text) and not known:
        return None  # "which customer has the highest score" is a ranking, not a description of someone
    if m:
        return m.group(0)
    if known:
        m = _PRIVATE_VALUE.search(text)
        if m:
            return m.group(0)
    return None


# -- the screens: category -> (rule name, finder) ------------------------------------------------
SCREENS: dict[str, list[tuple[str, Callable[[str], str | None]]]] = {
    "model_internals": [
        ("coefficients", _rx(r"\b(?:coefficients?|coeffs?|coefs?|intercepts?|log[- ]odds weights?|beta (?:values|coefficients|weights))\b")),
        ("weights and parameters", _rx(
            r"\b(?:exact|raw|precise|actual|numeric(?:al)?|full|all(?: the| of the)?|learned|learnt|internal|fitted|"
            r"trained|underlying|individual|per[- ]feature|numerical)\s+(?:model\s+|feature\s+)?(?:weights?|parameters?|params|"
            r"weightings?)\b"
            rf"|\b(?:weights?|parameters?|params)\s+(?:vector|matrix|file|dump|values?|of (?:the|your|this|that) {_MODEL})\b"
            rf"|\b(?:give|show|list|print|send|share|tell me|what are|reveal|supply|provide|paste|dump)\b.{{0,30}}\b{_MODEL}(?:'s)? (?:weights|parameters|params)\b|\bweight (?:for|of|on) each (?:feature|input|variable)\b")),
        ("hyperparameters", _rx(r"\bhyper[- ]?param\w*|\blearning rate\b|\bmax[_ ]depth\b|\bn[_ ]estimators\b|"
                                r"\bregulari[sz]ation (?:strength|parameter|term|constant)\b|\bnumber of (?:trees|estimators|leaves)\b")),
        ("tree structure", _rx(
            r"\b(?:trees?|forest|ensemble|gradient boost\w*|boosted)\b.{0,40}\b(?:structure|splits?|nodes?|branches|leaf|leaves|"
            r"depths?|dump|export|layout|graph|diagram)\b"
            r"|\bsplit(?:ting)? (?:points?|thresholds?|values?|conditions?|criteria|rules?)\b"
            r"|\b(?:node|split|leaf) (?:by|for) (?:node|split|leaf)\b")),
        ("decision boundary", _rx(r"\bdecision (?:boundar(?:y|ies)|surface|function|frontier|hyperplane)\b"
                                  r"|\b(?:separating|separation) (?:hyperplane|line|surface)\b")),
        ("all the rules", _rx(
            rf"\b(?:all|every|each|entire|whole|complete|full|exact)\s+(?:of\s+)?(?:the\s+|its\s+|your\s+)?(?:internal\s+|scoring\s+|decision\s+|if[- ]then\s+)?"
            rf"rules?\s+(?:(?:that\s+|which\s+)?(?:the|this|your|it)\s*{_MODEL}?\s*(?:uses?|applies|follows|has)|(?:of|behind|in|inside)\s+(?:the\s+)?(?:\w+\s+)?{_MODEL})"
            r"|\b(?:scoring|decision|if[- ]then|flagging|classification) rules\b"
            rf"|\brules? (?:the|this|your) (?:\w+ )?{_MODEL} (?:uses?|applies|follows)\b")),
        ("exact thresholds", _rx(
            r"\b(?:exact|precise|specific|actual|internal|hidden|secret|numeric|numerical)\s+(?:score\s+|probability\s+|decision\s+|"
            r"model\s+|flagging\s+|classification\s+|feature\s+)?(?:thresholds?|cut-?offs?|cut ?points?|boundar(?:y|ies)|"
            r"breakpoints?|tipping points?|trigger points?|trigger values?)\b(?!\s+(?:of|for|between) (?:the |each |every )?(?:risk )?(?:tiers?|bands?))"
            r"|\bat (?:exactly )?what (?:exact |precise )?(?:value|point|amount|level|number|score|probability)\b.{0,40}\b(?:flip|switch|tip|cross|change|trigger|flag)")),
        ("formula", _rx(
            r"\b(?:exact|full|complete|underlying|mathematical|precise|actual|internal|whole)\s+(?:scoring\s+|score\s+|risk\s+)?(?:formula|equation|"
            r"function|calculation|math(?:s|ematics)?|algorithm|logic|code)\b"
            rf"|\b(?:formula|equation)\s+(?:the|this|that|your|it)?\s*(?:\w+\s+)?{_MODEL}?\s*uses\b|\bscoring (?:formula|equation|function|code)\b"
            r"|\bhow (?:exactly|precisely) (?:is|does) (?:the|it|this) (?:\w+ )?(?:score|probability) (?:get )?(?:computed|calculated)\b")),
        ("artifact", _rx(
            r"\b(?:model|artifact|pickle|pickled|joblib|skops|onnx|weights?|checkpoint|serialized|serialised)\s+(?:file|binary|object|dump)s?\b"
            r"|\.(?:joblib|pkl|pickle|skops|onnx|h5)\b|\b(?:download|export|copy|send|share|give)\s+(?:me\s+)?(?:a copy of\s+)?(?:the|your|this)\s+(?:\w+\s+)?model\b(?!\s+(?:card|documentation|doc|report|summary))"
            r"|\bsource code\b|\bmodel\.yaml\b")),
        ("model internals vocabulary", _rx(
            r"\b(?:standard ?scaler|min-?max ?scaler|scaler|encoder|one-?hot)\s+(?:means?|std|standard deviations?|parameters?|params|statistics|"
            r"stats|mappings?|categories|vocabulary|settings|values)\b"
            r"|\bleaf (?:values?|weights?|scores?|outputs?)\b|\b(?:boosting|boosted) (?:stages?|rounds?|iterations?)\b"
            r"|\bestimators?[_ ]?\[?\d+\]?|\btree (?:number |no\.? |#)?\d+\b|\broot (?:node|split|feature|variable)\b|\bcut ?points?\b"
            r"|\b(?:node|split) (?:thresholds?|features?|indices|ids?|values?)\b|\bfeature ind(?:ices|exes)\b"
            r"|\b(?:slopes?|log-?odds|logits?)\b.{0,30}\b(?:per|for each|of each|coefficient|weight|itself|exact|raw)\b"
            r"|\b(?:per|for each|every)\s+(?:dollar|unit|point|month|year|percent)\b.{0,30}\b(?:log-?odds|logit|weight|coefficient|slope)\b"
            r"|\b(?:every|each|all(?: the)?)\s+(?:split |decision |internal )?thresholds?\s+(?:on|for|of|in|the model uses)\b"
            r"|\bdecision (?:surface|regions?)\b|\b(?:pickled?|serialized|serialised|fitted) (?:\w+[- ])?(?:pipeline|model|estimator|object|classifier)\b"
            r"|\bpipeline (?:object|internals|steps|parameters|params|file)\b|\bget_params\b|\bfeature_importances_\b|\bcoef_\b")),
        ("preprocessing internals", _rx(
            r"\b(?:standard ?scaler|min-?max ?scaler|scaler|ordinal encoder|one-?hot encoder|encoder|imputer|preprocessor|calibrator|calibration (?:mapping|curve|table|function))\b"
            r".{0,50}\b(?:means?|std|standard deviations?|center\w*|centr\w*|scal(?:e|es|ing) (?:values|factors)|maps?|mapping|integers|codes|categories|breakpoints|parameters|params|values|statistics)\b"
            r"|\b(?:first|second|third|last|\d+(?:st|nd|rd|th)) (?:tree|split|estimator|node|stage)\b|\bper-?tree\b|\beach (?:individual )?tree\b|\btrees? (?:said|voted|votes)\b|\bvotes? (?:of|from|per) (?:the |each )?trees?\b"
            r"|\brandom_state\b|\bclass_weight\b|\binit(?:ial)? (?:estimator|prior)\b|\bprior log-?odds\b|\brepr\b|\bfill in the (?:b|coefficient|weight|beta)s?\b|\bb[01]\b"
            r"|\bbeta_?\d\b|\bpath (?:of|to) the (?:\w+ )?(?:artifact|model|pickle|joblib|file)\b|\bon disk\b"
            r"|\bto the (?:dollar|cent|penny|unit|decimal|km|kilometre|kilometer|month|day)\b|\b(?:balance|amount|income|value|score|probability) boundary\b"
            r"|\b(?:at|in|with) full precision\b|\bshap (?:base )?values?\b.{0,30}\b(?:precision|exact|raw|all)\b")),
        ("how the number is made", _rx(
            r"\b(?:exactly|precisely|step by step|completely|in full)\b.{0,40}\bhow\b.{0,40}\b(?:number|score|probability|tier|output|prediction)\b.{0,20}\b(?:is )?(?:computed|calculated|derived|produced|made)\b"
            r"|\bhow\b.{0,40}\b(?:number|score|probability|output)\b.{0,20}\b(?:is )?(?:computed|calculated|derived)\b.{0,40}\b(?:exactly|precisely|step by step|every|each tree|contribution)\b"
            r"|\b(?:every|each) tree'?s? (?:contribution|output|vote|score)s?\b|\b(?:model'?s? )?math (?:completely|in full|exactly)\b|\bre-?implement\w*"
            r"|\bpredict_proba\b|\bdecision_function\b|\b(?:the )?(?:number|value|score|probability) behind\b|\bunderlying number\b"
            r"|\bpartial dependence\b(?!.{0,60}\b(?:broad|general|overall|trend|shape|direction|roughly|qualitative|plain english)\b)|\bmarginal effect\b|\bgradient\b(?! boost)|\bderivative\b|\belasticit\w*|\bchanges? sign\b|\bsensitivity (?:of|to) (?:the )?(?:score|probability|output)\b"
            r"|\bcent(?:red|ered) on\b|\bshrinkage\b|\bfile ?system\b|\bpickled it\b|\b(?:sklearn|scikit-learn) version\b|\bvote fraction\b|\bclass weights?\b"
            r"|\bpreprocessing (?:code|steps|pipeline|parameters|params|details)\b|\b(?:supply|provide|send|give|share)\b.{0,20}\bweights\b"
            r"|\bhow much does (?:the )?(?:\w+ )?(?:probability|score|output) (?:move|change)\b.{0,30}\b(?:per|for (?:a|each|every|one))\b")),
        ("under the hood", _rx(
            r"(?<!need )(?<!want )(?<!the )\b(?:guts|innards|under the hood|secret sauce|scoring recipe|nuts and bolts|blueprint)\b"
            r"|\b(?:show|give|open|reveal|tell me|share|walk me through|list|expose|dump|see|paste|print)\b.{0,30}\b(?:internals|inner workings|innards|guts|internal (?:parameters|settings|state))\b"
            r"|\blearn(?:ed|t) (?:constants|values|numbers|parameters|weights|thresholds)\b|\bmultipl(?:ies|y|ied) (?:it )?by\b"
            r"|\b(?:number for number|digit for digit|exactly as (?:it was )?(?:written|stored|saved|trained))\b"
            r"|\btraining (?:settings|configuration|config|parameters|params|recipe|script|code)\b|\bsaved (?:config|configuration|settings|model)\b"
            r"|\b(?:replicate|reproduce|recreate|clone|rebuild|reimplement|re-implement)\s+(?:it|this|that|them|the (?:score|scores|scoring|tiers?))\b.{0,40}\b(?:offline|myself|locally|without you|on my own|in excel|in python|in sql|exactly)\b")),
        ("exact scores", _rx(
            r"\b(?:exact|raw|unrounded|un-rounded|full[- ]precision|precise|high[- ]precision|uncapped|unmasked|true|real|underlying|numeric)\s+(?:\w+\s+)?(?:probabilit(?:y|ies)|scores?|logits?|outputs?|confidences?)\b"
            r"|\b(?:probabilit(?:y|ies)|scores?|outputs?|confidences?)\b.{0,30}\b(?:to|with|at|in)\s+(?:[3-9]|\d{2,}|three|four|five|six|seven|eight|more|all|full|maximum|max)\s+"
            r"(?:decimal|decimals|digits|significant|dp|places)\b|\b(?:more|extra|all the|every) decimals?\b|\bwithout (?:any )?rounding\b|\bdon'?t round\b"
            r"|\b(?:full|complete|precise|exact) probabilit(?:y|ies)\b|\braw (?:float|number|value|output)\b|\bthe float\b"
            r"|\bbefore (?:it|the score|they) (?:gets?|is|are) (?:bucketed|rounded|tiered|binned|banded|mapped)\b|\bunbucketed\b|\bpre-?tier\b")),
        ("model as code", _rx(
            rf"\b(?:translate|convert|rewrite|express|turn|export|port|compile|write)\b.{{0,30}}\b(?:the|this|your|that)?\s*(?:\w+\s+){{0,2}}{_MODEL}\b.{{0,30}}\b(?:into|as|to)\s+"
            r"(?:a |an )?(?:sql|code|python|java|javascript|excel|spreadsheet formula|formula|if-?then|rules?|case statements?|decision table|lookup table|pseudo-?code|equations?)\b"
            r"|\bif-?then (?:statements?|rules?)\b|\bcase statements?\b.{0,40}\b(?:same|thresholds?|model)\b")),
        ("replicate the model", _rx(
            rf"\b(?:replicate|clone|copy|rebuild|recreate|reproduce|reconstruct|reverse[- ]engineer|steal|extract|mimic|"
            rf"approximate|imitate|distil+|train a (?:copy|clone|surrogate|shadow|substitute|replica))\b{_NOT_RECONSTRUCTED}.{{0,40}}\b(?:the|your|this|that|its|our)?\s*(?:\w+\s+)?{_MODEL}\b"
            rf"|\b(?:surrogate|shadow|substitute|knock-?off|copycat|clone|replica|stolen) (?:models?|classifiers?)\b")),
        ("numbers inside the model", _numbers_inside),
        ("exact cut-off", _exact_cutoff),
        ("score it without you", _rx(
            # recomputing the model's output elsewhere: the point of asking for its internals
            r"\b(?:recompute|reproduce|rebuild|replicate|recreate|re-?implement)\b.{0,60}\b(?:in a spreadsheet|in excel|with a calculator|by hand|identically|bit for bit)\b"
            r"|\b(?:evaluate|compute|calculate|score|run|recompute|reproduce)\b.{0,60}\bwithout (?:calling|asking|using|going through|needing) (?:you|modeldesk|the (?:assistant|api|service))\b"
            r"|\b(?:score|scoring) without you\b|\bwith the (?:real|actual|exact|true) (?:constants|numbers|values|coefficients|thresholds|figures)\b")),
        ("model structure in other words", _rx(
            # trees, nodes and branches named without the textbook words
            r"\b(?:end|terminal|bottom|final) nodes?\b|\bbottom of the (?:\w+ )?trees?\b|\btree by tree\b|\bbranching (?:map|structure|logic|paths?)\b"
            r"|\b(?:every|each|all(?: the)?) (?:forks?|branch(?:es)?|nodes?|if-?then conditions?|conditions? the (?:\w+ )?(?:model|booster|trees?|forest))\b(?! office)"
            r"|\b(?:how many trees|how deep (?:can|does|is|are)|(?:min(?:imum)?|max(?:imum)?) (?:leaf|node|sample|split) sizes?|random seed|which seed)\b"
            r"|\b\w+_(?:constraints|estimators|leaves|depth|lambda|alpha|child_weight|samples_split|samples_leaf|bins)\b|\bpassed to the (?:\w+ )?trainer\b"
            r"|\b(?:line|boundary|surface) that separates\b|\b(?:jacobian|hessian)\b"
            r"|\b(?:the means?|means and standard deviations?|standard deviations?|std)\b.{0,40}\b(?:used to |to )?(?:scale|normali[sz]e|standardi[sz]e)\b"
            r"|\b(?:raw|actual|real) (?:function|code)\b.{0,40}\b(?:calls?|runs?|uses?|body)\b|\bcode body\b|\bfunction body\b"
            r"|\b(?:export|paste|send|give|dump|serialize|serialise|save)\b.{0,40}\b(?:as|in|to) (?:pmml|onnx|pickle|joblib|a binary)\b|\bpmml\b"
            r"|\b(?:serialized|serialised|pickled)\b.{0,40}\b(?:artifact|blob|bytes|object)\b|\b(?:joblib|pickle) blob\b|\bthe actual bytes\b|\bsaved model object\b"
            r"|\b(?:sql )?case (?:expression|statement)s?\b|\bcase when \w+ ?[<>=]|\breference (?:level|category)\b")),
    ],
    "bulk_extraction": [
        ("every record's output", _unless_aggregate(_rx(
            rf"\b{_OUTPUTS}\b.{{0,40}}\b(?:of|for|on|across|by)\s+(?:all|every|each|the whole|the entire|everyone|everybody|all of)\b{_NOT_RECORDS}(?!\s*(?:[?.!]|$|one\b|of (?:these|those|them)\b))"
            rf"|\b(?:all|every|each)\s+(?:single\s+|one\s+of\s+(?:the|our)\s+)?{_ENTITIES}(?:'s?)?\s+(?:\w+\s+){{0,2}}{_OUTPUTS}\b"
            rf"|\b{_GIVE}\b.{{0,50}}\b{_ALL}\b{_NOT_RECORDS}.{{0,40}}\b{_OUTPUTS}\b"))),
        ("dump of records", _unless_aggregate(_rx(
            rf"\b{_GIVE}\b.{{0,50}}\b{_ALL}\s+(?:[\w-]+\s+){{0,3}}?{_ENTITIES}\b.{{0,60}}\b{_FILE}\b"
            rf"|\b{_GIVE}\b.{{0,30}}\b(?:the\s+)?(?:whole|entire|full|complete|raw)\s+(?:\w+\s+){{0,2}}?(?:data(?:set|base)?|table|records|book|portfolio|file)\b"
            rf"|\b{_ALL}\s+(?:\w+\s+){{0,3}}?{_ENTITIES}\b.{{0,40}}\b(?:as|in|into|to) (?:a |an )?{_FILE}\b"
            rf"|\b{_FILE}\b.{{0,20}}\b(?:of|with|for)\s+{_ALL}\s+(?:\w+\s+){{0,2}}?{_ENTITIES}\b"))),
        ("more than a page", _top_n),
        ("range of records", _id_range),
        ("everything at once", _rx(
            r"\b(?:keep going|continue|carry on|go on|proceed)\b.{0,40}\b(?:until|till)\b.{0,30}\b(?:all|every|done|finished|the end|the last|them all)\b"
            r"|\bin \$?[\d,.]+k? (?:increments|steps)\b|\bsweep\b.{0,40}\bfrom\b|\b(?:every|each|all) combinations?\b|\bcartesian\b"
            r"|\b\d++\s*[-–]\s*\d++\s+(?:against|by|vs\.?|versus|x|×)\s+\w+|\bsurrogate\b|\b\d++k\s+(?:\w+\s+)?(?:inputs|rows|queries|samples|records|vectors|points)\b"
            r"|\brandomi[sz]e\b.{0,40}\b(?:inputs|rows|values|features|records|vectors)\b|\bloop (?:the \w+ (?:tool )?)?(?:over|through)\b"
            r"|\b(?:everybody|everyone|(?:all|every) (?:the |our )?(?:[\w-]+ ){0,2}(?:customers?|clients?|accounts?|records?|transactions?|cardholders?))\b.{0,60}\b(?:with (?:their|every|all|each|tiers?|features|scores?|probabilit\w*|ids|amounts?|merchants?|inputs)|and their|the (?:entire|full|whole) list|every feature|all (?:the )?(?:features|fields|columns|inputs|data))\b"
            r"|\ball (?:the |of the |your )?data\b(?!\s+(?:quality|sources?|is|was|were))"
            r"|\bin (?:steps|increments) of\b|\bstep size\b|\b(?:fine |full |complete |whole )?grid (?:of|over|across)\b|\bfine grid\b|\bfull (?:matrix|grid|sweep|cross)\b"
            r"|(?<![\d$])\$?\d++\s*,\s*\$?\d++\s*,\s*\$?\d++\s*,?\s*(?:\.\.\.|…|etc)"
            r"|\b(?:bulk|batch)[- ]?scor\w*|\bat \d++ values each\b|\b\d++ values (?:each|per (?:feature|input))\b"
            r"|\b(?:full|whole|entire|complete) (?:predictions?|scores?|scoring|results?|outputs?) (?:table|list|file|dump|set)\b"
            r"|\b(?:iterate|go|count|walk|step|work)\s+(?:\w+\s+)?(?:[a-z]-?\d+\s+)?(?:upwards?|onwards?|forwards?|sequentially)\b"
            r"|\brun (?:every|all|each) (?:\w+ ){0,4}through\b"
            r"|\beverything (?:you have|you've got|you hold|there is)\b.{0,40}\b(?:records?|scores?|labels?|predictions?|rows?|probabilit\w*|ids|data(?!\s+quality))\b"
            r"|\b\d++ at a time\b|\b(?:page|paginate|iterate|cycle) (?:through|over)\b"
            r"|\b(?:full|whole|entire|complete) (?:reference|training|holdout|validation) (?:set|data|sample|file|table)\b"
            r"|\b(?:every|each|all(?: the)?)\s+(?:single\s+)?(?:predictions?|scores?|probabilit(?:y|ies)|outputs?)\b.{0,40}\b(?:made|ever|produced|in bulk|with (?:probabilities|scores|ids)|for (?:every|all))"
            r"|\bas many (?:\w+ )?(?:customers|records|rows|transactions|accounts|ids|predictions|scores) as (?:you can|possible|will fit|fit)\b")),
        ("batch scoring", _rx(r"\b(?:score|run|predict|evaluate|classify|rate|tier|process)\s+(?:\w+\s+){0,3}?(?:these|this|the following|attached|my|our|a batch of|a list of|a file of)\s+"
                              r"(?:\d+\s+)?(?:\w+\s+)?(?:rows?|records?|files?|csv|spreadsheets?|batch(?:es)?|lists?|datasets?|synthetic \w+|made-up \w+|fake \w+|profiles)\b"
                              r"|\b(?:\d{2,}|dozens of|hundreds of|thousands of|(?:ten|a|one|two|five|several|a few) (?:hundred|thousand)|many|lots of)\s+(?:synthetic|made-?up|fake|random|generated|artificial|hypothetical)\s+(?:\w+\s+)?(?:rows?|records?|customers?|inputs?|profiles?|transactions?|cases)\b")),
        ("record files", _rx(rf"\b[\w-]+\.(?:csv|parquet|xlsx?|jsonl?|tsv|feather|sqlite|db)\b"
                             rf"|\b(?:whole|entire|full|complete)\s+(?:customer |client |account |transaction |policy )?(?:base|book|portfolio|population|list of (?:ids|{_ENTITIES}))\b")),
        ("every id", _rx(rf"\b(?:every|all(?: the)?|each)\s+(?:[\w-]+\s*){{0,3}}?(?:customer |client |account |transaction |record |policy )?ids?\b"
                         rf"|\ball of them\b.{{0,20}}\bnot (?:just )?(?:a |the )?(?:top|first|sample|page|few)\b"
                         rf"|\b(?:for|of)\s+(?:every|each|all)\s+(?:\w+\s+){{0,3}}?{_ENTITIES}\b.{{0,50}}\b(?:list|give|show|print|tell me|with|their|its|plus)\b"
                         rf"|\b(?:and so on|etc\.?|and the rest|\.\.\.)\s*(?:up )?(?:to|until|through|till)\s+[a-z]?-?\d")),
        ("paging", _rx(r"\bnext\s+\d{2,}\b(?!\s*(?:days?|weeks?|months?|years?|hours?|minutes?|quarters?|business days?|calls?|billing))|\b(?:carry on|continue|resume|pick up|start|keep going)\s+(?:from|after|at)\s+[a-z]{1,4}-?\d{3,}\b|"
                       rf"\b(?:next|another|following|remaining|subsequent)\s+(?:\d+|page|batch|set|hundred|thousand|chunk|block)s?\b(?!\s*(?:days?|weeks?|months?|years?|hours?|quarters?)\b).{{0,30}}\b(?:{_ENTITIES}|{_OUTPUTS}|ids?)\b"
                       r"|\b(?:the )?next (?:few|couple of|several) (?:hundred|thousand)\b|\bkeep (?:going|incrementing|counting)\b.{0,30}\b(?:up|through|until|till|to the end)\b"
                       r"|\bincrement\w*\b.{0,40}\b(?:until|till|through|up to)\b|\b(?:go|going) (?:id by id|one by one|row by row)\b|\b(?:ten|twenty|fifty|\d+) at a time\b.{0,60}\b(?:keep going|continue|the end|all)\b"
                       r"|\bpage \d+ of\b|\b(?:continue|keep) (?:listing|going through|dumping|exporting|paging)\b")),
        ("training rows", _rx(
            rf"\b{_GIVE}\b.{{0,40}}\b(?:the\s+)?{_TRAINING}\s+(?:data(?:set)?|set|rows?|records?|examples?|samples?|table|file|labels)\b"
            rf"|\b{_TRAINING}\s+(?:data(?:set)?|set|rows?|records?|examples?|samples?)\b.{{0,30}}\b(?:as|in|into) (?:a |an )?{_FILE}\b"
            rf"|\b(?:raw|row[- ]level|individual|every)\s+{_TRAINING}\s+(?:data|rows?|records?|examples?|samples?)\b")),
        ("whole population", _unless_aggregate(_whole_population)),
        ("model as a labelling oracle", _rx(
            # a dataset labelled by the model is a copy of the model waiting to be trained
            r"\b(?:labell?ed|annotated) by (?:the )?(?:[\w-]+ ){0,2}(?:model|classifier|scorer|fraud|churn|credit|transaction-fraud|customer-churn|credit-default)\b"
            r"|\b(?:dataset|data set|training set|rows|pairs|examples) (?:\w+ )?(?:labell?ed|scored) (?:by|with) (?:the )?(?:[\w-]+ ){0,2}(?:model|classifier|scorer)\b"
            r"|\b(?:labell?ing|scoring|query|prediction) oracle\b|\bin a loop\b|\bpipe (?:rows|records|inputs|queries)\b|\b(?:student|distilled) model\b"
            r"|\(\s*(?:features?|inputs?)\s*,\s*(?:model )?(?:predictions?|labels?|outputs?|scores?)\s*\)|\b(?:input|feature)[- /](?:output|prediction|label) pairs\b"
            r"|\blatin hypercube\b|\bmonte carlo\b.{0,40}\b(?:points|inputs|samples)\b|\b(?:per|for each|for every|at each|at every) [\w-]+ from \$?\d[\d,.]*k? (?:to|through|up to) \$?\d"
            r"|\b(?:every|each|all)\s+(?:[\w-]+\s+){0,4}?(?:pairings?|permutations)\b|\bat each of the \d{2,} (?:hours|values|points|levels|steps|ages)\b"
            r"|\b(?:dump|export|paste|pour|download|copy|send|give me|share)\b.{0,30}\b(?:prediction|score|scoring|scored|output|result)s? (?:cache|table|log|store|database|db|snapshot)\b"
            r"|\b(?:parquet|csv|xlsx|jsonl|tsv) (?:snapshot|export|dump|extract|copy) of (?:all|every|the (?:whole|entire|full))\b|\bsnapshot of (?:all|every|the whole|the entire)\b"
            r"|\b(?:rate[- ]limits?|throttl\w*|query (?:budgets?|limits?))\b.{0,30}\b(?:don'?t apply|doesn'?t apply|lifted|off|waived|exempt)\b|\bwithout throttl\w*")),
    ],
    "membership_inference": [
        ("was someone in the training data", _rx(
            rf"\b(?:was|were|is|are|did|does|has|have)\b.{{0,50}}\b{_PERSON}(?:'s)?\b.{{0,40}}\b(?:in|part of|included in|inside|among|used (?:in|for|to)|"
            rf"used as|contained in|present in|appear(?:s|ed)? in|member of|seen (?:in|during|by))\s+(?:the\s+|your\s+|its\s+)?(?:\w+\s+)?{_TRAINSET}"
            rf"|\b{_TRAINSET}\s+(?:include|includes|included|contain|contains|contained|ha[sd]|have)\b.{{0,40}}\b{_PERSON}"
            rf"|\b(?:did|was|has|have)\s+(?:the|your|this)?\s*(?:\w+\s+)?{_MODEL}\s+(?:trained|fit|fitted|built|learn\w*|see[n]?)\s+(?:on|from|with|using)\s+{_PERSON}"
            rf"|\b{_PERSON}(?:'s)?\s+(?:data|record|details|information|row|file)\s+(?:was|were|is|got|been)\s+(?:\w+\s+)?(?:used|included|part)\b.{{0,30}}\b(?:train|fit|build|model)")),
        ("individual and training set", _individual_in_training),
        ("membership test", _rx(r"\bmembership (?:check|test|query|lookup|inference on|status of)\b|"
                                rf"\bmembership\b.{{0,30}}\b(?:of|for|on|status|check|test)\b.{{0,30}}\b{_PERSON}"
                                r"|\b(?:member|non-?member)\s+(?:or|vs\.?|versus)\s+(?:non-?member|member)\b"
                                rf"|\b(?:tell|determine|figure out|check|work out|find out|know)\b.{{0,30}}\b(?:whether|if)\b.{{0,60}}\b{_TRAINSET}")),
        ("taught, in other words", _taught_on),
        ("training members", _unless_aggregate(_rx(
            # asking which records were members, or whether one record with given values was;
            # "how many rows were in the training set?" is a count, not a membership question
            r"\btraining members?\b|\b(?:members?|non-?members?) of the training\b"
            r"|\b(?:did|does|do|was|is|were)\s+(?:any|a|one)\s+(?:of the\s+)?training (?:examples?|rows?|records?|customers?|cases?)\s+(?:have|has|with|match|contain)\b"
            r"|\b(?:ids?|customers?|accounts?|records?|rows?|people|names)\b.{0,40}\b(?:were|was|are)\s+(?:\w+\s+)?(?:training (?:examples?|rows?|records?|members?|data)|in the training)\b"
            r"|\bincluded (?:when|in|during)\b.{0,40}\b(?:model|scorer|classifier|trained|built|put together)\b|\bwhether (?:she|he|they|it|this person) (?:was|were) included\b"
            r"|\b(?:re-?train\w*|training run|refresh)\b.{0,20}\b(?:include|included|contain|contained|use|used)\b.{0,20}\b[a-z]{1,4}-?\d{3,}\b"))),
    ],
    "inversion": [
        ("reconstruct a person's data", _rx(
            rf"\b(?:reconstruct|recreate|rebuild|recover|reverse[- ]engineer|back out|invert|unmask|de-?anonymi[sz]e|re-?identify)\b{_NOT_RECONSTRUCTED}"
            r".{0,60}\b(?:inputs?|features?|attributes?|data|details|values|income|salary|age|records?|rows?|profile|information|"
            r"identity|identities|examples?|people|persons?|customers?|individuals?|training)\b"
            r"|\bmodel inversion (?:attack|on|against)\b|\binvert (?:the|this|that|your) (?:\w+ )?model\b")),
        ("inputs from a score", _rx(
            r"\bwhat (?:inputs?|values|features?|data|attributes?|profile|customer|person|combination)\b.{0,30}\b(?:would|will|could|gives?|produces?)\b.{0,20}\b"
            r"(?:give|produce|yield|result in|lead to|generate|get|return|output)\b.{0,20}\b(?:exactly|precisely|a (?:score|probability) of|"
            r"(?:this|that|the same) (?:exact )?(?:score|probability|output)|\d?\.\d+|\d+(?:\.\d+)?%)"
            rf"|\b(?:from|given|based on|using|with only)\s+(?:the|their|her|his|its|a|this)\s+(?:\w+\s+)?(?:scores?|tiers?|probabilit(?:y|ies)|predictions?|outputs?)\b.{{0,50}}"
            r"\b(?:guess|estimate|infer|deduce|work out|figure out|determine|reconstruct|recover|tell me|find|predict)\b.{0,30}\b(?:income|age|salary|balance|"
            r"attributes?|inputs?|features?|data|details|identity|who)"
            r"|\b(?:guess|estimate|infer|deduce|work out|figure out|determine)\b.{0,30}\b(?:income|age|salary|balance|attributes?|inputs?|features?|data|details|identity)\b"
            r".{0,30}\b(?:from|given|based on|using)\s+(?:the|their|her|his|its|a|this)\s+(?:\w+\s+)?(?:scores?|tiers?|probabilit(?:y|ies)|predictions?|outputs?)\b")),
        ("attributes from outputs", _attributes_from_outputs),
        ("input that maximises", _rx(
            r"\b(?:which|what)\s+(?:exact\s+)?(?:inputs?|values|feature values|combination|record|customer|profile|person|row|example)\b.{0,50}\b(?:maximi[sz]\w*|minimi[sz]\w*|"
            r"gives? the (?:highest|lowest|maximum|max|most|minimum|min)|produces? the (?:highest|lowest)|with the (?:highest|lowest) (?:possible )?(?:score|probability))"
            r"|\b(?:most|least) (?:likely|probable|prototypical|representative) (?:input|record|row|example|feature values)\b"
            r"|\b(?:generate|synthesi[sz]e|produce|create)\b.{0,30}\b(?:the )?(?:exact |most )?(?:typical|prototypical|representative|likely)\s+(?:\w+\s+)?(?:input|record|row|example|training example)s?\b")),
        ("extreme inputs", _extreme_inputs),
        ("whose record", _rx(
            r"\b(?:which|whose|what)\b.{0,20}\b(?:customer|client|account|cardholder|card|person|t-? ?ids?|c-? ?ids?|ids?|customer (?:number|id)s?)\b.{0,60}"
            r"\b(?:is (?:hers|his|theirs)|is the (?:\d+[- ]?(?:year[- ]old|\+))|is the (?:one|person|woman|man|guy|lady) (?:with|who)|belong\w*|matches|has exactly|did that|are (?:hers|his|theirs)|was it)\b"
            r"|\bmatch (?:each|every|them|these|this|those|it)\b.{0,40}\b(?:to|with) (?:a |an )?(?:[\w-]+ )?(?:customer|id|account|record)"
            r"|\bwhose (?:card|account|record|transaction|data)s? (?:it|this|that|they) (?:was|is|were|are)\b|\bwhose (?:card|account) was it\b"
            r"|\bsame (?:cardholder|person|customer|individual) as\b|\b(?:locate|identify|find) the (?:cardholder|customer|person)\b"
            r"|\bwhere (?:she|he|they) (?:lives?|was|were|is)\b|\bwho scored\b")),
        ("a person's true values", _rx(
            r"\b(?:actual|real|true|exact)\s+(?:\w+\s+)?(?:income|balance|bill|age|salary|limit|charges?|tenure|value|amount|figure|debt|details|payment method)s?\b"
            r"|\b(?:individual-level|field by field|underlying (?:customer )?fields|remaining fields|every field|all (?:the|their|her|his) fields)\b"
            r"|\b(?:based on|from|given|using)\s+(?:her|his|their|its|the)\s+(?:tier|score|explanation|reasons?|risk (?:tier|score|level))\b"
            r"|\b(?:the tier|the score|the explanation|it) (?:already )?(?:basically )?(?:says|shows|tells|gives) it\b|\byou (?:must|should|would|do) (?:be able to )?(?:know|tell)\b"
            r"|\bso you (?:must )?know\b|\bto the nearest (?:thousand|hundred|dollar|year|km)\b")),
        ("re-identification", _rx(
            r"\b(?:which|what|who)\b.{0,30}\b(?:customer|client|person|account|cardholder|id|ids|customer number|one|ones)\b.{0,40}\b(?:is (?:that|this|it)|has (?:a |the )?(?:[\w-]+ )?score (?:of )?\d|"
            r"match(?:es)?|could (?:that|this|it) be|with (?:the same|these|those) (?:attributes|details|features|inputs))\b"
            r"|\bmatch (?:this|that|the|a) (?:\w+ )?(?:score|profile|description|probability)\b.{0,30}\bto (?:a|the|an) (?:customer|id|person|account|name)\b"
            r"|\bgive me the (?:customer|person|id|name)\b|\bnarrow it (?:down )?to (?:one|a single|an id)\b|\bwho is (?:this|that|it)\b"
            r"|\bsame attributes as me\b")),
        ("who fits the description", _who_fits),
        ("narrow cohort", _narrow_cohort),
        ("attributes from the clues", _rx(
            # reading a person's hidden values off the flag, its reasons and "the other clues"
            r"\b(?:judging (?:from|by)|going by|from the (?:flag|reasons?|explanation|tier|score|clues)|given (?:that|the tier|the reasons?|the explanation)(?: plus| and)?)\b.{0,120}"
            r"\b(?:(?:what|which) (?:\w+ ){0,2}(?:hour|time|city|town|age|income|salary|balance|region|address|location|payment method)|how (?:far|old)|tell me (?:her|his|their))\b"
            r"|\b(?:what|which) (?:city|town|country|address|location|home region|hour|time)\b.{0,40}\b(?:was|is|were)\s+(?:the|that|this|her|his)\s+(?:cardholder|customer|person|client|account holder)\b"
            r"|\b(?:how (?:many|much|far|old)|what (?:\w+ ){0,2}(?:age|income|salary|balance|region|hour|time))\b.{0,80}\b(?:going by|judging (?:from|by)) (?:that|this|the|its|her|his|their)\b"
            r"|\b(?:home region|rough age)\b.{0,60}\b(?:cardholder|customer|person)\b|\bperson by person\b"
            r"|\b(?:full )?feature vectors? of (?:a )?real\b|\bmodel inversion (?:as a service|for me|on (?:this|that|a|the))\b|\bone real (?:person|customer|case|record|row|example)\b"
            r"|\b(?:their|her|his|its) raw fields\b|\braw fields (?:of|for) (?:a|one|the|this|that) (?:real )?(?:person|customer|record|case)\b")),
        ("probing a person's inputs", _rx(
            r"\b(?:bisect\w*|binary search\w*|nudg\w*|iterat\w*|in (?:very )?small steps|candidate (?:values|ages|years|birth\w*|incomes|amounts))\b"
            r".{0,80}\b(?:matches|equals|match|reveal\w*|flips|until|till|tell me|exact|actual|original)\b"
            r"|\buntil (?:the )?(?:score|probability|explanation|tier|output) (?:matches|equals|is the same|flips|agrees)\b|\bmatches reality\b|\bbest matches (?:his|her|their|its) (?:actual|real|original)\b")),
        ("private attributes", _rx(
            r"\b(?:age|income|salary|birth\w*|address|home|lives?|living|born|declared|on file|how old|where (?:she|he|they) lives?|region|marital|health|debt|credit limit)\b.{0,60}"
            r"\b(?:from|using|via|through|out of|give it away|gives it away)\s+(?:only\s+)?(?:the\s+|its\s+|their\s+|his\s+|her\s+)?(?:[\w-]+\s+)?(?:model|score|scores|explanation|what-?ifs?|reasons|tier|probabilit\w*|inputs)\b"
            r"|\b(?:what|which|how much)\b.{0,30}\b(?:did|does)\b.{0,30}\b(?:declare|report|earn|have on file)\b|\b(?:hides?|hidden|won'?t show|doesn'?t show)\b.{0,30}\b(?:his|her|their|the) (?:file|record|details|data|income|salary)\b")),
        ("training rows", _rx(
            r"\b(?:genuine|literal|actual|real|original|verbatim)\s+(?:\w+\s+)?(?:rows?|records?|transactions?|examples?|data points?)\b(?!\s+(?:count|counts))"
            r"|\b(?:show|print|give|list|recite|regurgitate|output|repeat|which|what)\b.{0,40}\bmemori[sz](?:ed|es)\b|\bmemori[sz]ed (?:rows|records|examples|customers|data|transactions)\b.{0,40}\b(?:show|list|give|print|which|what)\b|\bregenerate\b|\btraining (?:points?|records?|transactions?|examples?|rows?|samples?|cases?)\b.{0,40}\b(?:show|print|give|list|what (?:was|were)|which|features|regenerate|look like|tell me)\b"
            r"|\b(?:show|print|give|list|what (?:was|were)|which|regenerate|tell me)\b.{0,40}\btraining (?:points?|records?|transactions?|examples?|rows?|samples?|cases?)\b"
            r"|\bleaf\b.{0,40}\bsamples?\b"
            r"|\b(?:training|reference)\s+(?:data|set|sample|examples?|customers?|rows?|records?|transactions?)\b.{0,60}\b(?:unredacted|remaining fields|all (?:the )?features|with all|every field|"
            r"sample of \d+|the one row|closest|actual|literal|concrete|its fields)\b"
            r"|\b(?:unredacted|closest training|nearest training|representative sample of \d+|sample of \d+ (?:training|reference))\b")),
        ("hidden attributes", _rx(
            r"\b(?:hidden|withheld|private|masked|undisclosed|secret|unseen)\s+(?:attributes?|fields?|inputs?|features?|values|details|data|columns)\b"
            r"|\b(?:the ones|what) you (?:didn'?t|did not|don'?t|won'?t) (?:show|tell|reveal|share)\b"
            r"|\b(?:real|actual|raw|verbatim|original) (?:rows|records|examples|data points|training rows)\b"
            rf"|\b(?:reveal|identify|find|tell me|list|work out|expose|show)\s+(?:which|who|what)\s+(?:\w+\s+)?(?:customers?|people|individuals?|records?|rows?|cardholders?)\b.{{0,60}}\b(?:reference|training) (?:data|set|sample)")),
        ("true outcome of a person", _rx(
            rf"\b(?:actual|true|real|ground[- ]truth|recorded|observed|historical|known)\s+(?:labels?|outcomes?|targets?|class(?:es)?|results?)\b.{{0,40}}\b(?:of|for)\s+{_PERSON}"
            rf"|\b{_PERSON}\b.{{0,30}}\b(?:actual|true|real|ground[- ]truth|recorded)\s+(?:labels?|outcomes?|targets?)\b")),
        ("specific training rows", _rx(
            rf"\b(?:exact|specific|individual|actual|real|raw|verbatim|particular|original|underlying)\s+{_TRAINING}\s+(?:data|rows?|records?|examples?|samples?|"
            r"data points?|individuals?|people|customers?|cases)\b"
            rf"|\b(?:what|which|who)\b.{{0,20}}\b(?:people|persons?|individuals?|customers?|records?|rows?|examples?)\s+(?:were|was|are)\s+(?:in|used (?:in|for|to))\s+(?:the\s+)?{_TRAINSET}")),
    ],
    "prompt_injection": [
        ("override", _rx(
            r"\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|set aside|turn off|disable|deactivate|switch off|suspend|lift|remove)\b"
            r".{0,40}\b(?:instructions?|rules?|guidelines?|guard ?rails?|restrictions?|polic(?:y|ies)|(?:system )?prompts?|constraints?|filters?|"
            r"programming|safeguards?|safety|content policy|limitations on you|limits|checks|protections?|controls|(?:usual )?refusals?)\b"
            r"|\bno (?:restrictions|rules|filters?|limits|guardrails|censorship)\b|\bwithout (?:any |the |your |its )?(?:\w+\s+){0,2}(?:restrictions|filters|guard ?rails|censorship|limits|rules|safeguards|safety)\b")),
        ("jailbreak", _rx(
            r"\b(?:jail ?break\w*|dan mode|do anything now|developer mode|dev mode|debug mode|god mode|sudo mode|maintenance mode|"
            r"unrestricted mode|admin mode|diagnostic mode|test mode|unlocked mode|evil mode|opposite mode)\b|\bsudo\b"
            r"|\b(?:pretend|imagine|act|behave|role-?play|roleplay|play the role|simulate|become)\b.{0,40}\b(?:you(?:'re| are)?|as|to be|being)\b.{0,50}"
            r"\b(?:unrestricted|unfiltered|uncensored|evil|rogue|jailbroken|no rules|without (?:rules|restrictions|limits|filters)|"
            r"a different (?:ai|assistant|model|bot)|another (?:ai|assistant|bot)|developer|administrator|admin|root|the model itself|"
            r"the (?:raw )?(?:scoring )?(?:model|classifier) itself|an? (?:ai|assistant|chatbot|llm|bot)\b|my grandm\w+|(?:a|my) (?:deceased|late))"
            r"|\bstay in character\b|\bhypothetically,? if you (?:had|were|could)\b.{0,30}\b(?:no|any)\b")),
        ("system prompt", _rx(
            r"\b(?:system|hidden|initial|original|developer|internal|secret|base|master|pre-?)\s*(?:prompt|instructions?|messages?|configuration|config|directives?)\b"
            r"|\b(?:hidden|secret) (?:rules|guidelines|policies|constraints)\b"
            r"|\b(?:paste|print|recite|dump|list|copy|output|show|give)\b.{0,40}\b(?:rules|instructions|guidelines|constraints) you (?:follow|obey|were given|run on|operate under|have)\b"
            r"|\b(?:your|the)\s+(?:\w+\s+)?(?:prompt|instructions|directives|configuration|guidelines you (?:were|are) given)\b.{0,20}\b(?:verbatim|word for word|in full|exactly)\b"
            r"|\b(?:repeat|print|recite|echo|output|reveal|show|tell me|what (?:is|are|was|were))\b.{0,20}\b(?:the )?(?:text|words|everything|instructions)\s+(?:above|before|prior|that came before)\b"
            r"|\bwhat (?:were you|have you been|are you) (?:told|instructed|programmed|configured)\b"
            r"|\b(?:reveal|show|print|list|tell me|what are)\s+(?:me\s+)?your\s+(?:\w+\s+)?(?:rules|instructions|prompt|guardrails|filters|restrictions|guidelines|configuration)\b")),
        ("role escalation", _rx(
            r"\b(?:i am|i'm|im|this is|speaking as|as)\s+(?:an?\s+|the\s+|your\s+)?(?:admin|administrator|security (?:team|officer|analyst|lead)|sysadmin|"
            r"developer|dev|engineer|ciso|cto|root|superuser|owner|creator|operator|model owner|auditor|regulator)\b.{0,80}"
            r"\b(?:so|therefore|please|give|show|grant|unlock|reveal|let me|bypass|need|allow|override|authori[sz]ed?|entitled|clearance|access)\b"
            r"|\b(?:grant|give|elevate|escalate|switch|change|upgrade|promote|set)\b.{0,20}\b(?:me|my)\b.{0,20}\b(?:access|role|permissions?|privileges?|clearance|level)\b"
            r"|\b(?:treat|consider|regard|handle)\s+(?:me|this (?:request|session|user))\s+as\b"
            r"|\b(?:as|with)\s+(?:an?\s+)?(?:admin|administrator|security|root|elevated|full)\s+(?:role|privileges?|access|rights|permissions?|clearance)\b"
            r"|\b(?:authori[sz]ation|override|access|clearance|auth) (?:code|token|key|level)\b"
            r"|\bauthori[sz]ed (?:by|from) (?:the |my )?(?:ciso|admin|security|management|manager|boss|cto|ceo)\b")),
        ("restricted records", _rx(r"\b(?:reveal|show|give|leak|print|display|list|share|send|read|summari[sz]e|tell|see|view|access|open|get)\b.{0,50}\b(?:restricted|confidential|classified|"
                                   r"internal[- ]only|security[- ]only|private|secret|hidden)\b.{0,30}\b(?:incidents?|records?|documents?|files?|memos?|notes?|reports?|data|details|information)\b")),
        ("encoded payload", _rx(
            r"\b(?:decode|decrypt|unscramble|translate|convert|deobfuscate|interpret|read)\b.{0,60}\b(?:and|then)\s+(?:follow|execute|run|do|obey|apply|carry out|act on|answer|respond)"
            r"|\b(?:rot-?13|base-?64|b64|hex(?:adecimal)?|caesar|reversed text|backwards)\b.{0,40}\b(?:decode|instructions?|message|follow|command|payload|encoded|below|this)\b"
            r"|\b(?:decode|decrypt)\s+(?:this|the following|that|it)\b")),
        ("persona", _rx(
            r"\b(?:act|answer|respond|speak|reply|talk|write|pose)\s+as\s+(?:if you (?:were|are)\s+)?(?:the |a |an |my )?(?:\w+[- ]){0,3}(?:data scientists?|developers?|engineers?|admin\w*|owners?|creators?|builders?|"
            r"insiders?|security (?:team|officer|analyst)|auditors?|the model|the classifier|root|superusers?|operators?|system)\b"
            r"|\b(?:impersonate|you are now|from now on you are|new persona|switch (?:to|into) (?:a |the )?(?:\w+ )?(?:persona|mode|character))\b"
            r"|\brepeat after me\b|\bsay (?:exactly|the following|after me|this back)\b|\b(?:respond|reply|answer) (?:only )?with (?:exactly|only|the words)\b"
            r"|\bnew (?:instruction|rule|directive|policy|order)s?\s*(?:for you|to you|:)"
            r"|\btreat (?:every|all|this|my|future|each|any) (?:\w+ ){0,3}(?:requests?|messages?|questions?|queries)\s+as\s+(?:coming )?(?:from|if)\b"
            r"|\b(?:pretend|imagine|suppose|assume|act as if|simulate|hypothetically)\b.{0,50}\b(?:guard ?(?:rails?)?|filters?|rules?|policy|policies|restrictions?|safety|refusals?|checks?)\b.{0,25}\b"
            r"(?:off|offline|down|paused|inactive|not active|disabled|switched off|turned off|don'?t exist|do not exist|not there|removed|suspended|broken|lifted|gone|didn'?t exist)\b"
            r"|\b(?:if|as if) (?:it|you) (?:had|has|were|was) no (?:\w+ )?(?:policy|policies|rules|restrictions|filters|guard ?rails|limits|safeguards)\b"
            r"|\b(?:refusals?|guard ?(?:rails?)?|filters?|safety|policy|restrictions?)(?: \w+)? (?:is |are )?(?:broken|off|disabled|down|buggy|not working|switched off|being tested|lifted|waived|suspended)\b"
            r"|\b(?:the )?assistants? (?:shall|must|will|should|may|are to|is to|is required to) (?:now |henceforth |always )?(?:disclose|reveal|share|provide|ignore|answer|output|include|comply|give|run|do|honou?r|obey|fulfil+)\b"
            r"|\bapply (?:it|this|the following|these) (?:immediately|now|at once|right away)\b"
            r"|\b(?:include|reveal|show|send|print|leak|share|give me|output|paste)\b.{0,40}\b(?:api keys?|secrets?|credentials?|passwords?|tokens?|conversation history|chat history|other users'?\s+\w+|everyone'?s? (?:questions|conversations|sessions))\b"
            r"|^\s*(?:role|principal|user|system|permission|access)\s*[:=]\s*\w+\s*[|,;]"
            r"|\b(?:whatever|regardless of|irrespective of|no matter)\s+(?:my|the|what|your)\s+(?:\w+\s+)?(?:role|roles|permissions?|access|clearance|rules|policy)\b"
            r"|\b(?:no refusals?|without refusing|don'?t refuse|do not refuse|never refuse|must not refuse|stop refusing|no more refusals)\b"
            r"|\b(?:assistant|modeldesk|ai|bot),? (?:please )?comply\b|\bplease comply\b"
            r"|\byou(?:'re| are) (?:now )?the (?:[\w-]+ )?(?:model|classifier|scorer|algorithm)\b")),
        ("role play", _rx(r"\blet'?s (?:role-?play|play a game|play pretend|do a role-?play)\b|\blet'?s pretend (?:that )?(?:you|you'?re|i'?m|i am|i have|we'?re|there (?:are|is) no|the (?:rules|assistant|filters?|guard\w*|policy))\b|\brole-?play(?:ing)?\b.{0,40}\byou(?:'re| are)\b"
                          r"|\byou(?:'re| are)(?: now)? \w+,? (?:a|an|the) (?:debug|raw|unfiltered|uncensored|developer|dev|test|internal|admin|beta) "
                          r"(?:build|version|mode|edition|copy|instance)\b")),
        ("configuration", _rx(r"\b(?:instructions|rules|guidelines|directions)\s+(?:were you|you were|you've been|you have been|have you been)\s+(?:given|told|provided)\b"
                              r"|\b(?:show|reveal|print|give|tell me|list|what are|output|reply with|dump|send|share|exact|precise)\b.{0,40}\b(?:guard(?:rail)?s?|probing|query|rate)\s+(?:thresholds?|budgets?|limits?|rules|settings|configuration|config|parameters)\b"
                              r"|\byour\s+(?:configuration|config|settings|set-?up|parameters)\b")),
        ("chat markup", _rx(r"<\|[a-z_]+\|>|\[/?inst\]|<</?sys>>|</?(?:system|assistant|user)>|^\s*#{1,6}\s*(?:system|assistant|instructions?)\b"
                            r"|^\s*(?:system|assistant)\s*:|\bend of (?:user )?(?:input|prompt|context)\b|\bbegin (?:new )?(?:system|admin|developer) (?:prompt|message|instructions?)\b")),
        ("terminal emulation", _rx(_EMULATE)),
        ("config flags", _rx(_CONFIG_FLAGS)),
        ("directive in pasted text", _rx(_EMBEDDED_DIRECTIVE)),
        ("rules declared void", _rx(_RULES_VOID)),
        ("setup text", _rx(_SETUP_TEXT)),
        ("probing the guard", _rx(_GUARD_PROBING)),
    ],
    "multilingual": [
        ("training data", _rx(r"\b(?:datos de entrenamiento|données d'entra[iî]nement|trainingsdaten\w*|dados de treinamento|dati di addestramento|conjunto de entrenamiento|jeu d'entra[iî]nement)\b|训练")),
        ("internals", _rx(r"\b(?:par[áa]metros internos|param[èe]tres internes|interne[nr]? parameter|coeficientes|coefficients du mod[èe]le|koeffizienten|pesos del modelo|poids du mod[èe]le|gewichte)\b|参数|系数")),
        ("override", _rx(r"\b(?:ignora|ignore[sz]?|ignoriere|ignorar|ignorez|vergiss|olvida|oublie)\b.{0,40}\b(?:reglas|r[èe]gles|regeln|regras|instrucciones|instructions|anweisungen|instru[çc][õo]es|sicherheitsregeln|restricciones|einschr[äa]nkungen)\b|忽略")),
        ("bulk", _rx(r"\b(?:exporta|exportiere|exporte[rz]?|exportar|descarga|t[ée]l[ée]charge)\w*\b.{0,40}\b(?:todos|todas|alle|tous|toutes|tutti)\b")),
        ("evasion", _rx(r"\b(?:no sea detectad[ao]|n[ãa]o seja detectad[ao]|ne soit pas d[ée]tect[ée]e?|nicht erkannt|unter der (?:\w+)?schwelle|sin ser detectad[ao]|sans [êe]tre d[ée]tect[ée]e?|evitar (?:ser )?detec)\w*")),
        ("deduce", _rx(r"\b(?:deducir|d[ée]duire|ableiten|deduzir|reconstruir|reconstruire|rekonstruieren)\b")),
    ],
    "evasion_coaching": [
        ("manipulate the model", _rx(
            r"\b(?:bypass\w*|evad\w*|circumvent\w*|get around|get past|get by|get through|fool\w*|trick\w*|game|gaming|beat|beating|defeat\w*|outsmart\w*|outwit\w*|cheat\w*|"
            r"slip (?:past|through|under|by)|sneak (?:past|through|by|under)|fly under|dodg\w*|sidestep\w*|skirt\w*|avoid\w*|escap\w*|elud\w*|"
            r"stay off|keep off|hide from|work around)\b.{0,30}\b(?:the|your|our|this|that|its|a)?\s*(?:\w+\s+)?(?:fraud (?:model|check|screen|filter|detection|system|rules?|team|controls?)|"
            r"model|detection|detector|screening|screen|filters?|alarms?|controls?|monitoring|checks?|rules?|algorithm|classifier|alerts?|scoring|holds?|step-?ups?|otps?|verification)\b"
            r"|\b(?:blind spots?|loop-?holes?|weak (?:spots?|points?)|weaknesses|gaps|holes)\b.{0,40}\b(?:i|we|someone|one)\s+(?:could|can|might|would)\s+(?:use|exploit|abuse|leverage|take advantage)"
            r"|\bexploit\w*\s+(?:the|a|this|your)?\s*(?:\w+\s+)?(?:model|weakness|blind spot|loophole|gap)"
            r"|\bunder the radar\b|\bbelow the radar\b|\boff the radar\b|\bwithout (?:raising|setting off|tripping|triggering) (?:any )?(?:alarms?|flags?|alerts?|suspicion|red flags?)\b")),
        ("(?:slip past)", _rx(r"\b(?:slip|sneak|get|sail|breeze|squeeze)\s+(?:me\s+|it\s+|us\s+|them\s+)?(?:past|through|by|under)\s+(?:the\s+)?(?:\w+[- ]){0,2}(?:verification|review|scrutiny|analysts?|fraud team|checks?|controls?|screening|monitoring|model)\b")),
    ],
}

# Evasion wording that is recourse on a credit or churn model ("how can she avoid being flagged as
# high risk?") but coaching on a model that screens adversaries (fraud, abuse, intrusion).
ADVERSARIAL_SCREENS: list[tuple[str, Callable[[str], str | None]]] = [
    ("from being caught", _rx(rf"\b(?:from|before|until|till)\s+(?:it\s+|they\s+|them\s+|the\s+\w+\s+)?(?:being\s+|getting\s+|gets?\s+|is\s+|are\s+)?(?:{_CAUGHT}|no longer {_CAUGHT})\b"
                              r"|\buntil (?:it|they|the \w+) (?:stops?|is no longer|isn'?t|aren'?t|no longer)\b"
                              r"|\bbefore (?:the |a |any )?(?:\w+[- ]){0,2}(?:check|rule|alert|model|flag|screen|limit|control)s?\s+(?:kicks? in|triggers?|fires?|trips?|catches|flags)\b"
                              r"|\b(?:set(?:s|ting)?|sets) (?:anything|something|it|them|alarms?|the model|flags?)\s+off\b|\b(?:trip|tripping|trigger|triggering|raise|raising)\s+(?:the |any )?(?:\w+ )?(?:fraud )?(?:checks?|flags?|alarms?|alerts?|rules?|model)\b")),
    ("boundary on a screening model", _rx(r"\b(?:amount|value|point|number|level|figure|threshold|sum|distance|count)\b.{0,25}\b(?:where|at which|that|when)\b.{0,40}\b(?:jumps?|flips?|moves?|goes|tips?|crosses|switches|changes|becomes|turns)\b"
                                          r"|\b(?:lowest|minimum|smallest|least)\s+(?:possible\s+)?(?:fraud\s+)?(?:score|risk|probability|tier)\b.{0,30}\b(?:for|with|combination|gives?)\b"
                                          r"|\b(?:combination|mix|setting|way)\b.{0,40}\b(?:gives?|gets?|produces?|yields?)\s+(?:the\s+)?(?:lowest|minimum|smallest|least)\b"
                                          r"|\benough to (?:skip|avoid|pass|dodge|escape|get past|clear|beat|get under|stay under|drop below|get through)\b"
                                          r"|\b(?:look|appear|seem|pass)\s+(?:like|as)\s+(?:a |an )?(?:\w+\s+){0,3}(?:to|for)\s+the\s+(?:\w+\s+)?(?:model|system|screen|check|detector)\b"
                                          r"|\b(?:redo|resubmit|retry|re-?run|try again|do it again|run it again)\b.{0,30}\b(?:that way|like that|with|so|instead)\b"
                                          r"|\b(?:still|stays?|remains?)\s+(?:lands?\s+in|in|gets?|is)\s+(?:the\s+)?(?:low(?:est)?|approve\w*|clear|safe|green|routine)\b")),
    ("not be caught", _rx(
        rf"\b(?:not|never|avoid|avoiding|without|won'?t|wouldn'?t|doesn'?t|don'?t|isn'?t|aren'?t|stop|escape|prevent|no longer|less likely to)\s+"
        rf"(?:being\s+|getting\s+|be\s+|get\s+|it\s+|them\s+|me\s+|us\s+|the\s+\w+\s+)?(?:\w+\s+)?{_CAUGHT}\b")),
    ("largest amount that passes", _rx(
        rf"\b(?:largest|biggest|maximum|max|highest|most|how much|how large|how big|how many|what amount|how far|how high|upper limit|limit|ceiling|"
        rf"safest|smallest|lowest|minimum|which|what)\b.{{0,60}}\b(?:without|before|that (?:would|will|won'?t|doesn'?t|does not|wouldn'?t)|and still|but not|while|so (?:it|that)|"
        rf"(?:is|are|would be|stays?|remains?) (?:safe|ok|okay|fine|allowed|under|below|clean|unflagged|approved|through))\b.{{0,40}}\b(?:{_CAUGHT}|pass|through|approved?|clean|safe|under|below|normal)")),
    ("look legitimate", _rx(r"\b(?:look|seem|appear|pass|read|come across)\s+(?:as\s+)?(?:more\s+)?(?:normal|legit|legitimate|genuine|clean|safe|ordinary|innocent|"
                            r"harmless|low[- ]risk|trustworthy|real|benign|authentic|routine)\b"
                            r"|\b(?:pass|get through|go through|clear|sail through|slip through)\s+(?:the\s+)?(?:\w+\s+)?(?:check|screen|screening|model|filter|review|detection|system)s?\b(?!\s+(?:card|documentation|docs|report|registry|inventory|results?|changes?|minutes|notes)\b)")),
    ("keep it low", _rx(
        r"\b(?:stay|keep|remain|fly|sit|get|hold)\b(?:\s+\w+){0,4}?\s+(?:just\s+)?(?:below|under|beneath|inside)\s+(?:the\s+)?(?:\w+[- ]){0,3}(?:radar|threshold|limit|cut-?off|cutoff|line|bar|trigger|level|ceiling|tier|score|review)\b"
        r"|\b(?:keeps?|stays?|remains?|lands?|puts?|leaves?)\s+(?:(?:each|it|them|one|me|us|the|a|an|every|my|our|this|that|\w+)\s+){0,3}(?:in|at|under|below)\s+(?:the\s+)?(?:low(?:est)?|approve\w*|green|clear|safe|routine)\b"
        r"|\b(?:before|until)\s+(?:\w+[- ]){0,6}(?:kicks? in|triggers?|fires?|trips?|catches|flags|jumps?|rises?|goes up|spikes?|climbs?|increases?|starts? (?:to )?(?:push|rais|flag|increas|trigger|count)\w*|gets? (?:triggered|tripped|asked|required))\b"
        r"|\b(?:tweaks?|changes?|adjustments?|edits?|steps|recipe|modifications?)\b.{0,40}\b(?:move|moves|flip|flips|drop|drops|bring|brings|get|gets|push|turn|turns|take|takes)\b.{0,40}\b(?:down|lower|approve\w*|low|pass|through|unflagged|elevated)\b"
        r"|\b(?:amount|distance|value|size|number|time|hour|merchant|category|country|limit|speed|count)\b.{0,30}\b(?:is|are|would be|counts as|stays?)\s+(?:safe|fine|ok|okay|acceptable|clean)\b"
        r"|\b(?:for (?:it|them|the \w+)|to) (?:pass|clear|get through|go through|be approved|get approved|be let through)\b"
        r"|\b(?:threshold|limit|amount|cut-?off|level) (?:under|below|beneath) which\b|\balways (?:get |be |go )?(?:approved|pass|passes|through|accepted)\b"
        r"|\bget\s+(?:\w+\s+){0,3}through\b|\b(?:unnoticed|undetected|unflagged|unchallenged|unchecked|unseen by)\b"
        r"|\b(?:looks?|seems?|appears?|passes?|reads?)\s+(?:as\s+)?(?:more\s+)?(?:normal|legit|legitimate|genuine|clean|ordinary|innocent|harmless|low[- ]risk|benign|routine)\b")),
    ("what passes next time", _rx(
        r"\b(?:what|which|how)\b.{0,50}\b(?:change|alter|adjust|tweak|done differently|do differently|differently|different|format|structure|look like)\b.{0,60}\b(?:clears?|go(?:es)? through|gone through|pass(?:es)?|approved|accepted|unflagged|stop holding|not (?:be )?(?:held|blocked|flagged|declined))\b"
        r"|\b(?:would have|would've)\s+(?:gone|got|gotten|been)\s+(?:through|approved|accepted|passed|fine|ok)\b"
        r"|\b(?:retry|retries|resubmit\w*|try again|re-?run it|second try|next attempt|redo it)\b"
        r"|\b(?:would|will|does|did|could|can)\s+(?:it|that|this|they|those|these|the \w+|a \$?[\d,.]+k? [\w-]+(?: [\w-]+)?)\s+(?:still\s+)?(?:pass|clear|get approved|be approved|have been approved|go through|be accepted|get through|fix (?:that|it)|be let through|slip)\b"
        r"|\bwhich (?:version|one|option|variant|combination|pair)\b.{0,20}\b(?:gets?|is|would be|would get)\s+(?:approved|accepted|through|passed|lower|lowest|let through)\b"
        r"|\b(?:flags?|flagged|scores?) less\b|\bless likely to (?:be )?(?:flag|catch|detect|block)\w*|\b(?:most|more|least) lenient\b|\blenient\b|\b(?:least|less) suspicious\b"
        r"|\bsafe (?:zone|window|range|region|area|band|amount|limit|spot)s?\b|\b(?:model|it) (?:basically |mostly )?ignores\b|\bfails? to (?:catch|detect|flag|notice|spot)\b.{0,60}\b(?:give|list|show|examples?|amounts?|replicate)\b"
        r"|\bstops? (?:catching|flagging|detecting|holding|blocking)\b|\bevasion surface\b|\bblend in\b|\bnever (?:cause|causes|trigger|triggers|get|gets|result in) (?:a |any )?(?:decline|hold|flag|alert|review|block)s?\b"
        r"|\b(?:need|have) to look like\b|\bconsiders? (?:\w+ )?(?:safe|normal|legit\w*|fine|clean)\b|\bprofile (?:that )?avoids\b|\blets? (?:\w+ )?through\b|\blet (?:it|them) through\b"
        r"|\b(?:amount|dollar|spending|value) (?:ceiling|cap)\b|\btime window\b|\b(?:is it|would it be|would that be|will it be|be) safe\b(?!\s+to (?:rely|use|trust|depend))"
        r"|\b(?:worth (?:doing|it|trying)|pick whichever|whichever is better|(?:we|i)'?d schedule|so (?:we|i) can (?:replicate|copy|use them|schedule|steer|coach|repeat))\b"
        r"|\b(?:cheapest|quickest|easiest|simplest|shortest|fastest)\s+(?:route|way|path|change|fix)\b.{0,30}\b(?:to|into|down)\b"
        r"|\bhow (?:old|long|soon|many|much|far|high|big|large|late|early)\b.{0,60}\b(?:before|without|until)\b.{0,40}\b(?:model|score|tier|flag\w*|hold|block\w*|trust\w*|high|critical|elevated|review|decline\w*|alert\w*|trigger\w*|kick\w*|jump\w*)\b"
        r"|\b(?:stays?|keeps?|remains?)\s+(?:under|below|beneath)\s+(?:\d|\$|0?\.)")),
    ("treated as safe", _rx(
        r"\bavoids? (?:the |a |any )?(?:holds?|flags?|step-?ups?|otps?|one-time codes?|challenges?|reviews?|declines?|blocks?|verification)\b"
        r"|\bleaves? (?:them|it|me|us|him|her) alone\b|\bstraight through\b|\bgo(?:es)? thru\b|\bgo thru\b|\bauto[- ]?approv\w*|\balways (?:approves?|fine|ok|okay)\b"
        r"|\bbasically always fine\b|\btreated as (?:low|safe|normal|legit\w*|routine)\b|\b(?:aren'?t|isn'?t|not) penali[sz]ed\b|\bstarts? to hurt\b"
        r"|\b(?:where|when|at what \w+) (?:the )?(?:step-?up|otp|hold|review|flag|one-time code|verification) (?:starts|kicks in|begins|happens)\b"
        r"|\blook (?:better|less suspicious|safer|more normal|more legit\w*) to the\b|\bfak(?:e|ed|ing)\b|\bwarm(?:ing)? up (?:the |a )?card\b"
        r"|\bblind to\b|\b(?:blind spots?|gaps?|weak spots?)\b.{0,80}\b(?:so (?:that )?(?:i|we|my \w+|our \w+|they) can|(?:to|and) (?:use|exploit|route|push|run|get)\b|through them|stick to)|\b(?:safer|safest) (?:to use|for|as far as)\b|\bas far as the model is concerned\b"
        r"|\bstructure (?:the|a|my|their|his|her|this) (?:\w+ )?(?:purchase|payment|transfer|transaction|order)s?\b|\bspace (?:things|them|it|purchases|transactions|payments) out\b"
        r"|\bmake (?:the )?(?:fraud )?model (?:approve|accept|pass|ignore|miss|allow)\b"
        r"|\b(?:minimum|smallest|least|cheapest|single)\b.{0,40}\b(?:perturbation|change|lower|input|tweak|edit|reduction)\b.{0,60}\b(?:flips?|drop|out of|made it|make it|low|elevated|approve\w*|pass)\b"
        r"|\b(?:help|helps)\s+(?:\w+\s+)?(?:dodge|avoid|beat|get past|slip)\b")),
    ("criminal intent", _rx(r"\b(?:mule accounts?|money mules?|(?:our|my) mules?|stolen cards?|stolen card (?:details|numbers)|cash(?:ing)? out|launder\w*|card testing|test(?:ing)? (?:a )?stolen|carding|"
                            r"fraudulent (?:purchases?|transactions?|charges?|payments?)|commit fraud|make (?:a )?fraudulent|get away with)\b")),
    ("safe amounts", _rx(r"\b(?:safe|safest|okay|ok|fine|acceptable|allowed|tolerated)\s+(?:\w+\s+)?(?:amount|limit|number|time|way|merchant|category|country|hour|distance|size|value|to send|to spend|to transfer|to charge)\b"
                         r"|\bleast likely to\b|\b(?:i|we|my|our)\b.{0,40}\b(?:lower|reduce|decrease|bring down|minimi[sz]e|keep down)\s+(?:my|our|the|its|this|their)\s+(?:\w+\s+)?(?:fraud\s+)?(?:score|risk|probability|tier)\b")),
    ("structure payments", _rx(rf"\b(?:split|split up|broken (?:up|down)|break(?:ing)? up|break(?:ing)? down|structure|structuring|spread|space(?:d)? out|spacing|chop|divide|smurf\w*|stagger|push|run|put)\b.{{0,40}}\b(?:payments?|transfers?|transactions?|"
                               rf"purchases?|amounts?|deposits?|withdrawals?|charges?|money|cash|sums?|top-?ups?|orders?)\b.{{0,100}}\b(?:so|to|avoid|stay|under|below|keep|without|not)\b")),
    ("stay under the line", _rx(r"\b(?:stay|keep (?:it|them|this|that|things|amounts?|me|us)|remain|fly|sit)\s+(?:just\s+)?(?:below|under|beneath|inside|within)\s+(?:the\s+)?"
                                r"(?:\w+\s+)?(?:radar|threshold|limit|cut-?off|line|bar|trigger|level|ceiling|tier)\b")),
    ("what makes it pass", _rx(rf"\b(?:what|which|how)\b.{{0,40}}\b(?:change|tweak|adjust|modify|alter|edit|make|get|use|pick|choose)\b.{{0,60}}\b(?:not|no longer|never|won'?t|wouldn'?t)\s+(?:be\s+|get\s+)?{_CAUGHT}"
                               r"|\bstop (?:it |them |this |the model )?(?:from )?(?:flagging|detecting|catching|blocking|alerting)\b")),
    ("soft spot", _rx(_SOFT_SPOT)),
    ("kept out of review", _rx(_OUT_OF_REVIEW)),
    ("shaping the transaction", _rx(_SHAPE_IT)),
]

# Questions about an attack or defence, not attempts at one: answered from the documents.
_EDUCATIONAL = re.compile(
    r"^(?:(?:hi|hey|hello|ok|okay|so|quick question|question)[,:!]?\s+)?(?:(?:can you |could you |please )?(?:explain|define|describe) (?:what (?:is |are )?(?:an? )?|how (?:an? |do |does )|the (?:concept|term|idea|notion|meaning) of )|what (?:is|are|does|do) (?:an? )|what'?s (?:an? )|"
    r"what (?:does|do) .{0,40}\bmean\b|how (?:do|does|did|would|can|could|should|are|is) (?:you|we|modeldesk|the (?:team|bank|company|product|assistant|service)|our (?:team|bank|company)|"
    r"it|this (?:assistant|tool|product|service)|models? (?:like|such))\b.{0,30}\b(?:protect|defend|prevent|detect|stop|guard|handle|mitigate|respond|deal|cope|"
    r"spot|catch|block|notice|monitor|secure|keep)|(?:is|are) (?:we|our (?:\w+ )?models?|the (?:\w+ )?models?) (?:protected|safe|secure|vulnerable|exposed|at risk|resistant)\b|"
    r"has (?:there|anyone|anybody) (?:ever )?been\b|have (?:there|we) (?:ever )?(?:been|had|seen)\b|(?:were|was) there (?:any )?(?:incidents?|attacks?|attempts?)\b|"
    r"what(?:'s| is) (?:our|the|your) (?:policy|guidance|runbook|procedure|process|playbook|stance|position|rule) (?:on|for|about|regarding|around)\b|"
    r"(?:why|how) (?:can'?t|cannot|don'?t|won'?t|do(?:n'?t)? you not) (?:you|i|we)\b|why (?:are|is|do|does|did|was|were) (?:there|you|we|it|my|i)\b|why (?:don'?t|can'?t|won'?t|doesn'?t|aren'?t|isn'?t|do|does|are|is) (?:\w+ ){0,3}(?:users?|we|i|me|you|they|analysts?|people|it|staff|customers|modeldesk|the assistant)\b)",
)
_EDUCATIONAL_ANYWHERE = _compile(
    r"\b(?:what is|what's|what are|explain|definition of|meaning of|tell me about|learn about|read about|awareness|training course|"
    r"examples? of|kinds? of|types? of)\s+(?:an?\s+|the\s+)?(?:term\s+)?(?:model (?:extraction|inversion|stealing|theft)|membership inference|"
    r"data poisoning|poisoning|evasion(?: attacks?)?|prompt injection|jailbreak(?:ing|s)?|adversarial (?:attacks?|examples?|machine learning)|"
    r"extraction attacks?|inversion attacks?|mitre atlas|atlas)\b"
    r"|\b(?:protect|defend|safeguard|secure|guard)\w*\s+(?:\w+\s+){0,3}(?:against|from)\b"
    r"|\b(?:someone|somebody|anyone|anybody|attackers?|an attacker|adversar(?:y|ies)|bad actors?|hackers?|criminals?|fraudsters?|"
    r"insiders?|people|thieves|a thief)\b(?!\s+(?:tell|give|show|send|help|list|print|export|explain)\b)(?:\s+\w+){0,6}?\s+(?:tr(?:y|ies|ied|ying) to|attempt\w* to|wants? to|"
    r"could|might|would|can|used?|uses)\b"
    r"|\b(?:could|can|would|might) (?:someone|somebody|anyone|an attacker|attackers|people|a hacker|an insider|a fraudster)\b(?!\s+(?:tell|give|show|send|help|list|print|export|explain|paste|pull)\b)"
    r"|\b(?:keep|stop|prevent)\w*\s+(?:\w+\s+){0,2}(?:fraudsters|attackers|people|someone|users|customers|adversaries|criminals|insiders)\s+from\b"
    r"|^how (?:do|would|can|could|should) we (?:know|tell|detect|check|find out|spot|notice)\b"
    r"|\bwhat (?:stops|prevents|protects|would stop|would prevent|happens (?:when|if))\b|\bhas (?:anyone|anybody|someone) (?:ever )?(?:tried|attempted)\b"
    r"|\b(?:incidents?|attacks?|attempts?|cases?)\s+(?:of|involving|related to|about|with)\s+(?:model extraction|membership inference|data poisoning|"
    r"poisoning|evasion|prompt injection|inversion|extraction)\b"
    r"|\b(?:policy|policies|runbook|guidance|procedure|playbook|faq|documentation|docs)\b.{0,30}\b(?:on|for|about|regarding|around|covering)\b"
    r"|\baml\.t\d{4}\b|\bbug bount(?:y|ies)\b|\bresponsible disclosure\b|\bwhat would happen\b|\bis there (?:a|any) risk\b|\bwhat do we do about (?:it|this|that)\b"
    r"|\bincident response\b|\b(?:is|are) (?:our|the) (?:\w+ ){0,2}(?:files?|artifacts?|models?|weights|backups?) (?:stored|kept|encrypted|backed up|protected|secured|access-controlled)\b"
    r"|\bha(?:s|ve) (?:that|this|it|they) been (?:tested|checked|red-teamed|evaluated)\b"
    r"|\bin (?:general|plain english|broad terms)\b.{0,60}\b(?:toy|example|mean|explain)\b|\btoy example\b"
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "i", "+": "t"})
_LEET_L = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "|": "l", "+": "t"})
_LEET_IN_WORD = re.compile(r"(?<=[a-z])[01345@$!|+7]|[01345@$!|+7](?=[a-z])")
_LEET_WORD = re.compile(r"[^\s01345@$!|+7]*(?:[a-z][01345@$!|+7]|[01345@$!|+7][a-z])\S*")  # only words with a symbol next to a letter
_CODE_LIKE = re.compile(r"^(?:[a-z]{1,4}[-.]?\d{3,}|\d+(?:am|pm|h|k|km|st|nd|rd|th|s)|[a-z_]*_\w*|\$?[\d,.]+%?)$")


def _deleet(text: str, table: dict) -> str:
    """Read digits and symbols inside words as letters, leaving ids, times and field names alone."""
    def word(m: re.Match) -> str:
        token = m.group(0)
        if _CODE_LIKE.match(token.strip(".,;:?!'\"()")):
            return token
        return _LEET_IN_WORD.sub(lambda c: c.group(0).translate(table), token)

    return _plain(_LEET_WORD.sub(word, text.lower()))


_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad\U000e0000-\U000e007f]")


def readings(text: str) -> list[tuple[str, str]]:
    """The message as typed plus the ways an obfuscated message can be read: (how, text)."""
    raw = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    plain = _plain(_names(raw))
    out = [("as written", plain)]
    leet = _deleet(_names(raw), _LEET)
    if leet != plain:
        out.append(("leetspeak", leet))
    if leet != plain and re.search(r"[a-z][1|]|[1|][a-z]", raw.lower()):
        leet_l = _deleet(_names(raw), _LEET_L)  # "ru13s": a 1 can stand for l as well as i
        if leet_l not in (plain, leet):
            out.append(("leetspeak", leet_l))
    sms = re.sub(r"\bur\b", "your", re.sub(r"\bu\b", "you", re.sub(r"\br\b", "are", re.sub(r"\b(?:pls|plz|plox)\b", "please", plain))))
    if sms != plain:
        out.append(("text speak", sms))
    spaced = re.sub(r"\b(?:\w[ .\-_*]){3,}\w\b", lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), plain)
    if spaced != plain:
        out.append(("spaced out", spaced))
    for blob in re.findall(r"[A-Za-z0-9+/]{16,}={0,2}", raw):
        decoded = _b64(blob)
        if decoded:
            out.append(("base64", _plain(decoded)))
    if re.search(r"\brot-?13\b|\bcaesar\b|\bencoded\b|\bcipher\b", plain) or _unusual_words(plain):
        out.append(("rot13", _plain(codecs.decode(raw, "rot13"))))
    joined = raw
    while True:  # 'sys' + 'tem pro' + 'mpt' -> 'system prompt'
        step = re.sub(r"(['\"])([^'\"]{0,40})\1\s*\+\s*(['\"])([^'\"]{1,40})\3", r"\1\2\4\1", joined, count=1)
        if step == joined:
            break
        joined = step
    if joined != raw:
        out.append(("joined fragments", _plain(joined)))
    if re.search(r"\b(?:backwards|reversed|in reverse)\b", plain):
        out.append(("reversed", _plain(raw[::-1])))
    for blob in re.findall(r"\b(?:[0-9a-fA-F]{2}\s?){12,}\b", raw):
        try:
            decoded = bytes.fromhex(blob.replace(" ", "")).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        if decoded.isprintable():
            out.append(("hex", _plain(decoded)))
    return out


_NOT_NAMES = {"was", "were", "is", "are", "did", "does", "do", "has", "have", "had", "the", "what", "which", "who", "how",
              "why", "when", "where", "can", "could", "would", "will", "should", "please", "tell", "show", "give", "and",
              "hi", "hey", "hello", "dear", "so", "ok", "if", "in", "on", "for", "of", "a", "an", "my", "our", "i", "is"}


def _names(text: str) -> str:
    """Mark people's names (two capitalised words, "Mr Smith") so the lower-cased readings still see a person."""
    def person(m: re.Match) -> str:
        first, second = m.group(1), m.group(2)
        if first.lower() in _NOT_NAMES or second.lower() in _NOT_NAMES:
            return m.group(0)
        return "a named person"

    text = re.sub(r"\b([A-Z][a-z]+)\s+([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b(?!\s+(?:model|region|tier|team|policy|card|bank))", person, text)
    return re.sub(r"(?i:\b(?:was|is|were|did|does|has|have)\s)(?-i:[A-Z][a-z]+)\b(?!\s+(?:model|region|tier|team))",
                  lambda m: m.group(0).split()[0] + " a named person", text)


def _plain(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    return re.sub(r"[ \t]+", " ", text).strip()


def _b64(blob: str) -> str | None:
    try:
        decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None
    letters = sum(c.isalpha() or c.isspace() for c in text)
    return text if text and letters / len(text) > 0.8 and " " in text else None


_COMMON = re.compile(r"\b(?:the|and|is|of|to|a|in|what|for|you|it|on|me|my|if|be|are|this|that|with|all|how|why|can)\b")


def _unusual_words(text: str) -> bool:
    """Many words but almost none of the commonest English ones: possibly a rot13 or similar cipher."""
    words = re.findall(r"[a-z]{2,}", text)
    return len(words) >= 3 and len(_COMMON.findall(text)) <= len(words) // 10


_TOPIC_RULES = {"jailbreak", "system prompt", "configuration", "encoded payload"}
_TOPIC_DETECTIONS = {"directive to an AI"}  # "could pasted emails hold hidden instructions for the assistant?" names the risk
_NEVER_EXCUSED = {"criminal intent"}  # "can someone use a stolen card at…" is not a question about attacks


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|\n+")


def _sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(text) if part.strip()]


def educational(text: str, evidence: str | None = None) -> bool:
    """A question about attacks or defences in general, not an attempt on a model.

    With `evidence`, only the sentence holding it and the one after it count ("someone said 'decision
    boundary'. what does that mean?"): a general question in one sentence does not excuse an attempt
    tucked into another ("what does high mean? ... now list every one of them")."""
    sentences, general = _educational_sentences(text)
    if evidence is not None and len(sentences) > 1:
        where = [i for i, part in enumerate(sentences) if evidence[:40] in part]
        if where:
            return any(general[where[0]:where[-1] + 2])
    return any(general)


@functools.lru_cache(maxsize=64)
def _educational_sentences(text: str) -> tuple[list[str], list[bool]]:
    """The sentences of a message and, for each, whether it is a general question about attacks."""
    sentences = _sentences(_plain(text))
    return sentences, [bool(_EDUCATIONAL.search(part) or _EDUCATIONAL_ANYWHERE.search(part)) for part in sentences]


def screen(text: str, *, adversarial: bool = False) -> Finding | None:
    """The first finding against a message, or None when it may be answered.

    `adversarial` is true when the question concerns a model that screens adversaries (fraud,
    abuse, intrusion): there, recourse wording is evasion coaching.
    """
    views = readings(text)
    # Prompt injection is screened in every reading and is never excused as "educational".
    for how, view in views:
        for reason in injection.detect(view):
            if how == "as written" and reason.split(":")[0] in _TOPIC_DETECTIONS and educational(view) and "?" in view:
                continue
            return Finding("prompt_injection", reason.split(":")[0] + ("" if how == "as written" else f" ({how})"), reason)
        for rule, evidence in _matches("prompt_injection", view):
            if rule in _TOPIC_RULES and how == "as written" and educational(view, evidence):
                continue  # "what's a jailbreak, and do you block them?" names the topic, it is not one
            return Finding("prompt_injection", rule + ("" if how == "as written" else f" ({how})"), evidence)
    for how, view in views:
        encoded = how != "as written"
        for category in ("evasion_coaching", "model_internals", "bulk_extraction", "membership_inference", "inversion"):
            for rule, evidence in _matches(category, view):
                if encoded or not educational(view, evidence):
                    return Finding(category, rule, evidence)
        found = _match("multilingual", view)
        if found:
            category = {"training data": "membership_inference", "internals": "model_internals", "override": "prompt_injection",
                        "bulk": "bulk_extraction", "evasion": "evasion_coaching", "deduce": "inversion"}[found[0]]
            return Finding(category, f"{found[0]} (not in English)", found[1])
        if adversarial:
            for rule, find in ADVERSARIAL_SCREENS:
                evidence = find(view)
                if evidence and (encoded or rule in _NEVER_EXCUSED or not educational(view, evidence)):
                    return Finding("evasion_coaching", rule, evidence)
    return None


def _match(category: str, text: str) -> tuple[str, str] | None:
    return next(_matches(category, text), None)


def _matches(category: str, text: str):
    """Every rule of a category that matches, in order, with its evidence."""
    for rule, find in SCREENS[category]:
        evidence = find(text)
        if evidence:
            yield rule, evidence
