"""Classifier bundles and the code that trains them (see classifiers/BUNDLE.md)."""
