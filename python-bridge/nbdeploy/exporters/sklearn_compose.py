"""scikit-learn's Pipeline and ColumnTransformer: they only route columns to the steps
they hold, so they take the converters of those steps as an argument (`transform`,
`estimate`: the dispatch in __init__)."""

from __future__ import annotations

from typing import Any, Callable

from ._graph import Graph, Table

Transform = Callable[[Graph, Any, Table], Table]
Estimate = Callable[[Graph, Any, Table], None]


def _steps(pipeline: Any) -> list[Any]:
    # None and "passthrough" steps do nothing
    return [step for _, step in pipeline.steps if step is not None and not (isinstance(step, str) and step == "passthrough")]


def pipeline_transform(g: Graph, pipeline: Any, table: Table, transform: Transform) -> Table:
    for step in _steps(pipeline):
        table = transform(g, step, table)
    return table


def pipeline_estimate(g: Graph, pipeline: Any, table: Table, transform: Transform, estimate: Estimate) -> None:
    *transformers, final = _steps(pipeline)
    for step in transformers:
        table = transform(g, step, table)
    estimate(g, final, table)


def column_transformer(g: Graph, ct: Any, table: Table, transform: Transform) -> Table:
    """Each transformer on its columns, outputs side by side in `transformers_` order (the
    remainder last), as ColumnTransformer.transform stacks them."""
    blocks = []
    for name, step, _ in ct.transformers_:
        indices = list(ct._transformer_to_input_indices.get(name, []))
        expected = ct.output_indices_[name]
        width = expected.stop - expected.start
        if (isinstance(step, str) and step == "drop") or not indices or width == 0:
            continue
        part = table.select(g, indices)
        if not (isinstance(step, str) and step == "passthrough"):
            part = transform(g, step, part)
        if part.width != width:  # a converter that disagrees with scikit-learn is a bug: say so
            raise AssertionError(f"ColumnTransformer step {name!r}: the ONNX graph gives {part.width} columns, scikit-learn {width}")
        blocks.extend(part.blocks)
    return Table(blocks)
