"""Text analysis: the jieba keyword classifier.

Public API (the rest of the bot imports only these names):

- ``classify(text) -> Suggestion`` with the packaged default lexicons,
- ``Classifier`` (``Classifier.load(...)`` for a business's own lexicon files),
- ``LexiconError`` raised at load time with file, line and problem,
- the value types ``Suggestion``, ``Cue``, ``SeverityCue``, ``Severity``, ``Category``.

May import only the standard library and jieba (see DESIGN.md).
"""

from nlp.types import Category, Cue, Severity, SeverityCue, Suggestion

__all__ = ["Category", "Cue", "Severity", "SeverityCue", "Suggestion"]
