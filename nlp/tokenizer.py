"""Private jieba tokenizers: one per classifier, sharing one read of jieba's dictionary.

The global ``jieba.dt`` is never used or modified, so a business's user dictionary
cannot leak into other classifiers or other code that uses jieba. jieba is imported
only when the first tokenizer is built, which keeps ``import nlp`` cheap.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from nlp.lexicon import UserWord
from nlp.segment import DagCutter
from nlp.text import fold

if TYPE_CHECKING:
    import jieba

logger = logging.getLogger(__name__)

_base: jieba.Tokenizer | None = None
_base_lock = threading.Lock()


def build_cutter(userdict: tuple[UserWord, ...]) -> DagCutter:
    """A block cutter over jieba's dictionary plus ``userdict`` (see :class:`DagCutter`)."""
    return DagCutter(build_tokenizer(userdict))


def build_tokenizer(userdict: tuple[UserWord, ...]) -> jieba.Tokenizer:
    """A private jieba tokenizer with the user words added.

    jieba's main dictionary is read once per process (~0.6 s with jieba's cache file);
    each tokenizer gets its own copy of it (~15 ms). Segmentation later runs without
    HMM: for keyword matching it was as accurate on the dev set as with HMM (unknown
    words fall apart into single characters, which only adds token boundaries) and
    it is faster.
    """
    import jieba

    base = _base_dictionary()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ = dict(base.FREQ)
    tokenizer.total = base.total
    tokenizer.initialized = True
    for entry in userdict:
        tokenizer.add_word(fold(entry.word), entry.freq, entry.tag)
    logger.debug("jieba tokenizer ready with %s user words", len(userdict))
    return tokenizer


def _base_dictionary() -> jieba.Tokenizer:
    """jieba's default dictionary, loaded once and never modified (copies are)."""
    global _base
    with _base_lock:
        if _base is None:
            import jieba

            # jieba logs its start-up at DEBUG on its own logger; keep that logger quiet.
            logging.getLogger("jieba").setLevel(logging.WARNING)
            base = jieba.Tokenizer()
            base.initialize()
            _base = base
        return _base
