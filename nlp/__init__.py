"""Text analysis: the jieba keyword classifier.

Public API (the rest of the bot imports only these names):

- ``classify(text) -> Suggestion`` with the packaged default lexicons,
- ``default_classifier()`` the lazily created classifier behind ``classify``,
- ``Classifier`` (``Classifier.load(...)`` for a business's own lexicon files),
- ``LexiconError`` raised at load time with file, line and problem,
- ``Classifier.details(text, today) -> Details``: the order number, contact, time
  (``When``) and amount paid (``Amount``) a customer's words state (:mod:`nlp.details`),
- ``FALLBACK``, the id of the category for what fits no other ("other"),
- the value types ``Suggestion``, ``Cue``, ``SeverityCue``, ``Severity``, ``Category``.

May import only the standard library and jieba (see DESIGN.md). Importing ``nlp`` is
cheap: jieba is imported and initialised on the first classification.
"""

from nlp.classifier import FALLBACK, Classifier, classify, default_classifier
from nlp.details import Amount, Details, When, extract_details
from nlp.lexicon import LexiconError
from nlp.types import Category, Cue, Severity, SeverityCue, Suggestion

__all__ = [
    "FALLBACK",
    "Amount",
    "Category",
    "Classifier",
    "Cue",
    "Details",
    "LexiconError",
    "Severity",
    "SeverityCue",
    "Suggestion",
    "When",
    "classify",
    "default_classifier",
    "extract_details",
]
