"""``sparsewire export MODEL --format thinned|onnx``: a saved (pruned) model as a smaller dense network or ONNX."""

from __future__ import annotations

import argparse
from pathlib import Path

from sparsewire.cli.main import subcommand

SUFFIXES = {"thinned": ".thinned.pt", "onnx": ".onnx"}


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a model file written by sparsewire.models.save_model (weights + JSON spec)")
    p.add_argument("--format", choices=sorted(SUFFIXES), default="thinned",
                   help="thinned: smaller dense network (sparsewire model file, or a torch.export .pt2 program when "
                        "the thinned architecture has no spec); onnx: ONNX checked with onnxruntime (needs the "
                        "'onnx' extra)")
    p.add_argument("--out", default=None, help="output file (default: next to MODEL, e.g. MODEL.thinned.pt)")
    p.add_argument("--no-thin", action="store_true", help="onnx: export the model as it is, without thinning")


@subcommand("export", _args)
def _export(args: argparse.Namespace) -> int:
    """Export a saved model thinned (smaller dense network) or as ONNX (verified with onnxruntime)."""
    from sparsewire.inference.export import export_model
    from sparsewire.models import load_model
    from sparsewire.thinning import count_parameters, thin

    model = load_model(args.model)
    source = Path(args.model)
    out = Path(args.out) if args.out else source.with_name(source.stem + SUFFIXES[args.format])
    written = export_model(model, out, args.format, thinned=not args.no_thin)
    kept = model if args.no_thin else thin(model)
    print(f"{written} ({args.format}; parameters {count_parameters(model):,} -> {count_parameters(kept):,})")
    return 0
