"""scikit-learn transformers: scalers, encoders and the imputer. Each converter takes the
table of columns and returns the table the step outputs.

Numeric columns are DOUBLE here and every formula is written in the order scikit-learn
evaluates it, so the results are bit-for-bit scikit-learn's for the same input.

Strings: opset 17 has no string Equal, so string columns are matched against the known
categories with ai.onnx.ml LabelEncoder (string -> index). A missing string is "" on
the wire; categories that are NaN / None in scikit-learn are matched by "".
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ._graph import BOOL, DOUBLE, Block, Graph, Table, numeric_block, round_to_float32, text
from ._types import UnsupportedModelError


def _name(step: Any) -> str:
    return f"{type(step).__module__}.{type(step).__qualname__}"


def _affine(g: Graph, table: Table, who: Any, ops: Sequence[tuple[str, Optional[np.ndarray]]], cast_constants: bool = False) -> Table:
    """Column-wise arithmetic on the whole table: ops is [("Sub", vector), ("Div", vector), ...].
    On float32 data scikit-learn rounds to float32 after each operation (and, where
    `cast_constants`, casts the vectors to float32 first): so does the graph."""
    single = table.single
    x = table.matrix(g, who)
    for op, vector in ops:
        if vector is None:
            continue
        vector = np.asarray(vector, dtype=np.float64)
        if single and cast_constants:
            vector = vector.astype(np.float32).astype(np.float64)
        x = g.op(op, x, g.const(vector.reshape(1, -1), op.lower()), hint="scaled")
        if single:
            x = round_to_float32(g, x)
    return Table([numeric_block(g, x, table.width, single)])


def standard_scaler(g: Graph, step: Any, table: Table) -> Table:
    # scikit-learn: X -= mean_; X /= scale_ (in X's dtype)
    ops = [("Sub", step.mean_ if step.with_mean else None), ("Div", step.scale_ if step.with_std else None)]
    return _affine(g, table, step, ops, cast_constants=True)


def robust_scaler(g: Graph, step: Any, table: Table) -> Table:
    # scikit-learn: X -= center_; X /= scale_
    return _affine(g, table, step, [("Sub", step.center_ if step.with_centering else None), ("Div", step.scale_ if step.with_scaling else None)])


def max_abs_scaler(g: Graph, step: Any, table: Table) -> Table:
    return _affine(g, table, step, [("Div", step.scale_)])


def min_max_scaler(g: Graph, step: Any, table: Table) -> Table:
    # scikit-learn: X *= scale_; X += min_; then clip to feature_range when clip=True
    out = _affine(g, table, step, [("Mul", step.scale_), ("Add", step.min_)])
    if getattr(step, "clip", False):
        lo, hi = (g.const(np.array(v, dtype=np.float64), "clip") for v in step.feature_range)
        return Table([numeric_block(g, g.op("Clip", out.blocks[0].name, lo, hi), table.width, out.single)])
    return out


# -- encoders ---------------------------------------------------------------------------


def _refuse_infrequent(step: Any) -> None:
    if getattr(step, "_infrequent_enabled", False):
        raise UnsupportedModelError(
            f"{_name(step)} with infrequent categories (min_frequency / max_categories) is not supported; "
            "refit without them"
        )


def text_keys(categories: Sequence[Any]) -> list[str]:
    keys = [text(c) for c in categories]
    if len(set(keys)) != len(keys):
        raise UnsupportedModelError(f"categories {list(categories)} are not distinct as strings")
    return keys


def remember_levels(g: Graph, column: Block, categories: Sequence[Any]) -> None:
    source = column.sources[0]
    if source is not None:
        g.levels.setdefault(source, [k for k in text_keys(categories) if k != ""])


def _text_index(g: Graph, column: Block, categories: Sequence[Any]) -> str:
    """STRING [N, 1] -> INT64 [N, 1]: the category's position, -1 when unknown."""
    return g.ml(
        "LabelEncoder",
        column.name,
        keys_strings=text_keys(categories),
        values_int64s=list(range(len(categories))),
        default_int64=-1,
        hint="category_index",
    )


def _numeric_matches(g: Graph, column: Block, categories: np.ndarray) -> str:
    """DOUBLE [N, 1] -> DOUBLE [N, K]: 1.0 where x equals the category (NaN matches NaN)."""
    cats = np.asarray(categories, dtype=np.float64)
    nan = np.isnan(cats)
    equal = g.op("Equal", column.name, g.const(np.where(nan, 0.0, cats).reshape(1, -1), "categories"))
    if nan.any():
        is_nan = g.op("IsNaN", column.name)
        equal = g.op("Where", g.const(nan.reshape(1, -1), "nan_category"), is_nan, equal)
    return g.cast(equal, DOUBLE, "matches")


def one_hot_encoder(g: Graph, step: Any, table: Table) -> Table:
    """Unknown categories give all zeros (handle_unknown="ignore"). With
    handle_unknown="error" scikit-learn raises instead; an ONNX graph cannot, so it also
    gives zeros there."""
    _refuse_infrequent(step)
    drop = getattr(step, "drop_idx_", None)
    blocks = []
    for i, column in enumerate(table.columns(g)):
        categories = list(step.categories_[i])
        keep = [j for j in range(len(categories)) if drop is None or drop[i] is None or j != int(drop[i])]
        if column.text:
            remember_levels(g, column, categories)
            index = _text_index(g, column, categories)
            hot = g.cast(g.op("Equal", index, g.const(np.array(keep, np.int64).reshape(1, -1), "keep")), DOUBLE, "one_hot")
        else:
            hot = _numeric_matches(g, column, np.asarray(categories, dtype=np.float64)[keep])
        blocks.append(numeric_block(g, hot, len(keep)))
    return Table(blocks)


def ordinal_encoder(g: Graph, step: Any, table: Table) -> Table:
    """Unknown categories give `unknown_value` (handle_unknown="use_encoded_value"); with
    handle_unknown="error" scikit-learn raises, the graph gives NaN. Missing values give
    `encoded_missing_value` when missing values were seen at fit (else they are unknown)."""
    _refuse_infrequent(step)
    unknown = float(step.unknown_value) if step.handle_unknown == "use_encoded_value" else np.nan
    missing = float(getattr(step, "encoded_missing_value", np.nan))
    blocks = []
    for i, column in enumerate(table.columns(g)):
        categories = list(step.categories_[i])
        codes = np.arange(len(categories), dtype=np.float64)
        if column.text:
            remember_levels(g, column, categories)
            keys = text_keys(categories)
            codes = np.where(np.array(keys) == "", missing, codes)
            # LabelEncoder's floats are float32: codes are small integers, exact either way
            code = g.ml("LabelEncoder", column.name, keys_strings=keys, values_floats=codes.astype(np.float32).tolist(), default_float=unknown, hint="code")
            code = g.cast(code, DOUBLE)
        else:
            cats = np.asarray(categories, dtype=np.float64)
            known = ~np.isnan(cats)  # a NaN category is the missing value, handled below
            matches = _numeric_matches(g, column, cats[known])
            code = g.op("MatMul", matches, g.const(codes[known].reshape(-1, 1), "codes"))
            found = g.op("ReduceSum", matches, g.const(np.array([1], np.int64), "axis1"), keepdims=1)
            found = g.op("Greater", found, g.const(np.array([[0.5]]), "half"))
            code = g.op("Where", found, code, g.const(np.array([[unknown]]), "unknown"))
            if not known.all():  # NaN seen at fit; an unseen NaN is unknown, as in scikit-learn
                code = g.op("Where", g.op("IsNaN", column.name), g.const(np.array([[missing]]), "missing"), code)
        blocks.append(numeric_block(g, code, 1))
    return Table(blocks)


# -- imputer ----------------------------------------------------------------------------


def _is_nan_marker(value: Any) -> bool:
    """None, NaN and pd.NA all mean "missing" (and travel as "" in string columns)."""
    return not isinstance(value, str) and text(value) == ""


def simple_imputer(g: Graph, step: Any, table: Table) -> Table:
    marker = step.missing_values
    stats = np.asarray(step.statistics_, dtype=object)
    keep_empty = getattr(step, "keep_empty_features", False)
    stat_missing = np.array([_is_nan_marker(s) for s in stats])
    if keep_empty:  # scikit-learn then fills all-missing features with 0
        stats = np.where(stat_missing, 0, stats)
        stat_missing[:] = False
    single = table.single  # scikit-learn fills in X's dtype, and keeps it
    blocks: list[Block] = []
    for i, column in enumerate(table.columns(g)):
        if stat_missing[i]:  # scikit-learn drops features that were all missing at fit
            continue
        if column.text:
            key = "" if _is_nan_marker(marker) else text(marker)
            is_missing = g.cast(g.ml("LabelEncoder", column.name, keys_strings=[key], values_int64s=[1], default_int64=0, hint="is_missing"), BOOL)
            filled = g.op("Where", is_missing, g.const(np.array([[text(stats[i])]], dtype=object), "fill"), column.name, hint="imputed")
            blocks.append(Block(filled, 1, True, column.sources))  # same levels, so the source stays
        else:
            is_missing = _numeric_missing(g, column.name, marker)
            value = np.float32(stats[i]) if single else float(stats[i])
            fill = g.const(np.array([[value]], dtype=np.float64), "fill")
            blocks.append(numeric_block(g, g.op("Where", is_missing, fill, column.name, hint="imputed"), 1, single))
    indicator = getattr(step, "indicator_", None)
    if indicator is not None:
        blocks.extend(_missing_indicator(g, indicator, table))
    return Table(blocks)


def _numeric_missing(g: Graph, x: str, marker: Any) -> str:
    if _is_nan_marker(marker):
        return g.op("IsNaN", x, hint="is_missing")
    return g.op("Equal", x, g.const(np.array([[float(marker)]]), "marker"), hint="is_missing")


def _missing_indicator(g: Graph, indicator: Any, table: Table) -> list[Block]:
    """1.0 / 0.0 per column in indicator.features_ (those with missing values at fit, or all)."""
    columns = table.columns(g)
    out = []
    for j in indicator.features_:
        column = columns[int(j)]
        if column.text:
            key = "" if _is_nan_marker(indicator.missing_values) else text(indicator.missing_values)
            flag = g.ml("LabelEncoder", column.name, keys_strings=[key], values_floats=[1.0], default_float=0.0, hint="indicator")
            out.append(numeric_block(g, g.cast(flag, DOUBLE), 1))
        else:
            flag = g.cast(_numeric_missing(g, column.name, indicator.missing_values), DOUBLE, "indicator")
            out.append(numeric_block(g, flag, 1, small=True))  # bool: float32 next to float32 columns
    return out


def missing_indicator(g: Graph, step: Any, table: Table) -> Table:
    return Table(_missing_indicator(g, step, table))


def function_transformer(g: Graph, step: Any, table: Table) -> Table:
    if step.func is None:  # the identity
        return table
    raise UnsupportedModelError(
        f"{_name(step)}(func={getattr(step.func, '__name__', step.func)!r}) runs arbitrary Python; "
        "only FunctionTransformer() without a function (the identity) can be exported"
    )


def passthrough(g: Graph, step: Any, table: Table) -> Table:
    return table

