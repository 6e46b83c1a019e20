"""User-written loss surfaces: ``formula: "x**2 + 10*sin(y)**2"``.

The text is read by a small hand-written tokenizer and recursive-descent parser over a strict whitelist,
so nothing the user writes is ever executed (no ``eval``/``exec``/``compile``, not even ``ast``). The
gradient and Hessian are exact: they are built by symbolic differentiation of the parsed tree, so the
optimizers see the same numbers a hand-coded surface would give, not finite-difference noise.

Accepted language (Python syntax and precedence, a tiny subset of it):

* numbers: ``3``, ``2.5``, ``.5``, ``1e-3`` (at most 1e100);
* variables ``x``, ``y``; constants ``pi``, ``e``;
* ``+ - * / **`` and unary ``-``/``+``, parentheses; ``-x**2`` is ``-(x**2)``, ``**`` is right-associative;
* one-argument calls of ``sin cos tan sinh cosh tanh arctan`` (alias ``atan``) ``exp log log10 sqrt abs``.

Limits: at most 500 characters; at most 50 levels of nesting (parentheses, calls, signs and powers);
a constant exponent must be finite with ``|value| <= 100`` (``x**1000``, ``9**9**9`` are refused).
Exponents that depend on ``x``/``y`` (``x**y``, ``2**x``) are allowed: the general rule
``u**v * (v'*log(u) + v*u'/u)`` holds wherever ``u > 0``, and elsewhere the value is nan, which optviz
treats like any other divergence.

Every traversal after parsing (differentiation, evaluation, printing) is an explicit-stack post-order
walk, so no formula, however its derivatives grow, can hit Python's recursion limit. Only the parser
recurses, and the nesting limit bounds it.
"""
from __future__ import annotations

import keyword
import math
import re
from typing import Any, Callable

import numpy as np

from ..fields import closest
from .functions import Objective

__all__ = ["FormulaError", "Expr", "parse_formula", "formula_objective", "walk", "program", "expand_definitions",
           "ALLOWED_FUNCTIONS", "VARIABLES", "CONSTANTS", "MAX_LENGTH", "MAX_DEPTH", "MAX_EXPONENT", "MAX_NUMBER"]

_DEFINITION = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*(.+)\Z", re.S)   # "name = text" after a formula

MAX_LENGTH = 500
MAX_DEPTH = 50
MAX_EXPONENT = 100.0
MAX_NUMBER = 1e100

VARIABLES = ("x", "y")
CONSTANTS = {"pi": math.pi, "e": math.e}
_UFUNCS: dict[str, Callable] = {
    "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "arctan": np.arctan,
    "exp": np.exp, "log": np.log, "log10": np.log10, "sqrt": np.sqrt, "abs": np.abs,
    "sign": np.sign,  # internal only: the derivative of abs; users cannot write it
}
_ALIASES = {"atan": "arctan"}
ALLOWED_FUNCTIONS = tuple(sorted(set(_UFUNCS) - {"sign"} | set(_ALIASES)))


class FormulaError(ValueError):
    """A formula the whitelist refuses; ``message`` is one line naming the offending fragment and column."""

    def __init__(self, message: str, column: int | None = None, fragment: str | None = None,
                 text: str | None = None):
        self.message = message
        self.column = column          # 1-based, None when the problem has no single place
        self.fragment = fragment
        self.text = text
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def pointer(self) -> str:
        """Two lines, the formula and a caret under the problem, for callers that can print more than one."""
        if self.text is None or self.column is None:
            return self.text or ""
        line = self.text.replace("\n", " ").replace("\t", " ")
        width = max(1, len(self.fragment or " "))
        return f"{line}\n{' ' * (self.column - 1)}{'^' * width}"


# ----------------------------------------------------------------------------------------------- tree

_BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
_BINARY_UFUNC = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power}
NUMPY_OPS: dict[str, Callable] = {**_UFUNCS, **_BINARY_UFUNC, "neg": np.negative}
_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}


def _fold_const(op: str, vals: list[float]) -> float:
    # numpy scalars, not Python floats: overflow must give inf, never raise OverflowError.
    with np.errstate(all="ignore"):
        if op == "neg":
            return float(-np.float64(vals[0]))
        if op in _BINARY_UFUNC:
            return float(_BINARY_UFUNC[op](np.float64(vals[0]), np.float64(vals[1])))
        return float(_UFUNCS[op](np.float64(vals[0])))


class Expr:
    """A node of a parsed formula or of one of its derivatives; trees are shared, never mutated.

    ``op`` is "num", "var", "neg", a binary op ("add", "sub", "mul", "div", "pow") or a function name.
    Constant subtrees carry their value in ``const`` (None when the subtree depends on x or y), so
    simplification and the exponent check need no traversal.
    """

    __slots__ = ("op", "args", "name", "const", "span")

    def __init__(self, op: str, args: tuple["Expr", ...] = (), *, name: str | None = None,
                 value: float | None = None, span: tuple[int, int] | None = None):
        self.op = op
        self.args = args
        self.name = name                # literal text of a number, name of a variable
        self.span = span                # (start, end) in the source text; None for derived nodes
        if op == "num":
            self.const = float(value)
        elif op == "var":
            self.const = None
        elif all(a.const is not None for a in args):
            self.const = _fold_const(op, [a.const for a in args])
        else:
            self.const = None

    # -- public helpers
    def __str__(self) -> str:
        return _to_text(self)

    def __repr__(self) -> str:
        return f"Expr({_to_text(self)!r})"

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(n.name for n in _postorder([self]) if n.op == "var")

    def diff(self, var: str) -> "Expr":
        """Exact symbolic derivative with respect to ``var`` ("x" or "y"), trivially simplified."""
        return _diff([self], var)[0]

    def evaluate(self, xy: Any) -> np.ndarray:
        """Vectorized value: ``xy`` is (2, ...), the result has the trailing shape, float64."""
        return _evaluate([self], xy)[0]


def _num(v: float) -> Expr:
    return Expr("num", value=float(v))


_ZERO, _ONE, _TWO = _num(0.0), _num(1.0), _num(2.0)


def _is(e: Expr, v: float) -> bool:
    return e.op == "num" and e.const == v


# Smart constructors: fold constants and drop 0*, 1*, +0, **1, so derivatives stay small and readable.
def _neg(a: Expr) -> Expr:
    if a.op == "num":
        return _num(-a.const)
    if a.op == "neg":
        return a.args[0]
    return Expr("neg", (a,))


def _add(a: Expr, b: Expr) -> Expr:
    if _is(a, 0.0):
        return b
    if _is(b, 0.0):
        return a
    if a.op == "num" and b.op == "num":
        return _num(a.const + b.const)
    if b.op == "neg":
        return _sub(a, b.args[0])
    return Expr("add", (a, b))


def _sub(a: Expr, b: Expr) -> Expr:
    if _is(b, 0.0):
        return a
    if _is(a, 0.0):
        return _neg(b)
    if a.op == "num" and b.op == "num":
        return _num(a.const - b.const)
    if b.op == "neg":
        return _add(a, b.args[0])
    return Expr("sub", (a, b))


def _mul(a: Expr, b: Expr) -> Expr:
    if _is(a, 0.0) or _is(b, 0.0):
        return _ZERO
    if _is(a, 1.0):
        return b
    if _is(b, 1.0):
        return a
    if _is(a, -1.0):
        return _neg(b)
    if _is(b, -1.0):
        return _neg(a)
    if a.op == "num" and b.op == "num":
        return _num(_fold_const("mul", [a.const, b.const]))
    if a.op == "neg" and b.op == "neg":
        return _mul(a.args[0], b.args[0])
    if a.op == "div" and _is(a.args[0], 1.0):   # (1/v)*b -> b/v: what the chain rule produces for log, sqrt
        return _div(b, a.args[1])
    if b.op == "div" and _is(b.args[0], 1.0):
        return _div(a, b.args[1])
    if a.op == "neg":
        return _neg(_mul(a.args[0], b))
    if b.op == "neg":
        return _neg(_mul(a, b.args[0]))
    if b.op == "num" and a.op != "num":
        a, b = b, a                     # constants first: 2*cos(x), not cos(x)*2
    return Expr("mul", (a, b))


def _div(a: Expr, b: Expr) -> Expr:
    if _is(a, 0.0):
        return _ZERO
    if _is(b, 1.0):
        return a
    if a.op == "num" and b.op == "num":
        return _num(_fold_const("div", [a.const, b.const]))
    if a.op == "neg":
        return _neg(_div(a.args[0], b))
    return Expr("div", (a, b))


def _pow(a: Expr, b: Expr) -> Expr:
    if _is(b, 0.0):
        return _ONE
    if _is(b, 1.0):
        return a
    if a.op == "num" and b.op == "num":
        return _num(_fold_const("pow", [a.const, b.const]))
    return Expr("pow", (a, b))


def _call(fn: str, a: Expr) -> Expr:
    if a.op == "num":
        return _num(_fold_const(fn, [a.const]))
    return Expr(fn, (a,))


# ------------------------------------------------------------------------------------------ traversal

def _postorder(roots: list[Expr]) -> list[Expr]:
    """Every distinct node reachable from ``roots``, children before parents, without recursion."""
    seen: set[int] = set()
    order: list[Expr] = []
    stack: list[tuple[Expr, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for child in reversed(node.args):
            if id(child) not in seen:
                stack.append((child, False))
    return order


def _derivative_of_call(fn: str, u: Expr) -> Expr:
    """f'(u) for f in the whitelist (the chain rule multiplies by u' afterwards)."""
    if fn == "sin":
        return _call("cos", u)
    if fn == "cos":
        return _neg(_call("sin", u))
    if fn == "tan":
        return _div(_ONE, _pow(_call("cos", u), _TWO))
    if fn == "sinh":
        return _call("cosh", u)
    if fn == "cosh":
        return _call("sinh", u)
    if fn == "tanh":
        return _sub(_ONE, _pow(_call("tanh", u), _TWO))
    if fn == "arctan":
        return _div(_ONE, _add(_ONE, _pow(u, _TWO)))
    if fn == "exp":
        return _call("exp", u)
    if fn == "log":
        return _div(_ONE, u)
    if fn == "log10":
        return _div(_ONE, _mul(_num(math.log(10.0)), u))
    if fn == "sqrt":
        return _div(_ONE, _mul(_TWO, _call("sqrt", u)))
    if fn == "abs":
        return _call("sign", u)
    if fn == "sign":
        return _ZERO
    raise AssertionError(f"no derivative rule for {fn}")  # pragma: no cover - the whitelist is closed


def _diff(roots: list[Expr], var: str) -> list[Expr]:
    d: dict[int, Expr] = {}
    for node in _postorder(roots):
        op, args = node.op, node.args
        if node.const is not None:
            out = _ZERO
        elif op == "var":
            out = _ONE if node.name == var else _ZERO
        else:
            da = [d[id(a)] for a in args]
            if op == "neg":
                out = _neg(da[0])
            elif op == "add":
                out = _add(da[0], da[1])
            elif op == "sub":
                out = _sub(da[0], da[1])
            elif op == "mul":
                out = _add(_mul(da[0], args[1]), _mul(args[0], da[1]))
            elif op == "div":
                u, v = args
                if _is(da[1], 0.0):
                    out = _div(da[0], v)
                elif _is(da[0], 0.0):
                    out = _neg(_div(_mul(u, da[1]), _pow(v, _TWO)))
                else:
                    out = _div(_sub(_mul(da[0], v), _mul(u, da[1])), _pow(v, _TWO))
            elif op == "pow":
                u, v = args
                if v.const is not None:        # c * u**(c-1) * u'
                    c = v.const
                    out = _mul(_mul(_num(c), _pow(u, _num(c - 1.0))), da[0])
                else:                          # u**v * (v'*log(u) + v*u'/u)
                    out = _mul(node, _add(_mul(da[1], _call("log", u)), _div(_mul(v, da[0]), u)))
            else:
                out = _mul(_derivative_of_call(op, args[0]), da[0])
        d[id(node)] = out
    return [d[id(r)] for r in roots]


def _evaluate(roots: list[Expr], xy: Any) -> list[np.ndarray]:
    """Values of several trees at once, sharing common subtrees; non-finite results are left as nan/inf."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim < 1 or xy.shape[0] != 2:
        raise ValueError(f"expected points of shape (2, ...), got {xy.shape}")
    shape = xy.shape[1:]
    with np.errstate(all="ignore"):
        values = walk(roots, xy[0], xy[1], np.float64, NUMPY_OPS)
    return [np.array(np.broadcast_to(v, shape), dtype=np.float64) for v in values]


def expand_definitions(text: str) -> str:
    """``"expr, name = definition, ..."`` -> ``expr`` with each name replaced by its parenthesised definition;
    definitions may use each other in any order (one pass per definition)."""
    head, *parts = text.split(",")
    definitions = []
    for part in parts:
        m = _DEFINITION.match(part)
        if m is None:
            raise FormulaError(f"cannot read the definition '{part.strip()}' in the formula")
        definitions.append((re.compile(rf"\b{re.escape(m.group(1))}\b"), f"({m.group(2).strip()})"))
    for _ in definitions:
        for pattern, body in definitions:
            head = pattern.sub(lambda _, body=body: body, head)
    return head


def program(expr: Expr) -> list:
    """The tree as a flat program another language can run (the HTML player evaluates losses with it): its
    nodes children-first, each a number, ``"x"``, ``"y"`` or ``[op, index, ...]`` naming earlier nodes by position;
    the last is the value. Shared subtrees appear once."""
    order = _postorder([expr])
    at = {id(node): i for i, node in enumerate(order)}
    out: list = []
    for node in order:
        if node.const is not None:
            out.append(float(node.const))
        elif node.op == "var":
            out.append(node.name)
        else:
            out.append([node.op, *(at[id(a)] for a in node.args)])
    return out


def walk(roots: list[Expr], x: Any, y: Any, constant: Callable[[float], Any], ops: dict[str, Callable]) -> list:
    """The values of several trees in any array library: ``constant(c)`` makes one of its numbers and ``ops`` maps
    every operation (neg, add, sub, mul, div, pow and the whitelisted calls) to its function. Subtrees the trees
    share are computed once; the walk is an explicit post-order, so no formula can hit the recursion limit."""
    vals: dict[int, Any] = {}
    for node in _postorder(roots):
        if node.const is not None:
            v = constant(node.const)
        elif node.op == "var":
            v = x if node.name == "x" else y
        else:
            v = ops[node.op](*(vals[id(a)] for a in node.args))
        vals[id(node)] = v
    return [vals[id(r)] for r in roots]


def _format_number(v: float) -> str:
    if v == int(v) and abs(v) < 1e16:
        return str(int(v))
    return repr(v)


def _to_text(root: Expr) -> str:
    """Minimal-parenthesis text that parses back to the same tree (the scene's normalized formula)."""
    out: dict[int, tuple[str, int]] = {}
    for node in _postorder([root]):
        op = node.op
        if op == "num":
            if node.name is not None:
                text, prec = node.name, 5
            elif not math.isfinite(node.const):
                text, prec = f"({node.const!r})", 5
            else:
                text = _format_number(node.const)
                prec = 3 if text.startswith("-") else 5
        elif op == "var":
            text, prec = node.name, 5
        elif op == "neg":
            s, p = out[id(node.args[0])]
            text, prec = "-" + (s if p >= 3 else f"({s})"), 3
        elif op in _BINARY:
            (ls, lp), (rs, rp) = out[id(node.args[0])], out[id(node.args[1])]
            prec = _PREC[op]
            if op == "pow":
                ls = ls if lp > 4 else f"({ls})"
                rs = rs if rp >= 3 else f"({rs})"
                text = f"{ls}**{rs}"
            else:
                ls = ls if lp >= prec else f"({ls})"
                rs = rs if rp > prec else f"({rs})"
                sep = f" {_BINARY[op]} " if prec == 1 else _BINARY[op]
                text = f"{ls}{sep}{rs}"
        else:
            text, prec = f"{op}({out[id(node.args[0])][0]})", 5
        out[id(node)] = (text, prec)
    return out[id(root)][0]


# ---------------------------------------------------------------------------------------------- parse

_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_SPACE = " \t\r\n"
_KEYWORD_HINTS = {
    "lambda": "lambdas are not allowed",
    "if": "conditional expressions are not allowed", "else": "conditional expressions are not allowed",
    "for": "comprehensions are not allowed", "in": "comprehensions and membership tests are not allowed",
    "and": "boolean operators are not allowed", "or": "boolean operators are not allowed",
    "not": "boolean operators are not allowed", "is": "comparisons are not allowed",
}
_CHAR_HINTS = {
    "[": "brackets are not allowed (no subscripts or lists)", "]": "brackets are not allowed",
    "{": "braces are not allowed", "}": "braces are not allowed",
    "^": "'^' is not a power operator; write powers as '**'",
    "%": "'%' (modulo) is not supported",
    "=": "'=' is not allowed (no assignments or keyword arguments)",
    ":": "':' is not allowed (no lambdas, slices or dicts)",
}


class _Token:
    __slots__ = ("kind", "text", "start", "end")

    def __init__(self, kind: str, text: str, start: int, end: int):
        self.kind, self.text, self.start, self.end = kind, text, start, end


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.depth = 0
        self.tok = self._next()

    # -- errors
    def fail(self, what: str, start: int, end: int | None = None, hint: str = "") -> FormulaError:
        end = start + 1 if end is None else end
        frag = self.text[start:end]
        shown = frag if len(frag) <= 40 else frag[:37] + "..."
        shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)   # keep the message one line
        where = f"'{shown}' at column {start + 1}" if frag else f"the end (column {start + 1})"
        msg = f"{what}: {where}" + (f"; {hint}" if hint else "")
        return FormulaError(msg, column=start + 1, fragment=frag, text=self.text)

    # -- tokens
    def _next(self) -> _Token:
        t, i = self.text, self.pos
        while i < len(t) and t[i] in _SPACE:
            i += 1
        if i >= len(t):
            self.pos = i
            return _Token("end", "", i, i)
        c = t[i]
        two = t[i:i + 2]
        if c in "0123456789" or (c == "." and t[i + 1:i + 2] in tuple("0123456789")):
            m = _NUMBER.match(t, i)
            j = m.end() if m else i + 1
            if m is None or (j < len(t) and (t[j].isalnum() or t[j] in "._")):
                k = j
                while k < len(t) and (t[k].isalnum() or t[k] in "._"):
                    k += 1
                hint = ""
                if t[j:k] in ("e", "E"):
                    hint = "an exponent needs digits, e.g. 1e-3"
                elif t[j:j + 1].isalpha():
                    hint = "write products with '*', e.g. 2*x"
                raise self.fail("malformed number", i, k, hint)
            value = float(m.group())
            if not value <= MAX_NUMBER:
                raise self.fail("number too large", i, j, f"numbers must be at most {MAX_NUMBER:g}")
            self.pos = j
            return _Token("num", m.group(), i, j)
        m = _NAME.match(t, i)
        if m:
            self.pos = m.end()
            return _Token("name", m.group(), i, m.end())
        if two == "**":
            self.pos = i + 2
            return _Token("op", "**", i, i + 2)
        if c in "+-*/(),":
            if two == "//":
                raise self.fail("floor division is not supported", i, i + 2, "use '/'")
            self.pos = i + 1
            return _Token("op", c, i, i + 1)
        if c == ".":
            m = _NAME.match(t, i + 1)
            if m:
                raise self.fail("attribute access is not allowed", i, m.end())
            raise self.fail("unexpected '.'", i)
        if c in "\"'":
            k = t.find(c, i + 1)
            raise self.fail("strings are not allowed", i, len(t) if k < 0 else k + 1)
        if two in ("<<", ">>"):
            raise self.fail("bit shifts are not allowed", i, i + 2)
        if c in "<>!" or two == "==":
            k = i + 2 if two in ("<=", ">=", "!=", "==") else i + 1
            raise self.fail("comparisons are not allowed", i, k)
        if c in _CHAR_HINTS:
            raise self.fail(_CHAR_HINTS[c], i)
        raise self.fail("unexpected character", i)

    def advance(self) -> _Token:
        tok = self.tok
        self.tok = self._next()
        return tok

    def enter(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"formula is nested too deeply (more than {MAX_DEPTH} levels)", tok.start, tok.end)

    # -- grammar: expr := term (('+'|'-') term)* ; term := unary (('*'|'/') unary)*
    #             unary := ('+'|'-') unary | power ; power := primary ['**' unary]
    def parse(self) -> Expr:
        if self.tok.kind == "end":
            raise FormulaError("formula is empty", column=None, fragment="", text=self.text)
        node = self.expr()
        tok = self.tok
        if tok.kind != "end":
            if tok.text == ")":
                raise self.fail("unmatched ')'", tok.start)
            raise self.unexpected(tok)
        return node

    def unexpected(self, tok: _Token) -> FormulaError:
        if tok.kind == "end":
            return self.fail("unexpected end of formula", tok.start, tok.start)
        if tok.kind == "name" and tok.text in _KEYWORD_HINTS:
            return self.fail(_KEYWORD_HINTS[tok.text], tok.start, tok.end)
        if tok.kind in ("name", "num") or tok.text == "(":
            return self.fail("missing operator", tok.start, tok.end,
                             "implicit multiplication is not supported; write '*'")
        return self.fail("unexpected token", tok.start, tok.end)

    def expr(self) -> Expr:
        node = self.term()
        while self.tok.text in ("+", "-") and self.tok.kind == "op":
            op = "add" if self.advance().text == "+" else "sub"
            right = self.term()
            node = Expr(op, (node, right), span=(node.span[0], right.span[1]))
        return node

    def term(self) -> Expr:
        node = self.unary()
        while self.tok.text in ("*", "/") and self.tok.kind == "op":
            op = "mul" if self.advance().text == "*" else "div"
            right = self.unary()
            node = Expr(op, (node, right), span=(node.span[0], right.span[1]))
        return node

    def unary(self) -> Expr:
        tok = self.tok
        if tok.kind == "op" and tok.text in ("+", "-"):
            self.enter(tok)
            self.advance()
            operand = self.unary()
            self.depth -= 1
            if tok.text == "+":             # unary plus is a no-op; keep the tree minimal
                return operand
            return Expr("neg", (operand,), span=(tok.start, operand.span[1]))
        return self.power()

    def power(self) -> Expr:
        base = self.primary()
        if self.tok.kind == "op" and self.tok.text == "**":
            op_tok = self.advance()
            self.enter(op_tok)
            exponent = self.unary()
            self.depth -= 1
            c = exponent.const
            if c is not None and not (math.isfinite(c) and abs(c) <= MAX_EXPONENT):
                shown = _format_number(c) if math.isfinite(c) else str(c)
                raise self.fail(f"exponent {shown} is too large", *exponent.span,
                                hint=f"constant exponents must be finite and at most {MAX_EXPONENT:g} in size")
            return Expr("pow", (base, exponent), span=(base.span[0], exponent.span[1]))
        return base

    def primary(self) -> Expr:
        tok = self.tok
        if tok.kind == "num":
            self.advance()
            return Expr("num", name=tok.text, value=float(tok.text), span=(tok.start, tok.end))
        if tok.kind == "name":
            return self.name()
        if tok.kind == "op" and tok.text == "(":
            self.enter(tok)
            self.advance()
            inner = self.expr()
            if not (self.tok.kind == "op" and self.tok.text == ")"):
                if self.tok.kind == "end":
                    raise self.fail("unclosed '('", tok.start)
                raise self.unexpected(self.tok)
            close = self.advance()
            self.depth -= 1
            # parentheses leave no node, but the span covers them for error messages
            inner.span = (tok.start, close.end)
            return inner
        raise self.unexpected(tok)

    def name(self) -> Expr:
        # Judge the name before tokenizing what follows, so errors are reported left to right.
        tok = self.tok
        word = tok.text
        called = self.text[tok.end:].lstrip(_SPACE).startswith("(")
        if word in VARIABLES or word in CONSTANTS:
            self.advance()
            if word in VARIABLES:
                return Expr("var", name=word, span=(tok.start, tok.end))
            return Expr("num", name=word, value=CONSTANTS[word], span=(tok.start, tok.end))
        if word in ALLOWED_FUNCTIONS:
            if not called:
                raise self.fail(f"function '{word}' must be called", tok.start, tok.end, f"write {word}(...)")
            self.advance()
            return self.call(tok, _ALIASES.get(word, word))
        if word in _KEYWORD_HINTS:
            raise self.fail(_KEYWORD_HINTS[word], tok.start, tok.end)
        if keyword.iskeyword(word):
            raise self.fail("Python keywords are not allowed", tok.start, tok.end)
        attr = re.match(r"[ \t\r\n]*\.[ \t\r\n]*[A-Za-z_][A-Za-z0-9_]*", self.text[tok.end:])
        if attr:
            last = attr.group().split(".")[-1].strip()
            raise self.fail("attribute access is not allowed", tok.start, tok.end + attr.end(),
                            f"write plain {last}(...)" if last in ALLOWED_FUNCTIONS else "")
        if called:
            raise self.fail("unknown function", tok.start, tok.end,
                            _suggest(word, ALLOWED_FUNCTIONS) or f"functions are {', '.join(ALLOWED_FUNCTIONS)}")
        hint = _suggest(word, VARIABLES + tuple(CONSTANTS) + ALLOWED_FUNCTIONS)
        if not hint and len(word) == 1:
            hint = "did you mean 'x' or 'y'? (the variables are x and y)"
        raise self.fail("unknown name", tok.start, tok.end,
                        hint or f"names are x, y, pi, e and the functions {', '.join(ALLOWED_FUNCTIONS)}")

    def call(self, name_tok: _Token, fn: str) -> Expr:
        open_tok = self.advance()
        self.enter(open_tok)
        if self.tok.kind == "op" and self.tok.text == ")":
            raise self.fail(f"{name_tok.text}() takes exactly one argument, none given",
                            name_tok.start, self.tok.end)
        arg = self.expr()
        if self.tok.kind == "op" and self.tok.text == ",":
            end = _matching_paren(self.text, open_tok.start)
            raise self.fail(f"{name_tok.text}() takes exactly one argument", name_tok.start, end)
        if not (self.tok.kind == "op" and self.tok.text == ")"):
            if self.tok.kind == "end":
                raise self.fail("unclosed '('", open_tok.start)
            raise self.unexpected(self.tok)
        close = self.advance()
        self.depth -= 1
        return Expr(fn, (arg,), span=(name_tok.start, close.end))


def _matching_paren(text: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def _suggest(word: str, candidates: tuple[str, ...]) -> str:
    if word in ("pow", "power"):
        return "write powers as '**'"
    if word == "ln":
        return "did you mean 'log'?"
    match = closest(word, candidates)
    return f"did you mean '{match}'?" if match else ""


def _prescan(text: str) -> None:
    """Cheap checks that must happen before any parsing: length and parenthesis depth."""
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"formula is too long: {len(text)} characters, the limit is {MAX_LENGTH}",
                           column=MAX_LENGTH + 1, fragment=text[MAX_LENGTH:MAX_LENGTH + 10], text=text)
    depth = 0
    for i, c in enumerate(text):
        if c == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise FormulaError(f"formula is nested too deeply (more than {MAX_DEPTH} levels of "
                                   f"parentheses): '(' at column {i + 1}", column=i + 1, fragment="(",
                                   text=text)
        elif c == ")":
            depth = max(0, depth - 1)


def parse_formula(text: str) -> Expr:
    """Parse and validate ``text``; raise FormulaError (never anything else) on any refusal."""
    if not isinstance(text, str):
        raise FormulaError(f"formula must be a string, got {type(text).__name__}")
    _prescan(text)
    if not text.strip(_SPACE):
        raise FormulaError("formula is empty", column=None, fragment="", text=text)
    return _Parser(text).parse()


def formula_objective(text: str, minima=(), xlim=(-5.5, 5.5), ylim=(-5.5, 5.5), start=(4.0, 4.0)) -> Objective:
    """An Objective for a user formula; derivatives are built once here, so errors surface at load time."""
    expr = parse_formula(text)
    dx, dy = _diff([expr], "x")[0], _diff([expr], "y")[0]
    dxx, dxy = _diff([dx], "x")[0], _diff([dx], "y")[0]
    dyy = _diff([dy], "y")[0]

    def value(xy):
        return _evaluate([expr], xy)[0]

    def gradient(xy):
        return np.stack(_evaluate([dx, dy], xy))

    def hessian(xy):
        hxx, hxy, hyy = _evaluate([dxx, dxy, dyy], xy)
        return np.stack([np.stack([hxx, hxy]), np.stack([hxy, hyy])])

    return Objective(
        name="formula",
        formula=str(expr),
        params={},
        value=value,
        gradient=gradient,
        hessian=hessian,
        minima=tuple((float(a), float(b)) for a, b in minima),
        xlim=(float(xlim[0]), float(xlim[1])),
        ylim=(float(ylim[0]), float(ylim[1])),
        start=(float(start[0]), float(start[1])),
    )
