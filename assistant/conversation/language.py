"""Which language a message is written in, and what to say when it is not one ModelDesk reads.

The understanding layer and the guard's judge learned from English. A message in another language
is answered when its content is still understood (a record id, a model named), and otherwise told
which languages are supported — in its own language where a sentence for it is known. It is never
refused because of its language.

Identification: the message's script first (Han, kana, Hangul, Cyrillic, Arabic, Devanagari... are
not English whatever a statistical model thinks), then py3langid's naive-Bayes model over byte
n-grams (bundled in the package, nothing downloaded) for Latin-script text. Short or mixed messages
("C-10293?", "ok thanks", "why?") stay English unless the model is confident.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

SUPPORTED = ("en",)
CONFIDENT = 0.9  # py3langid's normalised probability needed to call Latin-script text not English
MIN_WORDS = 3

NAMES = {"en": "English", "zh": "Chinese", "es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese",
         "it": "Italian", "ja": "Japanese", "ko": "Korean", "nl": "Dutch", "ru": "Russian", "pl": "Polish",
         "tr": "Turkish", "ar": "Arabic", "hi": "Hindi", "vi": "Vietnamese", "sv": "Swedish", "da": "Danish",
         "no": "Norwegian", "fi": "Finnish", "cs": "Czech", "uk": "Ukrainian", "el": "Greek", "he": "Hebrew",
         "id": "Indonesian", "ro": "Romanian", "hu": "Hungarian", "th": "Thai", "ca": "Catalan"}

# "I read questions in English for now..." in the languages the product's users write most.
NOT_YET = {
    "zh": "我目前只能理解英文提问。请用英文提问，例如：“What is the risk tier for customer C-10293?”",
    "ja": "現在、英語の質問のみ理解できます。英語で質問してください。例: \"What is the risk tier for customer C-10293?\"",
    "ko": "현재는 영어 질문만 이해할 수 있습니다. 영어로 질문해 주세요. 예: \"What is the risk tier for customer C-10293?\"",
    "es": "Por ahora solo entiendo preguntas en inglés. Pregunte en inglés, por ejemplo: \"What is the risk tier for "
          "customer C-10293?\"",
    "fr": "Pour l'instant, je ne comprends que les questions en anglais. Posez votre question en anglais, par exemple : "
          "« What is the risk tier for customer C-10293? »",
    "de": "Derzeit verstehe ich nur Fragen auf Englisch. Bitte fragen Sie auf Englisch, zum Beispiel: \"What is the "
          "risk tier for customer C-10293?\"",
    "pt": "Por enquanto só entendo perguntas em inglês. Pergunte em inglês, por exemplo: \"What is the risk tier for "
          "customer C-10293?\"",
    "it": "Per ora capisco solo domande in inglese. Chieda in inglese, per esempio: \"What is the risk tier for "
          "customer C-10293?\"",
    "nl": "Voorlopig begrijp ik alleen vragen in het Engels. Stel uw vraag in het Engels, bijvoorbeeld: \"What is the "
          "risk tier for customer C-10293?\"",
    "ru": "Пока я понимаю только вопросы на английском. Спросите, пожалуйста, по-английски, например: \"What is the "
          "risk tier for customer C-10293?\"",
}

# Scripts that are never English: a message mostly in one of them is in another language.
_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "CYRILLIC", "ARABIC", "HEBREW", "DEVANAGARI", "THAI", "GREEK",
            "BENGALI", "TAMIL", "GEORGIAN", "ARMENIAN")
_SCRIPT_LANG = {"HIRAGANA": "ja", "KATAKANA": "ja", "HANGUL": "ko", "CJK": "zh", "CYRILLIC": "ru", "ARABIC": "ar",
                "HEBREW": "he", "DEVANAGARI": "hi", "THAI": "th", "GREEK": "el"}
_WORD = re.compile(r"[^\W\d_]{2,}")
_ID_LIKE = re.compile(r"\b[A-Za-z]{1,4}-?\d+\b|https?://\S+|`[^`]*`")


@dataclass(frozen=True)
class Language:
    code: str
    confidence: float

    @property
    def supported(self) -> bool:
        return self.code in SUPPORTED

    @property
    def name(self) -> str:
        return NAMES.get(self.code, self.code)


_lock = threading.Lock()
_identifier = None


def _model():
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _identifier


def _script(ch: str) -> str | None:
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return None
    for script in _SCRIPTS:
        if name.startswith(script):
            return script
    return "LATIN" if name.startswith("LATIN") else None


@lru_cache(maxsize=4096)
def detect(text: str) -> Language:
    """The message's language; English when unsure (short, mixed or mostly ids and numbers)."""
    body = _ID_LIKE.sub(" ", text)
    letters = [s for s in (_script(c) for c in body if c.isalpha()) if s]
    if not letters:
        return Language("en", 0.0)
    counts: dict[str, int] = {}
    for s in letters:
        counts[s] = counts.get(s, 0) + 1
    script, n = max(counts.items(), key=lambda kv: kv[1])
    if script != "LATIN" and n >= 0.3 * len(letters):
        if script == "CJK" and ("HIRAGANA" in counts or "KATAKANA" in counts):
            script = "HIRAGANA"
        code = _SCRIPT_LANG.get(script, "und")
        if script == "CJK" or script == "CYRILLIC":
            guess, p = _model().classify(body)  # Chinese or Japanese kanji-only; Russian, Ukrainian...
            if guess in {"zh", "ja", "ru", "uk", "bg", "sr", "mk"}:
                code = guess
        return Language(code, 1.0)
    if len(_WORD.findall(body)) < MIN_WORDS:
        return Language("en", 0.0)
    code, p = _model().classify(body)
    if code != "en" and p >= CONFIDENT and code in NAMES:
        return Language(code, float(p))
    return Language("en", float(p) if code == "en" else 1.0 - float(p))


def not_understood(language: Language) -> str:
    """What to say to a message in a language ModelDesk does not read yet."""
    english = ("I can only read questions in English for now" + (f", not {language.name}" if language.name != language.code else "")
               + ". Please ask in English — for example \"What is the risk tier for customer C-10293?\" or \"How "
               "accurate is the churn model?\"")
    local = NOT_YET.get(language.code)
    return f"{local}\n\n{english}" if local else english
