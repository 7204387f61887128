"""The safe f(x, y) parser: values and gradients, hostile inputs, error positions, fuzzing."""

from __future__ import annotations

import ast
import builtins
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optlab.core.expr import MAX_LENGTH, ExprError, Expression, parse

# (text, numpy reference); evaluated at random points in [0.2, 0.9]^2, where every one is smooth
VALID = [
    ("x**2 + 10*sin(y)", lambda x, y: x**2 + 10 * np.sin(y)),
    ("x**2 + y**2", lambda x, y: x**2 + y**2),
    ("(1 - x)**2 + 100*(y - x**2)**2", lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2),
    ("-x*y + 3", lambda x, y: -x * y + 3),
    ("+x - -y", lambda x, y: x + y),
    ("x / (1 + y)", lambda x, y: x / (1 + y)),
    (
        "exp(-(x**2 + y**2)) * cos(2*pi*x)",
        lambda x, y: np.exp(-(x**2 + y**2)) * np.cos(2 * np.pi * x),
    ),
    ("log(x) + sqrt(y)", lambda x, y: np.log(x) + np.sqrt(y)),
    ("abs(x - 0.5) + tanh(y)", lambda x, y: np.abs(x - 0.5) + np.tanh(y)),
    ("sinh(x) * cosh(y) - tan(x)", lambda x, y: np.sinh(x) * np.cosh(y) - np.tan(x)),
    (
        "arctan(x) + arcsin(y) + arccos(x*y)",
        lambda x, y: np.arctan(x) + np.arcsin(y) + np.arccos(x * y),
    ),
    (
        "atan(x) + asin(y) + acos(y) + ln(x)",
        lambda x, y: np.arctan(x) + np.arcsin(y) + np.arccos(y) + np.log(x),
    ),
    ("log10(x) * log2(y)", lambda x, y: np.log10(x) * np.log2(y)),
    ("atan2(y, x) + arctan2(x, y)", lambda x, y: np.arctan2(y, x) + np.arctan2(x, y)),
    ("max(x, y) - min(x**2, y)", lambda x, y: np.maximum(x, y) - np.minimum(x**2, y)),
    ("x**y + 2**x", lambda x, y: x**y + 2**x),
    ("x**-2 + y**0.5 + x**(1/3)", lambda x, y: x**-2.0 + y**0.5 + x ** (1 / 3)),
    ("e**x * 1.5e-1 + 2.", lambda x, y: np.e**x * 0.15 + 2.0),
    ("  (x - 1)**4 + (y + .5)**3 \t", lambda x, y: (x - 1) ** 4 + (y + 0.5) ** 3),
    ("x**2**0.5", lambda x, y: x ** (2**0.5)),
    ("1_000 * x - 0x10 * y", lambda x, y: 1000 * x - 16 * y),
]


def points(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 0.9, n), rng.uniform(0.2, 0.9, n)


@pytest.mark.parametrize(("text", "ref"), VALID, ids=[t for t, _ in VALID])
def test_values_match_numpy(text, ref):
    x, y = points()
    expr = parse(text)
    assert isinstance(expr, Expression)
    assert expr.text == text
    got = expr(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32))
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(got), ref(x, y), rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize(("text", "ref"), VALID, ids=[t for t, _ in VALID])
def test_gradients_match_finite_differences(text, ref):
    x, y = points(6, seed=1)
    fn = parse(text).fn
    grad = jax.jit(jax.vmap(jax.grad(fn, argnums=(0, 1))))
    gx, gy = grad(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32))
    h = 1e-6  # central differences of the float64 numpy reference
    fx = (ref(x + h, y) - ref(x - h, y)) / (2 * h)
    fy = (ref(x, y + h) - ref(x, y - h)) / (2 * h)
    np.testing.assert_allclose(np.asarray(gx), fx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(gy), fy, rtol=1e-4, atol=1e-4)


def test_broadcasting_scalars_and_constants():
    xs, ys = jnp.linspace(-1, 1, 5)[:, None], jnp.linspace(0, 2, 3)[None, :]
    assert parse("x*y").fn(xs, ys).shape == (5, 3)
    out = parse("2 + pi").fn(xs, ys)
    assert out.shape == (5, 3)
    np.testing.assert_allclose(out, 2 + np.pi, rtol=1e-6)
    assert parse("x").fn(1, 2).dtype == jnp.float32  # ints become floats
    assert float(parse("x**3").fn(-2.0, 0.0)) == -8.0  # integer powers of negative bases
    assert float(jax.grad(parse("x**2").fn)(0.0, 0.0)) == 0.0


# ---------------------------------------------------------------------------------------------
# Hostile input: refused with ExprError, and nothing in it ever runs.

HOSTILE = [
    "x.__class__",
    "x.__class__.__mro__[1].__subclasses__()",
    "__import__",
    "__import__('os')",
    "__import__('os').system('pwned')",
    "__builtins__",
    "pwned()",
    "import os",
    "open('f')",
    "eval('pwned()')",
    "exec('pwned()')",
    "compile('pwned()', 'f', 'eval')",
    "getattr(x, 'real')",
    "(lambda: pwned())()",
    "lambda x: x",
    "[pwned() for _ in (1,)]",
    "(pwned() for _ in (1,))",
    "{pwned() for _ in (1,)}",
    "x[0]",
    "'x'",
    "b'x'",
    "f'{pwned()}'",
    "(y := pwned())",
    "9**9**9",
    "10**100",
    "x**1000",
    "2**(9**9)",
    "x**(0/0)",
    "1e400 * x",
    "123456789012345 * x",
    "1j * x",
    "True + x",
    "None",
    "...",
    "(" * 200 + "x" + ")" * 200,
    "-" * 60 + "x",
    "x" * 10_000,
    "x + " * 3000 + "x",
    "\uff58 + y",  # fullwidth x (NFKC -> x)
    "\U0001d431 + y",  # mathematical bold x (NFKC -> x)
    "x \u2212 y",  # unicode minus
    "x\u200b + y",  # zero-width space
    "x\n+ y",
    "x\\\n+ y",
    "x\x00",
    "sin(x=1)",
    "sin(x, y)",
    "sin()",
    "atan2(x)",
    "sin(*x)",
    "sin(x)(y)",
    "sin",
    "foo",
    "X",
    "",
    "   ",
    "x y",
    "2x",
    "x +",
    "(x",
    "x)",
    "x ^ 2",
    "x // y",
    "x % y",
    "x @ y",
    "x | y",
    "~x",
    "not x",
    "x and y",
    "x < y",
    "x if y else 1",
    "x, y",
    "x; y",
    "x = 1",
    "x # comment",
    "await x",
    "(yield x)",
]


@pytest.fixture
def tripwires(monkeypatch):
    """A builtin the payloads try to call, and eval/exec/compile/__import__ that tell on them."""
    log = {"pwned": 0, "eval": 0, "exec": 0, "imports": [], "compile_flags": []}
    real_compile, real_import = builtins.compile, builtins.__import__

    def pwned(*args, **kwargs):
        log["pwned"] += 1

    def bad_eval(*args, **kwargs):
        log["eval"] += 1
        raise AssertionError("eval called")

    def bad_exec(*args, **kwargs):
        log["exec"] += 1
        raise AssertionError("exec called")

    def watched_compile(source, filename, mode, flags=0, *args, **kwargs):
        log["compile_flags"].append(flags)
        if not flags & ast.PyCF_ONLY_AST:
            raise AssertionError("compile to bytecode called")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def watched_import(name, *args, **kwargs):
        log["imports"].append(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "pwned", pwned, raising=False)
    monkeypatch.setattr(builtins, "eval", bad_eval)
    monkeypatch.setattr(builtins, "exec", bad_exec)
    monkeypatch.setattr(builtins, "compile", watched_compile)
    monkeypatch.setattr(builtins, "__import__", watched_import)
    return log


def test_tripwires_work(tripwires):
    """The sentinel would notice: pwned() runs if text ever reached eval."""
    builtins.pwned()
    assert tripwires["pwned"] == 1


@pytest.mark.parametrize("text", HOSTILE, ids=[repr(t[:40]) for t in HOSTILE])
def test_hostile_input_refused_without_running(text, tripwires):
    with pytest.raises(ExprError) as info:
        parse(text)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.message
    assert 0 <= err.position <= len(text)
    assert f"at position {err.position}" in str(err)
    assert tripwires["pwned"] == 0
    assert tripwires["eval"] == tripwires["exec"] == 0
    assert all(flags & ast.PyCF_ONLY_AST for flags in tripwires["compile_flags"])
    assert not {"os", "subprocess", "sys"} & set(tripwires["imports"])


def test_hostile_table_is_big_enough():
    assert len(HOSTILE) >= 20


@pytest.mark.parametrize(
    ("text", "token", "position", "message"),
    [
        ("x + foo", "foo", 4, "unknown name 'foo' at position 4"),
        ("foo + 1", "foo", 0, "unknown name"),
        ("   bar", "bar", 3, "unknown name"),
        ("sin(x) + open(1)", "open", 9, "unknown function 'open' at position 9"),
        ("x^2", "^", 1, "unexpected character '^' at position 1 (use ** for powers)"),
        ("x + \uff58", "\uff58", 4, "non-ASCII character"),
        ("x \u2212 1", "\u2212", 2, "non-ASCII character"),
        ("x.__class__", ".__class__", 1, "attribute access not allowed"),
        ("x ** 100", "100", 5, "exponent out of range '100' at position 5"),
        ("1 + 9**9**9", "9**9", 7, "exponent out of range"),
        ("2 * y y", "y", 6, "syntax error near 'y' at position 6"),
        ("x // 2", "//", 2, "operator not allowed '//'"),
        ("(x) % (y)", "%", 4, "operator not allowed '%'"),
        ("3 + 2x", "2x", 4, "malformed number '2x' at position 4 (put * between"),
        ("1.5.2 * x", "1.5.2", 0, "malformed number"),
        ("x +  ", "", 3, "incomplete expression at position 3"),
        ("sin(x=1)", "x=1", 4, "keyword arguments not allowed"),
        ("1 + sin(x, y)", "sin", 4, "sin takes 1 argument"),
        ("x * 1e400", "1e400", 4, "number too large"),
        ("x + 'a'", "'a'", 4, "string not allowed"),
    ],
)
def test_error_points_at_the_token(text, token, position, message):
    with pytest.raises(ExprError) as info:
        parse(text)
    assert info.value.token == token
    assert info.value.position == position
    assert message in str(info.value)


def test_limits():
    assert parse("x" + " " * (MAX_LENGTH - 1)).fn(1.0, 2.0) == 1.0  # exactly at the limit
    with pytest.raises(ExprError, match="longer than"):
        parse("x" + " " * MAX_LENGTH)
    with pytest.raises(ExprError, match="parentheses nested deeper"):
        parse("sin(" * 35 + "x" + ")" * 35)
    with pytest.raises(ExprError, match="expression nested deeper"):
        parse("-" * 40 + "x")
    group = "(" + "+".join(["x"] * 16) + ")"  # 31 nodes, depth 16
    wide = "+".join([group] * 5)  # 159 nodes in < 200 characters, depth < 32
    assert len(wide) <= MAX_LENGTH
    with pytest.raises(ExprError, match="more than 150 parts"):
        parse(wide)
    parse("+".join([group] * 4))  # 128 nodes is fine
    with pytest.raises(ExprError, match="expected a string"):
        parse(3)


# ---------------------------------------------------------------------------------------------
# Fuzzing: anything either parses into a function that evaluates, or raises ExprError.

TOKENS = [
    *"xy+-*/(),. ^'[]_:=<%",
    "pi", "e", "1", "2.5", "1e3", "1e400", "10", "0", "**", "//",
    "sin(", "cos(", "log(", "sqrt(", "exp(", "max(", "atan2(", "abs(",
    "lambda", "import", "__class__", "for", "in", "if", "else", "not",
    "\uff58", "\u2212", "\u200b", "9**9**9", "x**", "**x", "j",
]  # fmt: skip

XS = jnp.array([-1.5, 0.0, 0.7], jnp.float32)
YS = jnp.array([2.0, -0.3, 0.0], jnp.float32)


def check_parse_or_refuse(text: str) -> Expression | None:
    try:
        expr = parse(text)
    except ExprError as err:
        refused = err
    else:
        refused = None
    if refused is not None:
        assert isinstance(refused.position, int)
        assert 0 <= refused.position <= max(len(text), MAX_LENGTH)
        return None
    out = expr.fn(XS, YS)
    assert out.shape == (3,)
    assert jnp.issubdtype(out.dtype, jnp.floating)
    return expr


FUZZ = settings(
    max_examples=250,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(st.text(max_size=60))
def test_fuzz_arbitrary_text(text):
    check_parse_or_refuse(text)


def _grammar() -> st.SearchStrategy[str]:
    """Mostly well-formed expressions, built from the language's own parts."""
    leaves = st.sampled_from(["x", "y", "pi", "e", "0", "1", "2", "2.5", "1e-3", "1e12", "-3"])
    ops = st.sampled_from(["+", "-", "*", "/", "**", " ** ", " + "])
    fn1 = st.sampled_from(["sin", "cos", "exp", "log", "sqrt", "abs", "tanh", "arcsin", "log2"])
    fn2 = st.sampled_from(["min", "max", "atan2"])

    def extend(inner):
        return st.one_of(
            st.tuples(inner, ops, inner).map("".join),
            st.tuples(inner, ops, inner).map(lambda t: f"({''.join(t)})"),
            inner.map(lambda a: f"-{a}"),
            st.tuples(fn1, inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(fn2, inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        )

    return st.recursive(leaves, extend, max_leaves=12)


def _mutate(args: tuple[str, int, str]) -> str:
    text, at, token = args
    at %= len(text) + 1
    return text[:at] + token + text[at:]


EXPRESSIONS = st.one_of(
    _grammar(),
    st.tuples(_grammar(), st.integers(0, 200), st.sampled_from(TOKENS)).map(_mutate),
    st.lists(st.sampled_from(TOKENS), max_size=14).map("".join),
)


@FUZZ
@given(EXPRESSIONS)
def test_fuzz_expression_tokens(text):
    check_parse_or_refuse(text)


@settings(max_examples=25, deadline=None, database=None)
@given(_grammar())
def test_fuzz_gradients_evaluate(text):
    expr = check_parse_or_refuse(text)
    if expr is not None:
        gx, gy = jax.grad(expr.fn, argnums=(0, 1))(0.7, -0.3)
        assert gx.dtype == gy.dtype == jnp.float32


def test_error_pickles_with_its_fields():
    with pytest.raises(ExprError) as info:
        parse("x + foo")
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.message, again.token, again.position) == ("unknown name", "foo", 4)
    assert str(again) == str(info.value)
