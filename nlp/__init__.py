"""Text analysis: the jieba keyword classifier.

Public API (the rest of the bot imports only these names):

- ``classify(text) -> Suggestion`` with the packaged default lexicons,
- ``default_classifier()`` the lazily created classifier behind ``classify``,
- ``Classifier`` (``Classifier.load(...)`` for a business's own lexicon files),
- ``LexiconError`` raised at load time with file, line and problem,
- ``FALLBACK``, the id of the category for what fits no other ("other"),
- the value types ``Suggestion``, ``Cue``, ``SeverityCue``, ``Severity``, ``Category``.

May import only the standard library and jieba (see DESIGN.md). Importing ``nlp`` is
cheap: jieba is imported and initialised on the first classification.
"""

from nlp.classifier import FALLBACK, Classifier, classify, default_classifier
from nlp.lexicon import LexiconError
from nlp.types import Category, Cue, Severity, SeverityCue, Suggestion

__all__ = [
    "FALLBACK",
    "Category",
    "Classifier",
    "Cue",
    "LexiconError",
    "Severity",
    "SeverityCue",
    "Suggestion",
    "classify",
    "default_classifier",
]
