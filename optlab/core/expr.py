"""A safe parser for a user-typed surface ``f(x, y)``, compiled to a JAX function.

User text is never given to ``eval`` or ``exec``, nor compiled to bytecode: it is parsed with
``ast.parse(text, mode="eval")`` (``compile`` with ``PyCF_ONLY_AST``: a syntax tree, nothing
runs) and the tree is walked against a whitelist; a tiny tree-walking compiler turns each
allowed node into a Python closure over ``jax.numpy`` operations. The result works elementwise
on arrays and under ``jax.grad``, ``jit`` and ``vmap``.

The language:

* numbers: int and float literals (``3``, ``2.5``, ``1e-3``), at most 1e12 in absolute value;
* names: ``x``, ``y`` and the constants ``pi`` and ``e``;
* operators: ``+ - * / **``, unary ``-`` and ``+``, parentheses. ``^`` is refused with the hint
  "use ** for powers" (in Python it is xor, and its precedence is lower than ``+``, so quietly
  reading it as a power would change the meaning of ``x^2+1``). A power whose exponent is a
  constant (``x**3``, ``2**(1/2)``) must have ``|exponent| <= 10``; a variable exponent
  (``2**x``) is allowed, since it can only overflow to ``inf``, never hang;
* functions of one argument: ``FUNCTIONS_1`` (``sin cos tan exp log sqrt abs tanh sinh cosh
  arctan arcsin arccos log10 log2``, with ``atan asin acos ln`` as aliases); of two arguments:
  ``FUNCTIONS_2`` (``min``, ``max``, ``atan2``/``arctan2``, elementwise).

Limits: ``MAX_LENGTH`` characters, printable ASCII only (non-ASCII look-alikes such as ``ｘ``,
``𝐱`` or a unicode minus are refused, not normalised), ``MAX_NODES`` syntax nodes and
``MAX_DEPTH`` levels of nesting. Also refused before parsing: backslashes, control characters
(tabs aside), ``#``, ``[ ]`` and numbers glued to names (``2x``: write ``2*x``). Every refusal
is an :class:`ExprError` with the offending token and its 0-based position.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp
import numpy as np

MAX_LENGTH = 200
MAX_NODES = 150
MAX_DEPTH = 32
MAX_CONSTANT = 1e12
MAX_EXPONENT = 10.0

VARIABLES = ("x", "y")
CONSTANTS = {"pi": math.pi, "e": math.e}
# user name -> numpy/jax.numpy function name
FUNCTIONS_1 = {
    **{n: n for n in ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sinh")},
    **{n: n for n in ("cosh", "arctan", "arcsin", "arccos")},
    **{"log10": "log10", "log2": "log2", "atan": "arctan", "asin": "arcsin", "acos": "arccos"},
    "ln": "log",
}
FUNCTIONS_2 = {"min": "minimum", "max": "maximum", "atan2": "arctan2", "arctan2": "arctan2"}
_BINOPS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide"}
_OP_TEXT = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<"}
_OP_TEXT |= {ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Pow: "**"}
_NOT_ALLOWED = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.Compare: "comparison",
    ast.BoolOp: "and/or",
    ast.IfExp: "conditional expression",
    ast.NamedExpr: "assignment",
    ast.Starred: "unpacking",
    ast.JoinedStr: "f-string",
    ast.Tuple: "tuple",
    ast.GeneratorExp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.Set: "set",
    ast.Dict: "dict",
}
_HINTS = {"^": "use ** for powers", "[": "use ( ) for grouping", "]": "use ( ) for grouping"}
_HINTS["#"] = "comments are not allowed"

_TOKEN = re.compile(r"[A-Za-z_]\w*|\.?\d[\w.]*|\*\*|//|\S")  # the token an error points at

_DEC = r"\d(?:_?\d)*"
_NUMBER = re.compile(  # Python's number literal syntax (without the complex suffix's rules)
    rf"(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+"
    rf"|(?:{_DEC}\.(?:{_DEC})?|\.{_DEC}|{_DEC})(?:[eE][+-]?{_DEC})?)[jJ]?"
)
_NUMBER_START = re.compile(r"(?<![\w.])(?:\d|\.\d)")  # a digit that starts a number

Fn = Callable[[Any, Any], Any]


class ExprError(ValueError):
    """A refused expression: ``message``, the offending ``token`` and its 0-based ``position``.

    ``str(err)`` reads like ``unknown name 'foo' at position 4``, plus a hint when there is one.
    """

    def __init__(self, message: str, token: str = "", position: int = 0, hint: str = "") -> None:
        self.message, self.token, self.position, self.hint = message, token, position, hint
        text = f"{message} {token!r}" if token else message
        text += f" at position {position}"
        super().__init__(f"{text} ({hint})" if hint else text)

    def __reduce__(self):  # keep the fields through pickling (e.g. across processes)
        return type(self), (self.message, self.token, self.position, self.hint)


@dataclass(frozen=True)
class Expression:
    """A parsed expression: the original ``text`` and ``fn(x, y)`` (elementwise, JAX)."""

    text: str
    fn: Fn

    def __call__(self, x: Any, y: Any) -> Any:
        return self.fn(x, y)


def parse(text: str) -> Expression:
    """Parse and compile ``text`` into an :class:`Expression`, or raise :class:`ExprError`."""
    if not isinstance(text, str):
        raise ExprError(f"expected a string, got {type(text).__name__}")
    _scan(text)
    start = len(text) - len(text.lstrip(" \t"))
    tree = _syntax_tree(text.strip(" \t"), start)
    body = _Compiler(text, start, jnp).check(tree.body)

    def fn(x, y):
        x, y = _as_float(x), _as_float(y)
        return jnp.broadcast_to(body(x, y), jnp.broadcast_shapes(jnp.shape(x), jnp.shape(y)))

    return Expression(text, fn)


def _as_float(v: Any) -> Any:
    v = jnp.asarray(v)
    return v if jnp.issubdtype(v.dtype, jnp.floating) else v.astype(jnp.float32)


def _scan(text: str) -> None:
    """Character-level checks before parsing: length, ASCII, control characters, ``^``, depth."""
    if not text.strip():
        raise ExprError("empty expression", hint="type a function of x and y, e.g. x**2 + y**2")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression longer than {MAX_LENGTH} characters", position=MAX_LENGTH)
    depth = 0
    for i, ch in enumerate(text):
        if ord(ch) > 126:
            raise ExprError("non-ASCII character", ch, i, "type plain ASCII: x, y, -, *, **")
        if ch == "\\" or (ord(ch) < 32 and ch != "\t"):
            raise ExprError("unexpected character", ch, i)
        if ch in _HINTS:
            raise ExprError("unexpected character", ch, i, _HINTS[ch])
        depth += (ch == "(") - (ch == ")")
        if depth > MAX_DEPTH:
            raise ExprError(f"parentheses nested deeper than {MAX_DEPTH}", ch, i)
    # A number glued to a name ("2x", "1if") is an error anyway; catching it here also keeps
    # Python's tokenizer from printing an "invalid decimal literal" SyntaxWarning.
    for start in _NUMBER_START.finditer(text):
        i = start.start()
        end = _NUMBER.match(text, i).end()
        if end < len(text) and (text[end].isalnum() or text[end] in "_."):
            token = _TOKEN.match(text, i).group()
            glued = text[end].isalpha() or text[end] == "_"
            hint = "put * between a number and a name: 2*x, not 2x" if glued else "not a number"
            raise ExprError("malformed number", token, i, hint)


def _syntax_tree(source: str, offset: int) -> ast.Expression:
    """``ast.parse`` in eval mode (syntax tree only), with syntax errors as ExprError."""
    try:
        return ast.parse(source, mode="eval")
    except SyntaxError as err:
        # offset is 1-based; 0 or None means "at the end of the input"
        col = err.offset - 1 if err.offset and err.offset > 0 else len(source)
        col = min(col, len(source))
        match = _TOKEN.match(source, col)
        token = match.group() if match else ""
        msg = (err.msg or "invalid syntax").replace("Perhaps you forgot a comma?", "").strip()
        hint = {"invalid decimal literal": "put * between a number and a name: 2*x, not 2x"}
        hint = hint.get(msg, msg)
        message = "syntax error near" if token else "incomplete expression"
        raise ExprError(message, token, offset + col, hint) from None
    except (ValueError, MemoryError, RecursionError) as err:  # defensive: limits make these rare
        raise ExprError("cannot parse expression", position=offset) from err


class _Compiler:
    """Checks a syntax tree against the whitelist and turns it into nested closures.

    ``xp`` is ``jax.numpy`` for the user's function and ``numpy`` for the safe evaluation of
    constant exponents (float64, overflow to inf, never a Python big-int power).
    """

    def __init__(self, text: str, offset: int, xp: Any) -> None:
        self.text, self.offset, self.xp = text, offset, xp

    def error(self, message: str, node: Any, token: str | None = None, hint: str = "") -> ExprError:
        start = self.offset + getattr(node, "col_offset", 0)
        end = self.offset + getattr(node, "end_col_offset", start - self.offset)
        return ExprError(message, self.text[start:end] if token is None else token, start, hint)

    def check(self, node: ast.expr) -> Fn:
        """Size and depth limits, then compile."""
        nodes = [n for n in ast.walk(node) if isinstance(n, ast.expr)]
        if len(nodes) > MAX_NODES:
            raise self.error(f"expression has more than {MAX_NODES} parts", node, token="")
        stack = [(node, 1)]
        while stack:
            n, d = stack.pop()
            if d > MAX_DEPTH:
                raise self.error(f"expression nested deeper than {MAX_DEPTH}", n)
            stack.extend((c, d + 1) for c in ast.iter_child_nodes(n) if isinstance(c, ast.expr))
        return self.compile(node)

    def compile(self, node: ast.expr) -> Fn:
        xp = self.xp
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            if node.id in VARIABLES:
                return (lambda x, y: x) if node.id == "x" else (lambda x, y: y)
            if node.id in CONSTANTS:
                value = CONSTANTS[node.id]
                return lambda x, y: value
            raise self.error("unknown name", node, hint="names allowed: x, y, pi, e")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self.compile(node.operand)
            f = xp.negative if isinstance(node.op, ast.USub) else xp.positive
            return lambda x, y: f(operand(x, y))
        if isinstance(node, ast.BinOp):
            return self.binop(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.UnaryOp):
            token = "not" if isinstance(node.op, ast.Not) else "~"
            raise self.error("operator not allowed", node, token=token, hint="use + - * / **")
        what = _NOT_ALLOWED.get(type(node), "this kind of expression")
        if isinstance(node, ast.Attribute):
            dot = self.offset + node.value.end_col_offset
            raise ExprError(f"{what} not allowed", self.text[dot : self.at(node, end=True)], dot)
        raise self.error(f"{what} not allowed", node)

    def at(self, node: ast.AST, end: bool = False) -> int:
        return self.offset + (node.end_col_offset if end else node.col_offset)

    def number(self, node: ast.Constant) -> Fn:
        value = node.value
        if type(value) not in (int, float):
            kind = {str: "string", bytes: "bytes", complex: "complex number"}.get(type(value))
            raise self.error(f"{kind or 'constant'} not allowed", node, hint="numbers only")
        if abs(value) > MAX_CONSTANT or not math.isfinite(value):  # ints: no float overflow
            raise self.error("number too large", node, hint=f"at most {MAX_CONSTANT:g}")
        value = float(value)
        return lambda x, y: value

    def binop(self, node: ast.BinOp) -> Fn:
        left, right = self.compile(node.left), self.compile(node.right)
        op = type(node.op)
        if op is ast.Pow:
            return self.power(node, left, right)
        if op not in _BINOPS:
            symbol = _OP_TEXT.get(op, "?")
            gap = self.text[self.at(node.left, end=True) : self.at(node.right)]
            pos = self.at(node.left, end=True) + max(gap.find(symbol), 0)
            raise ExprError("operator not allowed", symbol, pos, "use + - * / **")
        f = getattr(self.xp, _BINOPS[op])
        return lambda x, y: f(left(x, y), right(x, y))

    def power(self, node: ast.BinOp, left: Fn, right: Fn) -> Fn:
        xp = self.xp
        names = {n.id for n in ast.walk(node.right) if isinstance(n, ast.Name)}
        if not names & set(VARIABLES):
            # constant exponent: evaluate it safely in float64 and bound it
            with np.errstate(all="ignore"):
                p = float(_Compiler(self.text, self.offset, np).compile(node.right)(0.0, 0.0))
            if not abs(p) <= MAX_EXPONENT:  # also catches nan
                hint = f"a constant exponent must be a number with |p| <= {MAX_EXPONENT:g}"
                raise self.error("exponent out of range", node.right, hint=hint)
            if p.is_integer():
                n = int(p)  # integer power: exact for negative bases, safe gradient at 0
                return lambda x, y: xp.power(left(x, y), n)
        return lambda x, y: xp.power(left(x, y), right(x, y))

    def call(self, node: ast.Call) -> Fn:
        if not isinstance(node.func, ast.Name):
            raise self.error("only named functions may be called", node.func)
        name = node.func.id
        table = FUNCTIONS_1 if name in FUNCTIONS_1 else FUNCTIONS_2 if name in FUNCTIONS_2 else {}
        if not table:
            raise self.error(
                "unknown function", node.func, hint=f"allowed: {', '.join(_ALL_FUNCTIONS)}"
            )
        if node.keywords:
            raise self.error("keyword arguments not allowed", node.keywords[0])
        arity = 1 if table is FUNCTIONS_1 else 2
        if len(node.args) != arity:
            plural = "s" if arity > 1 else ""
            raise self.error(f"{name} takes {arity} argument{plural}", node, token=name)
        args = [self.compile(a) for a in node.args]
        f = getattr(self.xp, table[name])
        if arity == 1:
            (a,) = args
            return lambda x, y: f(a(x, y))
        a, b = args
        return lambda x, y: f(a(x, y), b(x, y))


_ALL_FUNCTIONS = sorted({*FUNCTIONS_1, *FUNCTIONS_2})
