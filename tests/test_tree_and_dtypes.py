"""`keras.tree` (nested structures), Keras's dtype helpers (`backend.standardize_dtype`,
`result_type`, `is_float_dtype`, `is_int_dtype`, `get_uid`, `is_keras_tensor`) and the
top-level class names (`keras.Layer`, `keras.Loss`, ...): expected values written out, and the
same calls on Keras 3 where it is installed."""

import collections

import numpy as np
import pytest

import eigennet as keras

Point = collections.namedtuple("Point", ["x", "y"])


def _keras():
    ker = pytest.importorskip("keras")
    if not hasattr(ker, "tree"):
        pytest.skip("this Keras has no keras.tree")
    return ker


STRUCTURES = [
    1,
    None,
    "text",
    [],
    {},
    [[1, 2, 3], [4, [5], [[6]]]],
    {100: "world!", 6: "Hello"},
    {"b": [1, (2, 3)], "a": (4, None)},
    [{"d": 2, "c": 3}, ({"y": 1, "x": 2},)],
    collections.OrderedDict([("b", 1), ("a", 2)]),
    Point(1, [2, 3]),
    collections.deque([1, (2, 3)]),
    ((), [{}], [None, (1, None)]),
]


@pytest.mark.parametrize("structure", STRUCTURES, ids=range(len(STRUCTURES)))
def test_flatten_pack_and_paths_as_keras(structure):
    tree = keras.tree
    flat = tree.flatten(structure)
    assert tree.pack_sequence_as(structure, flat) == structure
    assert [leaf for _, leaf in tree.flatten_with_path(structure)] == flat
    assert tree.map_structure(lambda v: v, structure) == structure
    ker = _keras()
    assert flat == ker.tree.flatten(structure)
    assert tree.flatten_with_path(structure) == ker.tree.flatten_with_path(structure)
    assert tree.is_nested(structure) == ker.tree.is_nested(structure)
    ours = tree.map_structure(lambda v: (v, 0), structure)
    theirs = ker.tree.map_structure(lambda v: (v, 0), structure)
    assert ours == theirs and type(ours) is type(theirs)
    assert tree.lists_to_tuples(structure) == ker.tree.lists_to_tuples(structure)


def test_documented_examples():
    tree = keras.tree
    assert tree.flatten([[1, 2, 3], [4, [5], [[6]]]]) == [1, 2, 3, 4, 5, 6]
    assert tree.flatten(None) == [None] and tree.flatten(np.zeros(3))[0].shape == (3,)
    assert tree.flatten({100: "world!", 6: "Hello"}) == ["Hello", "world!"]
    assert tree.flatten(collections.OrderedDict([("b", 1), ("a", 2)])) == [1, 2]
    # Dicts inside dicts sort too (as Keras documents and its TensorFlow backend does).
    assert tree.flatten({"b": [1, {"d": 2, "c": 3}], "a": 0}) == [0, 1, 3, 2]
    assert tree.flatten_with_path([{"foo": 42}]) == [((0, "foo"), 42)]
    assert tree.map_structure(lambda v: v * 2, Point(1, 2)) == Point(2, 4)
    assert tree.map_structure(lambda a, b: a * b, [[1], [2]], [[3], [4]]) == [[3], [8]]
    assert tree.map_structure(lambda v: 0, [None, 1], none_is_leaf=False) == [None, 0]
    # A dict keeps its order through map_structure; pack_sequence_as makes it sorted.
    assert list(tree.map_structure(lambda v: v, {"b": 1, "a": 2})) == ["b", "a"]
    packed = tree.pack_sequence_as({"key3": "", "key1": "", "key2": ""}, ["v1", "v2", "v3"])
    assert list(packed.items()) == [("key1", "v1"), ("key2", "v2"), ("key3", "v3")]
    assert tree.pack_sequence_as(5, [7]) == 7
    assert tree.map_structure_up_to([None, None], len, [[1, 1], [2, 2]]) == [2, 2]
    assert tree.map_structure_up_to([None, [None, None]], str, [[1, 1], [2, 2]]) == [
        "[1, 1]",
        ["2", "2"],
    ]
    assert tree.lists_to_tuples([1, [2, {"a": [3]}]]) == (1, (2, {"a": (3,)}))
    shapes = tree.map_shape_structure(lambda s: "S", {"a": (1, None), "b": [(3,), [2, 4]]})
    assert shapes == {"a": "S", "b": ["S", "S"]}
    d = collections.defaultdict(list, {"b": 1})
    assert tree.map_structure(lambda v: v + 1, d).default_factory is list


def test_traverse():
    tree = keras.tree
    seen = []
    structure = [(1, 2), [3], {"a": 4}]
    assert tree.traverse(seen.append, structure) == structure
    assert seen == [structure, (1, 2), 1, 2, [3], 3, {"a": 4}, 4]
    seen = []
    assert tree.traverse(seen.append, structure, top_down=False) == structure
    assert seen == [1, 2, (1, 2), 3, [3], 4, {"a": 4}, structure]
    replace = tree.traverse(lambda s: 0 if isinstance(s, tuple) else None, [(1, 2), [3]])
    assert replace == [0, [3]]
    to_none = tree.traverse(lambda s: tree.MAP_TO_NONE if s == [3] else None, [(1, 2), [3]])
    assert to_none == [(1, 2), None]
    assert tree.traverse(lambda s: s * 10 if isinstance(s, int) else None, [1, [2]], False) == [
        10,
        [20],
    ]


def test_structure_errors():
    tree = keras.tree
    tree.assert_same_structure([(0, 1)], [(2, 3)])
    tree.assert_same_structure({"a": 1}, collections.OrderedDict(a=2))
    for a, b, match in [
        ([1, 2], (1, 2), "same nested structure"),
        ([1, 2], [1, 2, 3], "same nested structure"),
        ([1, 2], [1, (2,)], "same nested structure"),
        (Point(0, 1), (0, 1), "same nested structure"),
        ({"a": 1}, {"b": 1}, "same nested structure"),
    ]:
        with pytest.raises(ValueError, match=match):
            tree.assert_same_structure(a, b)
    tree.assert_same_paths([0, 1], (2, 3))
    with pytest.raises(ValueError, match=r"Paths in `b` missing in `a`"):
        tree.assert_same_paths([0, 1], [0, 1, 2])
    with pytest.raises(ValueError, match="Node type mismatch"):
        tree.map_structure(lambda a, b: a, [1, [2, 3]], [10, 20])
    with pytest.raises(ValueError, match="Node arity mismatch"):
        tree.map_structure_up_to([None, None], len, [[1]])
    with pytest.raises(ValueError, match="Node keys mismatch"):
        tree.map_structure(lambda a, b: a, {"a": 1}, {"b": 1})
    with pytest.raises(ValueError, match="at least one structure"):
        tree.map_structure(abs)
    with pytest.raises(TypeError, match="not callable"):
        tree.map_structure(5, [1])
    with pytest.raises(ValueError, match="2 leaves but flat_sequence has 1"):
        tree.pack_sequence_as([0, 0], [1])
    with pytest.raises(TypeError):
        tree.flatten({1: 1, "a": 2})  # keys that do not sort


def test_registered_node_class():
    @keras.tree.register_tree_node_class
    class Pair:
        def __init__(self, first, second):
            self.first, self.second = first, second

        def tree_flatten(self):
            return (self.first, self.second), "pair"

        @classmethod
        def tree_unflatten(cls, aux, children):
            assert aux == "pair"
            return cls(*children)

    doubled = keras.tree.map_structure(lambda v: 2 * v, [Pair(1, [2])])
    assert keras.tree.flatten(doubled) == [2, 4] and isinstance(doubled[0], Pair)
    with pytest.raises(TypeError, match="tree_flatten"):
        keras.tree.register_tree_node_class(int)


DTYPES = [
    "bool",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "int8",
    "int16",
    "int32",
    "int64",
    "bfloat16",
    "float16",
    "float32",
    "float64",
]


def test_result_type_examples():
    rt = keras.backend.result_type
    assert rt() == "float32"
    assert rt("uint8", "int8") == "int16" and rt("uint32", "int8") == "int64"
    assert rt("uint64", "int8") == "float32" and rt("int64", "float16") == "float16"
    assert rt("bfloat16", "float16") == "float32" and rt("bool", "uint64") == "uint32"
    assert rt("int32", float) == "float32" and rt("int8", int) == "int8"
    assert rt("float16", float) == "float16" and rt(int) == "int32" and rt(bool) == "bool"
    assert rt("float64", "int8", "float16") == "float64"
    with pytest.raises(ValueError, match="Invalid dtype"):
        rt("int4")


# Keras 3.15's result_type(row, column) over DTYPES, recorded with its TensorFlow backend (the
# common rule; its torch backend narrows 64-bit types for torch's sake).
KERAS_RESULT_TYPES = [  # rows and columns in DTYPES order, as short names
    "b u8 u16 u32 u32 i8 i16 i32 i64 bf16 f16 f32 f64",
    "u8 u8 u16 u32 u32 i16 i16 i32 i64 bf16 f16 f32 f64",
    "u16 u16 u16 u32 u32 i32 i32 i32 i64 bf16 f16 f32 f64",
    "u32 u32 u32 u32 u32 i64 i64 i64 i64 bf16 f16 f32 f64",
    "u32 u32 u32 u32 u32 f32 f32 f32 f32 bf16 f16 f32 f64",
    "i8 i16 i32 i64 f32 i8 i16 i32 i64 bf16 f16 f32 f64",
    "i16 i16 i32 i64 f32 i16 i16 i32 i64 bf16 f16 f32 f64",
    "i32 i32 i32 i64 f32 i32 i32 i32 i64 bf16 f16 f32 f64",
    "i64 i64 i64 i64 f32 i64 i64 i64 i64 bf16 f16 f32 f64",
    "bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 f32 f32 f64",
    "f16 f16 f16 f16 f16 f16 f16 f16 f16 f32 f16 f32 f64",
    "f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f32 f64",
    "f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64",
]


SHORT = dict(zip("b u8 u16 u32 u64 i8 i16 i32 i64 bf16 f16 f32 f64".split(), DTYPES, strict=True))


def test_result_type_table_as_keras():
    for a, row in zip(DTYPES, KERAS_RESULT_TYPES, strict=True):
        for b, want in zip(DTYPES, row.split(), strict=True):
            assert keras.backend.result_type(a, b) == SHORT[want], (a, b)


def test_standardize_dtype_and_kinds():
    sd = keras.backend.standardize_dtype
    assert keras.utils.standardize_dtype is sd
    assert sd(None) == "float32" and sd(float) == "float32" and sd(int) == "int32"
    assert sd(bool) == "bool" and sd(str) == "string" and sd("int") == "int32"
    assert sd(np.float16) == "float16" and sd(np.dtype("int64")) == "int64"
    assert sd("complex64") == "complex64"
    for bad in ["float", "double", "int4", "foo"]:
        with pytest.raises(ValueError, match="Invalid dtype"):
            sd(bad)
    assert keras.backend.is_float_dtype("bfloat16") and keras.backend.is_float_dtype(float)
    assert keras.backend.is_int_dtype("uint8") and not keras.backend.is_int_dtype("bool")
    ker = pytest.importorskip("keras")
    for value in [None, float, int, bool, np.float16, np.dtype("int64"), "bfloat16", "int"]:
        assert sd(value) == ker.backend.standardize_dtype(value)


def test_uid_and_keras_tensor():
    keras.backend.clear_session()
    assert [keras.backend.get_uid("x"), keras.backend.get_uid("x")] == [1, 2]
    assert keras.backend.get_uid("y") == 1 and keras.backend.get_uid() == 1
    keras.backend.clear_session()
    assert keras.backend.get_uid("x") == 1
    assert keras.backend.is_keras_tensor(keras.Input((2,)))
    assert not keras.backend.is_keras_tensor(np.zeros(2))
    assert isinstance(keras.Input((2,)), keras.KerasTensor)


def test_top_level_class_names():
    assert keras.Layer is keras.layers.Layer and keras.Loss is keras.losses.Loss
    assert keras.Metric is keras.metrics.Metric and keras.Optimizer is keras.optimizers.Optimizer
    assert keras.Initializer is keras.initializers.Initializer
    assert keras.Regularizer is keras.regularizers.Regularizer
    assert keras.InputSpec is keras.layers.InputSpec
    assert keras.version() == keras.__version__

    class Scale(keras.Layer):
        def call(self, x):
            return 2 * x

    out = keras.Sequential([keras.Input((3,)), Scale()]).predict(np.ones((2, 3)), verbose=0)
    np.testing.assert_array_equal(out, np.full((2, 3), 2.0))
