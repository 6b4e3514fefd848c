"""Training pipeline for the guard-minilm bundle. Run `python -m classifiers.train.all`."""
