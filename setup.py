"""Build hook: copy the shipped classifier bundles into the wheel as `guardrail/bundles/`.

The repository keeps bundles in `classifiers/` at the top (training writes there); an
installed package has no checkout next to it, so a wheel carries the bundles that the shipped
policies name (`WHEEL_BUNDLES`) as package data. Every file that a bundle's `bundle.yaml`
lists is copied, plus `bundle.yaml` itself, so a retrained bundle needs no change here.
Editable installs copy nothing: they read `classifiers/` in the checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ruamel.yaml import YAML
from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# guard-minilm is what policies/default.yaml and strict.yaml use, and policies/default.yaml
# sends text in non-Latin scripts to guard-multilingual (~42 MB with its tokenizer);
# guard-minilm-l4 (~20 MB) is a smaller, weaker alternative that stays in the repository
# (see README "Install").
WHEEL_BUNDLES = ("guard-minilm", "guard-multilingual")


def bundle_files(folder: Path) -> list[str]:
    """bundle.yaml and every file it lists; a listed file that is missing stops the build."""
    manifest = YAML(typ="safe", pure=True).load((folder / "bundle.yaml").read_text("utf-8"))
    listed = sorted(manifest.get("files") or {})
    missing = [name for name in listed if not (folder / name).is_file()]
    if missing:
        raise SystemExit(f"{folder}: files listed in bundle.yaml are missing: {missing}")
    return ["bundle.yaml", *listed]


class BuildWithBundles(build_py):
    """`build_py` that also copies the bundles into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name in WHEEL_BUNDLES:
            source = ROOT / "classifiers" / name
            target = Path(self.build_lib) / "guardrail" / "bundles" / name
            target.mkdir(parents=True, exist_ok=True)
            for file in bundle_files(source):
                shutil.copyfile(source / file, target / file)


setup(cmdclass={"build_py": BuildWithBundles})
