"""Explicit, code-free state of a live object graph (a strategy and the library objects it wraps).

``capture(obj)`` walks ``obj.__dict__`` (and ``__slots__``) recursively and records its *data*: numbers,
strings, numpy arrays and scalars, tensors, containers of those, random generators (numpy, torch,
Python) as their state, torch optimizers as their ``state_dict``, and nested objects of the libraries
named (``cma``, ``evotorch``, ``deap``, ...). Anything else (functions, bound methods, loggers' file
handles, dtypes, devices) is left out and kept from the fresh object on ``restore``. Shared references
are recorded once and restored shared, so aliasing inside the graph (cma's ``es.C`` is ``es.sm.C``)
survives. The result is tensors + JSON-able values: a checkpoint stores it and loads it without
executing code (``restore`` only instantiates classes of the named libraries, with ``__new__``).

``restore(fresh, state)`` writes the recorded values into a freshly constructed object of the same
type, in place where the fresh graph has an object of the same kind (so references the walk does not
see, such as a torch optimizer's parameter list or a bound ``randn``, stay valid).

Why not a fitness history to replay: a replay's size and load time grow with the run (issue 21).
"""
from __future__ import annotations

import importlib
import random
from collections import deque
from typing import Any

import numpy as np
import torch

_SCALARS = (bool, int, float, str, type(None))


def qualified_name(cls: type) -> str:
    """``module:QualName`` of a class: how a state names the class it was captured from."""
    return f"{cls.__module__}:{cls.__qualname__}"


def _in_libraries(module: str, libraries: tuple[str, ...]) -> bool:
    return any(module == lib or module.startswith(lib + ".") for lib in libraries)


class _NotData(Exception):
    """A value the walk does not record (a function, a file handle, ...)."""


def _np_to_tensor(a: np.ndarray) -> torch.Tensor:
    if a.dtype == object:
        raise _NotData
    if a.dtype.kind == "u" and a.dtype != np.uint8:   # torch lacks most unsigned dtypes: widen losslessly
        a = a.astype(np.int64)
    return torch.from_numpy(np.array(a, order="C", copy=True))   # np.array keeps a 0-d array 0-d


class _Capture:
    def __init__(self, libraries: tuple[str, ...], exclude: frozenset[str]):
        self.libraries, self.exclude = libraries, exclude
        self.ids: dict[int, int] = {}
        self.count = 0
        self.keep: list[Any] = []    # keeps every visited object alive, so ids are not reused mid-walk

    def _library(self, obj: Any) -> bool:
        return _in_libraries(type(obj).__module__ or "", self.libraries)

    def value(self, obj: Any, path: str) -> Any:
        if isinstance(obj, np.generic):   # before the scalars: np.float64 is a float
            if obj.dtype == object:
                raise _NotData
            return {"@npscalar": obj.dtype.str, "v": obj.item()}
        if isinstance(obj, _SCALARS):
            return obj
        if id(obj) in self.ids:
            return {"@ref": self.ids[id(obj)]}
        if isinstance(obj, (type, torch.dtype, torch.device)) or callable(obj) and not self._library(obj) \
                and not isinstance(obj, (torch.Tensor, np.ndarray, torch.optim.Optimizer)):
            raise _NotData
        n = self.ids[id(obj)] = self.count
        self.count += 1
        self.keep.append(obj)
        try:
            out = self._mutable(obj, path)
        except _NotData:   # forget this container and whatever inside it was numbered: none of it is written
            for key in [k for k, v in self.ids.items() if v >= n]:
                del self.ids[key]
            self.count = n
            raise
        out["@id"] = n
        return out

    def _mutable(self, obj: Any, path: str) -> dict[str, Any]:
        if isinstance(obj, torch.Tensor):
            # the strides too: the same values in another memory layout can round differently in a matmul
            return {"@tensor": obj.detach().cpu().clone(), "stride": list(obj.stride())}
        if isinstance(obj, np.ndarray):
            return {"@ndarray": _np_to_tensor(obj), "dtype": obj.dtype.str,
                    "fortran": bool(obj.flags.f_contiguous and not obj.flags.c_contiguous)}
        if isinstance(obj, np.random.RandomState):
            name, keys, pos, has_gauss, gauss = obj.get_state()
            return {"@randomstate": [name, _np_to_tensor(keys), int(pos), int(has_gauss), float(gauss)]}
        if isinstance(obj, np.random.Generator):
            return {"@npgenerator": obj.bit_generator.state}
        if isinstance(obj, torch.Generator):
            return {"@torchgenerator": obj.get_state()}
        if isinstance(obj, random.Random):
            return {"@pyrandom": obj.getstate()}
        if isinstance(obj, torch.optim.Optimizer):
            return {"@optimizer": self.value(obj.state_dict(), path)}
        if type(obj) in (list, tuple, deque):
            kind = {list: "@list", tuple: "@tuple", deque: "@deque"}[type(obj)]
            out: dict[str, Any] = {kind: [self.value(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
            if isinstance(obj, deque):
                out["maxlen"] = obj.maxlen
            return out
        if type(obj) is dict:
            return {"@dict": self._items(obj, path)}
        if self._library(obj):
            return self._object(obj, path)
        raise _NotData

    def _items(self, d: dict, path: str) -> list[list[Any]]:
        items = []
        for k, v in d.items():
            try:
                key = self.value(k, path)
            except _NotData:
                continue
            try:
                items.append([key, self.value(v, f"{path}[{k!r}]")])
            except _NotData:
                items.append([key, {"@keep": 1}])   # the fresh object's value, in this place of the order
        return items

    def _object(self, obj: Any, path: str) -> dict[str, Any]:
        cls = type(obj)
        attrs: list[list[Any]] = []   # a list, not a dict: JSON keeps its order, and a @ref follows its @id
        names = list(getattr(obj, "__dict__", {}))
        names += [s for c in cls.__mro__ for s in getattr(c, "__slots__", ()) if s not in ("__dict__", "__weakref__")]
        for name in names:
            sub = f"{path}.{name}" if path else name
            if sub in self.exclude or not hasattr(obj, name):
                continue
            try:
                attrs.append([name, self.value(getattr(obj, name), sub)])
            except _NotData:
                continue
        out = {"@object": qualified_name(cls), "attrs": attrs}
        if isinstance(obj, dict):
            out["items"] = self._items(obj, path)
        elif isinstance(obj, list):   # a library list (cma's recombination weights): its items are state too
            out["list_items"] = [self._item(v, f"{path}[{i}]") for i, v in enumerate(list.__iter__(obj))]
        return out

    def _item(self, v: Any, path: str) -> Any:
        try:
            return self.value(v, path)
        except _NotData:
            return {"@keep": 1}    # the fresh object's item in this place


def capture(obj: Any, libraries: tuple[str, ...], exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The data of ``obj`` and of the objects of ``libraries`` it holds (dotted ``exclude`` paths left out)."""
    walk = _Capture(tuple(libraries), frozenset(exclude))
    return walk.value(obj, "")


class _Restore:
    def __init__(self, libraries: tuple[str, ...]):
        self.libraries = libraries
        self.memo: dict[int, Any] = {}
        self.written: set[int] = set()   # fresh objects already written to (in place only once)

    def _fresh(self, target: Any, kind: type) -> bool:
        """May ``target`` (the fresh graph's value here) be written in place?"""
        ok = isinstance(target, kind) and id(target) not in self.written
        if ok:
            self.written.add(id(target))
        return ok

    def value(self, enc: Any, target: Any) -> Any:
        if not isinstance(enc, dict):
            return enc
        if "@ref" in enc:
            return self.memo[enc["@ref"]]
        if "@npscalar" in enc:
            return np.dtype(enc["@npscalar"]).type(enc["v"])
        n = enc["@id"]
        if "@object" in enc:
            return self._object(enc, target, n)
        out = self._mutable(enc, target, n)
        self.memo[n] = out
        return out

    def _mutable(self, enc: dict[str, Any], target: Any, n: int) -> Any:
        if "@tensor" in enc:
            t, stride = enc["@tensor"], tuple(enc["stride"])
            with torch.no_grad():
                if isinstance(target, torch.Tensor) and target.shape == t.shape and target.dtype == t.dtype \
                        and target.stride() == stride and self._fresh(target, torch.Tensor):
                    return target.copy_(t)
                device = target.device if isinstance(target, torch.Tensor) else t.device
                return torch.empty_strided(t.shape, stride, dtype=t.dtype, device=device).copy_(t)
        if "@ndarray" in enc:
            a = enc["@ndarray"].numpy().astype(np.dtype(enc["dtype"]))
            a = np.asarray(a, order="F" if enc["fortran"] else "C")   # not np.ascontiguousarray: it makes 0-d 1-d
            if isinstance(target, np.ndarray) and target.shape == a.shape and target.dtype == a.dtype \
                    and target.flags.writeable and target.strides == a.strides and self._fresh(target, np.ndarray):
                np.copyto(target, a)
                return target
            return a.copy(order="K")
        if "@randomstate" in enc:
            name, keys, pos, has_gauss, gauss = enc["@randomstate"]
            rs = target if self._fresh(target, np.random.RandomState) else np.random.RandomState()
            rs.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
            return rs
        if "@npgenerator" in enc:
            gen = target if self._fresh(target, np.random.Generator) else np.random.default_rng()
            gen.bit_generator.state = enc["@npgenerator"]
            return gen
        if "@torchgenerator" in enc:
            gen = target if self._fresh(target, torch.Generator) else torch.Generator()
            gen.set_state(enc["@torchgenerator"])
            return gen
        if "@pyrandom" in enc:
            rng = target if self._fresh(target, random.Random) else random.Random()
            rng.setstate(_tuples(enc["@pyrandom"]))
            return rng
        if "@optimizer" in enc:
            if not isinstance(target, torch.optim.Optimizer):
                raise ValueError("a torch optimizer's state needs the fresh object's optimizer to load into")
            target.load_state_dict(self.value(enc["@optimizer"], None))
            return target
        if "@list" in enc or "@tuple" in enc or "@deque" in enc:
            key = next(k for k in ("@list", "@tuple", "@deque") if k in enc)
            old = list(target) if isinstance(target, (list, tuple, deque)) else []
            values = [self.value(v, old[i] if i < len(old) else None) for i, v in enumerate(enc[key])]
            if key == "@tuple":
                return tuple(values)
            if key == "@deque":
                if self._fresh(target, deque) and target.maxlen == enc["maxlen"]:
                    target.clear()
                    target.extend(values)
                    return target
                return deque(values, enc["maxlen"])
            if self._fresh(target, list):
                target[:] = values
                return target
            return values
        if "@dict" in enc:
            return self._dict(enc["@dict"], target, dict)
        raise ValueError(f"unknown entry in an object state: {sorted(enc)}")

    def _dict(self, items: list[list[Any]], target: Any, kind: type) -> Any:
        old = target if isinstance(target, dict) else {}
        pairs = []
        for k, v in items:
            key = self.value(k, None)
            if isinstance(v, dict) and "@keep" in v:       # left out at capture (a function, ...): the fresh one
                if _hashable(key) and key in old:
                    pairs.append((key, old[key]))
                continue
            pairs.append((key, self.value(v, old.get(key) if _hashable(key) else None)))
        if self._fresh(target, kind):
            dict.clear(target)               # dict's own methods: a library subclass may override them
            dict.update(target, pairs)
            return target
        return dict(pairs)

    def _object(self, enc: dict[str, Any], target: Any, n: int) -> Any:
        module, _, qualname = enc["@object"].partition(":")
        if not _in_libraries(module, self.libraries):
            raise ValueError(f"object state names {enc['@object']!r}, outside the libraries "
                             f"{', '.join(self.libraries)}")
        if target is not None and qualified_name(type(target)) == enc["@object"] \
                and id(target) not in self.written:
            obj = target
        else:
            cls: Any = importlib.import_module(module)
            for part in qualname.split("."):
                cls = getattr(cls, part)
            if not isinstance(cls, type):
                raise ValueError(f"object state names {enc['@object']!r}, which is not a class")
            obj = cls.__new__(cls)
        self.written.add(id(obj))
        self.memo[n] = obj
        for name, v in enc["attrs"]:
            setattr(obj, name, self.value(v, getattr(obj, name, None)))
        if "items" in enc:
            self.written.discard(id(obj))
            self._dict(enc["items"], obj, dict)
        if "list_items" in enc:       # list's own methods: a library subclass may override them
            old = list(list.__iter__(obj)) if isinstance(obj, list) and obj is target else []
            values = [(old[i] if i < len(old) else None) if isinstance(v, dict) and "@keep" in v
                      else self.value(v, old[i] if i < len(old) else None) for i, v in enumerate(enc["list_items"])]
            list.__setitem__(obj, slice(None), values)
        return obj


def _hashable(key: Any) -> bool:
    try:
        hash(key)
    except TypeError:
        return False
    return True


def _tuples(v: Any) -> Any:
    """A state that went through JSON as lists, as the tuples ``random.Random.setstate`` expects."""
    return tuple(_tuples(x) for x in v) if isinstance(v, (list, tuple)) else v


def restore(fresh: Any, state: dict[str, Any], libraries: tuple[str, ...]) -> Any:
    """Write ``state`` (from ``capture``) into ``fresh``, a newly constructed object of the same type."""
    return _Restore(tuple(libraries)).value(state, fresh)
