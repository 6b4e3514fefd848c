"""Token heads behind a switch: a pass whose entities nobody decodes skips them (issue #20).

    .venv-train/bin/python -m classifiers.train.gate_tokens              # guard-minilm
    .venv-train/bin/python -m classifiers.train.gate_tokens --check-only # compare, write nothing

guard-minilm's `pii` token head (its input: every layer's hidden states per token, a 9-token
convolution as one int8 MatMul, a projection) runs in every pass, although only a policy with a
`pii` guard that names the bundle (`model:`) decodes its entities: ONNX Runtime computes every
node whether or not its output is fetched. Measured with ONNX Runtime's profiler at 42 tokens,
one thread, the head is about 7 % of the pass.

This moves every node that only a token head's output depends on into the then-branch of an
`If` on a new boolean graph input, `token_heads` (listed in bundle.yaml's `inputs:`); the else
branch gives an empty [0, 0, labels] tensor. ONNX Runtime runs only the branch taken, so with
`token_heads` false the pass skips the head; the runtime feeds true for a pass whose entities
are decoded (guardrail/inference/pool.py). Nothing else changes: the check below runs the old
and the new graph on our own texts (alone and as a padded batch) and refuses to write unless
every output is bit-identical with the switch on, and every other output with it off.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import yaml

from .optimize_graph import (
    OWN_TEXTS,
    REPO_ROOT,
    feed,
    feed_batched,
    live_nodes,
    node_inputs,
    windows,
    write,
)

SWITCH = "token_heads"


def gate(model, token_outputs: list[str]):  # onnx.ModelProto -> onnx.ModelProto
    """`model` with the nodes that only `token_outputs` depend on behind `If(token_heads)`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    nodes = list(graph.node)
    outputs = [o.name for o in graph.output]
    others = {id(n) for n in live_nodes(nodes, [o for o in outputs if o not in token_outputs])}
    moved = [n for n in live_nodes(nodes, token_outputs) if id(n) not in others]
    if not moved:
        raise SystemExit("no node feeds only the token heads: nothing to gate")
    declared = {o.name: o for o in graph.output}
    # shape annotations of values that now live in the branch go with them
    inside = {o for n in moved for o in n.output}
    then = helper.make_graph(
        moved,
        "token_heads_on",
        [],
        [declared[o] for o in token_outputs],  # make_graph copies them
        value_info=[v for v in graph.value_info if v.name in inside],
    )
    empty, off = [], []
    for name in token_outputs:
        tensor = declared[name].type.tensor_type
        dtype = helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        value = numpy_helper.from_array(
            np.zeros((0, 0, tensor.shape.dim[-1].dim_value), dtype), name + "_empty"
        )
        empty.append(helper.make_node("Constant", [], [name + "_off"], value=value))
        off.append(helper.make_tensor_value_info(name + "_off", tensor.elem_type, None))
    other = helper.make_graph(empty, "token_heads_off", [], off)
    switch = helper.make_node(
        "If", [SWITCH], token_outputs, then_branch=then, else_branch=other, name="/token_heads/If"
    )
    gone = {id(m) for m in moved}
    # last: no other node reads what the moved ones compute (else it would not have moved)
    kept = [n for n in nodes if id(n) not in gone] + [switch]
    del graph.node[:]
    graph.node.extend(kept)
    graph.input.append(helper.make_tensor_value_info(SWITCH, TensorProto.BOOL, []))
    used = {i for n in graph.node for i in node_inputs(n)}
    live = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(live)
    outside = [v for v in graph.value_info if v.name not in inside]
    del graph.value_info[:]
    graph.value_info.extend(outside)
    onnx.checker.check_model(model)
    return model


def check(old_path: Path, new_path: Path, bundle: Path, token_outputs: list[str]) -> dict:
    """Old vs new graph on OWN_TEXTS, alone and as a padded batch: with the switch on every
    output is bit-identical; off, every other output is, and the token outputs are empty."""
    from .optimize_graph import SKIP_LN_OFF, session

    old, new = session(old_path, SKIP_LN_OFF), session(new_path, SKIP_LN_OFF)
    names = [o.name for o in old.get_outputs()]
    rows = windows(bundle / "tokenizer.json", list(OWN_TEXTS))
    feeds = [feed(r) for r in rows] + [feed_batched(rows[0], max(rows, key=len))]
    result = {"feeds": len(feeds), "identical_on": True, "identical_off": True}
    for f in feeds:
        reference = dict(zip(names, old.run(names, f), strict=True))
        for on in (True, False):
            got = dict(zip(names, new.run(names, {**f, SWITCH: np.array(on)}), strict=True))
            for name in names:
                if name in token_outputs and not on:
                    same = got[name].size == 0
                else:
                    same = np.array_equal(reference[name], got[name])
                key = "identical_on" if on else "identical_off"
                result[key] = result[key] and bool(same)
    return result


def main(argv: list[str] | None = None) -> None:
    import onnx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=REPO_ROOT / "classifiers/guard-minilm")
    parser.add_argument("--check-only", action="store_true", help="compare; write nothing")
    args = parser.parse_args(argv)
    manifest_path = args.bundle / "bundle.yaml"
    manifest = yaml.safe_load(manifest_path.read_text())
    if SWITCH in manifest["inputs"]:
        raise SystemExit(f"{args.bundle}: its token heads are gated already")
    token_outputs = [h["output"] for h in manifest["heads"].values() if h["type"] == "token"]
    if not token_outputs:
        raise SystemExit(f"{args.bundle}: no token head")
    source = args.bundle / "model.onnx"
    text = manifest_path.read_text()
    listed = "inputs:\n" + "".join(f"- {name}\n" for name in manifest["inputs"])
    if listed not in text:  # checked before anything is written
        raise SystemExit(f"{manifest_path}: `inputs:` is not a plain block list; add {SWITCH}")
    with tempfile.TemporaryDirectory() as tmp:
        graph = Path(tmp) / "model.onnx"
        onnx.save(gate(onnx.load(str(source)), token_outputs), str(graph))
        result = check(source, graph, args.bundle, token_outputs)
        print(result)
        if not (result["identical_on"] and result["identical_off"]):
            raise SystemExit("check failed: nothing written")
        if args.check_only:
            return
        write(args.bundle, graph)
    text = manifest_path.read_text()  # write() refreshed model.onnx's sha256 in it
    manifest_path.write_text(text.replace(listed, listed + f"- {SWITCH}\n"))
    print(f"wrote {source}: {', '.join(token_outputs)} behind `{SWITCH}`")


if __name__ == "__main__":
    main()
