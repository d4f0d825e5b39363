"""Keras's `keras.tree`: functions over nested structures of lists, tuples, namedtuples,
dicts and deques, with anything else a leaf (None too, and NumPy arrays and strings).

Dicts give their values in sorted key order (an OrderedDict in its own order), and map_structure
keeps a dict's own key order while pack_sequence_as makes it sorted, as Keras does. Classes
registered with register_tree_node_class are nodes too.
"""

from __future__ import annotations

import collections

__all__ = [
    "MAP_TO_NONE",
    "assert_same_paths",
    "assert_same_structure",
    "flatten",
    "flatten_with_path",
    "is_nested",
    "lists_to_tuples",
    "map_shape_structure",
    "map_structure",
    "map_structure_up_to",
    "pack_sequence_as",
    "register_tree_node_class",
    "traverse",
]


class MAP_TO_NONE:  # noqa: N801 - Keras's name
    """Returned by a traverse function to replace a sub-tree with None."""


_registered: set[type] = set()


def register_tree_node_class(cls):
    """Makes instances of `cls` nodes: `cls` defines tree_flatten(self) -> (children, aux)
    and the classmethod tree_unflatten(aux, children). Returns `cls` (usable as a
    decorator)."""
    if not (callable(getattr(cls, "tree_flatten", None)) and hasattr(cls, "tree_unflatten")):
        raise TypeError(f"{cls.__name__} needs tree_flatten() and tree_unflatten(aux, children)")
    _registered.add(cls)
    return cls


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _keys(node) -> list:
    """A node's child keys in flattening order (indices for sequences)."""
    if isinstance(node, collections.OrderedDict):
        return list(node)
    if isinstance(node, dict):
        return sorted(node)
    if type(node) in _registered:
        return list(range(len(node.tree_flatten()[0])))
    return list(range(len(node)))


def _children(node) -> list:
    if isinstance(node, dict):
        return [node[k] for k in _keys(node)]
    if type(node) in _registered:
        return list(node.tree_flatten()[0])
    return list(node)


def is_nested(structure) -> bool:
    """Whether `structure` is a sequence, a mapping, a namedtuple or a registered node."""
    return isinstance(structure, (list, tuple, dict, collections.deque)) or (
        type(structure) in _registered
    )


def _rebuild(node, children: list, sorted_dict: bool = False):
    """A node of `node`'s kind holding `children` (in flattening order)."""
    if isinstance(node, dict):
        keys = _keys(node)
        values = dict(zip(keys, children, strict=True))
        order = keys if sorted_dict else list(node)
        if isinstance(node, collections.defaultdict):
            return type(node)(node.default_factory, {k: values[k] for k in order})
        return type(node)((k, values[k]) for k in order)
    if _is_namedtuple(node):
        return type(node)(*children)
    if isinstance(node, collections.deque):
        return collections.deque(children, maxlen=node.maxlen)
    if type(node) in _registered:
        return type(node).tree_unflatten(node.tree_flatten()[1], children)
    return type(node)(children)


def flatten(structure) -> list:
    """The leaves of `structure`, depth first."""
    if not is_nested(structure):
        return [structure]
    return [leaf for child in _children(structure) for leaf in flatten(child)]


def flatten_with_path(structure) -> list:
    """(path, leaf) pairs: a path is the tuple of indices and keys that leads to the leaf."""
    if not is_nested(structure):
        return [((), structure)]
    return [
        ((key, *path), leaf)
        for key, child in zip(_keys(structure), _children(structure), strict=True)
        for path, leaf in flatten_with_path(child)
    ]


def _mismatch(expected, got) -> ValueError:
    if not is_nested(got) or type(got) is not type(expected):
        return ValueError(f"Node type mismatch; expected {type(expected)}, but got {type(got)}.")
    if isinstance(expected, dict):
        missing, extra = set(expected) - set(got), set(got) - set(expected)
        return ValueError(f"Node keys mismatch; missing key(s): {missing}; extra key(s): {extra}.")
    return ValueError(
        f"Node arity mismatch; expected {len(_children(expected))}, but got {len(_children(got))}."
    )


def _same_node(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b)
    return type(a) is type(b) and len(_children(a)) == len(_children(b))


def _map_up_to(shallow, func, structures, none_is_leaf=True, sorted_dict=False):
    """func over the structures' items at the leaves of `shallow` (deeper parts of the
    structures are passed whole)."""
    if not is_nested(shallow):
        if not none_is_leaf and shallow is None:
            return None
        return func(*structures)
    for other in structures:
        if not is_nested(other) or not _same_node(shallow, other):
            raise _mismatch(shallow, other)
    columns = [
        _children(s) if not isinstance(s, dict) else [s[k] for k in _keys(shallow)]
        for s in structures
    ]
    children = [
        _map_up_to(child, func, [column[i] for column in columns], none_is_leaf, sorted_dict)
        for i, child in enumerate(_children(shallow))
    ]
    return _rebuild(shallow, children, sorted_dict)


def _check_func(func, structures) -> None:
    if not callable(func):
        raise TypeError(f"'{type(func).__name__}' object is not callable")
    if not structures:
        raise ValueError("Must provide at least one structure")


def map_structure(func, *structures, none_is_leaf=True):
    """func applied to the leaves of the structures (the first one's layout; the others
    must match it). With none_is_leaf=False, None leaves stay None without calling func."""
    _check_func(func, structures)
    return _map_up_to(structures[0], func, structures, none_is_leaf)


def map_structure_up_to(shallow_structure, func, *structures):
    """func applied at the leaves of `shallow_structure` to the structures' parts there
    (which may be nested deeper)."""
    _check_func(func, structures)
    return _map_up_to(shallow_structure, func, structures)


def assert_same_structure(a, b, check_types=None):
    """Raises ValueError unless `a` and `b` nest the same way: at each level the same kind
    of node (any dicts with the same keys) with as many items. `check_types` is accepted for
    Keras's signature; types are always checked, as Keras 3 does."""
    del check_types
    if is_nested(a) != is_nested(b):
        raise ValueError("Structures don't have the same nested structure.")
    if not is_nested(a):
        return
    if not _same_node(a, b):
        raise ValueError("Structures don't have the same nested structure.")
    bs = [b[k] for k in _keys(a)] if isinstance(a, dict) else _children(b)
    for x, y in zip(_children(a), bs, strict=True):
        assert_same_structure(x, y)


def assert_same_paths(a, b):
    """Raises ValueError unless `a` and `b` have the same leaf paths (node kinds aside)."""
    paths_a = {path for path, _ in flatten_with_path(a)}
    paths_b = {path for path, _ in flatten_with_path(b)}
    if paths_a != paths_b:
        message = "`a` and `b` don't have the same paths."
        if paths_a - paths_b:
            message += f"\nPaths in `a` missing in `b`:\n{paths_a - paths_b}"
        if paths_b - paths_a:
            message += f"\nPaths in `b` missing in `a`:\n{paths_b - paths_a}"
        raise ValueError(message)


def pack_sequence_as(structure, flat_sequence):
    """`flat_sequence` packed into `structure`'s layout (dicts in sorted key order, as
    flatten reads them)."""
    flat = list(flat_sequence)
    count = len(flatten(structure))
    if len(flat) != count:
        raise ValueError(
            f"pack_sequence_as: the structure holds {count} leaves but flat_sequence has "
            f"{len(flat)} items"
        )
    leaves = iter(flat)
    return _map_up_to(structure, lambda _: next(leaves), [structure], sorted_dict=True)


def traverse(func, structure, top_down=True):
    """func applied to every sub-tree, depth first. Top down: a result other than None
    replaces the sub-tree (MAP_TO_NONE: with None) and stops the descent into it. Bottom up:
    children first; a result other than None replaces the rebuilt sub-tree."""

    def visit(node):
        if top_down:
            result = func(node)
            if result is not None:
                return None if result is MAP_TO_NONE else result
            if not is_nested(node):
                return node
            return _rebuild(node, [visit(child) for child in _children(node)])
        rebuilt = _rebuild(node, [visit(c) for c in _children(node)]) if is_nested(node) else node
        result = func(rebuilt)
        if result is None:
            return rebuilt
        return None if result is MAP_TO_NONE else result

    return visit(structure)


def lists_to_tuples(structure):
    """`structure` with every list made a tuple."""

    def convert(node):
        if not is_nested(node):
            return node
        children = [convert(child) for child in _children(node)]
        return tuple(children) if isinstance(node, list) else _rebuild(node, children)

    return convert(structure)


def _is_shape(x) -> bool:
    return isinstance(x, (list, tuple)) and all(isinstance(e, int) or e is None for e in x)


def map_shape_structure(func, structure):
    """func applied to every shape (a list or tuple of ints and Nones) in `structure`."""
    if _is_shape(structure) or not is_nested(structure):
        return func(structure)
    return _rebuild(structure, [map_shape_structure(func, c) for c in _children(structure)])
