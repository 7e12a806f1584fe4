"""Fine-tuning: recipes (``recipe``), the run (``finetune``, with ``encoding`` for examples and the loss
and ``checks`` for what is checked before weights load), trained adapters (``adapters``) and the
embedded default model (``embedded_model``). It reads its data through the family contract and imports
neither lm-eval nor the study, the report or the command line."""
