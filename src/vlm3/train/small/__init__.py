"""Small-model CPU speed-ups: what the CPU demo's tiny Qwen3-VL needs and a 4B run never does.

- ``answer_vocab``: softmax over the answer tokens only (``train.answer_vocab=answers``); the
  saved model's ``generation_config.json`` suppresses the other tokens, so plain transformers
  decodes it the same way.
- ``embedding_rows``: the tied embedding trained through the rows the data uses
  (``train.embedding_grad=used_rows``); folded into plain weights before every save.
- ``number_decoding``: median decoding of fixed-width numbers (eval ``numbers: median``).
- ``options``: the validation of these options and what the trainer attaches for them.
- ``trainer``: ``SmallModelTrainer``, the ``VLM3Trainer`` that ``run_training`` picks (and
  imports this package for) only when a config sets one of these options.

The 4B recipes set none of them (the defaults are off) and train without importing this
package; a saved checkpoint needs none of this code to load or decode. Each piece is kept
because it was measured to earn its place on the demo workload (docs/training.md,
docs/evaluation.md).
"""
