"""Plain SFT of Qwen3-VL: answer-only labels, answer-position logits, HF Trainer, `vlm3 train`.

- ``collator.SFTCollator`` / ``collator.encode_sample``: samples -> batches, loss on answers only.
- ``loss.answer_position_loss``: LM-head logits only where a label is supervised.
- ``small``: the CPU demo's small-model speed-ups (answer-vocabulary head, used-rows embedding,
  median number decoding); off by default and in every 4B recipe.
- ``config``: typed recipes (YAML + ``key=value`` overrides); ``trainer.run_training``.
- ``sft_trainer.VLM3Trainer``: the ``Trainer`` subclass (answer-position loss, length grouping,
  throughput logs, stock-weight saves); ``small.trainer.SmallModelTrainer`` extends it for the demo.
- ``dataset.ShardDataset``: JSONL shards from ``vlm3 data``.
- ``checkpoints``: which checkpoint resumes (complete ones only, a warning without optimizer
  state) and the refusal of an output_dir that holds another model.
- ``saving.save_final_model``: the final output as one complete HF model folder on every path.
"""
