"""Evaluation harness: run a policy over labelled rows and measure it, calibrate thresholds.

- `metrics`: precision, recall, F1, FPR, average precision, threshold for a target FPR (pure)
- `data`: labelled JSON Lines rows and which labels are positive
- `runner`: rows through `Pipeline.check`, keeping every guard score (below threshold too)
- `report`: outcomes -> the report dict and its text table (pure); `plot`: PR curves as PNG
- `calibrate`: a rule's thresholds for a target FPR (any label firing) on benign rows, with
  minimum-data and held-out checks
- `policy_edit`: write thresholds into a policy file, keeping comments and layout

The CLI commands are `guardrail eval` and `guardrail calibrate` (`guardrail/cli/eval.py`).
"""
