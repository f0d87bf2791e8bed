"""CloudWatch metric math, the simple part: numbers, query Ids, `+ - * /`, unary minus,
parentheses, ABS(x) and SUM/AVG/MIN/MAX over `[a, b, ...]` (per timestamp). Two series are
combined at the timestamps both have; a division by zero leaves no datapoint."""

from __future__ import annotations

import re
from collections.abc import Callable

from core.httpapi import ApiError

Series = dict[int, float]
Value = Series | float
TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(.))")
AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "SUM": sum,
    "AVG": lambda xs: sum(xs) / len(xs),
    "MIN": min,
    "MAX": max,
}
FUNCTIONS = ("ABS", *AGGREGATES)


def invalid(message: str) -> ApiError:
    return ApiError(400, "ValidationError", message)


def _combine(left: Value, right: Value, op: str) -> Value:
    def apply(a: float, b: float) -> float | None:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return a / b if b != 0 else None

    if isinstance(left, float) and isinstance(right, float):
        result = apply(left, right)
        if result is None:
            raise invalid("Division by zero in the expression")
        return result
    lhs = left if isinstance(left, dict) else None
    rhs = right if isinstance(right, dict) else None
    keys = (
        (lhs.keys() & rhs.keys())
        if lhs is not None and rhs is not None
        else (lhs or rhs or {}).keys()
    )
    out: Series = {}
    for t in keys:
        a = lhs[t] if lhs is not None else float(left)  # type: ignore[arg-type]
        b = rhs[t] if rhs is not None else float(right)  # type: ignore[arg-type]
        value = apply(a, b)
        if value is not None:
            out[t] = value
    return out


class _Parser:
    def __init__(self, text: str, variables: dict[str, Series]) -> None:
        self.tokens: list[str] = []
        for number, name, other in TOKEN.findall(text):
            token = number or name or other
            if token.strip():
                self.tokens.append(token)
        self.pos = 0
        self.variables = variables
        self.text = text

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            want = f"'{expected}'" if expected else "more"
            raise invalid(f"Expected {want} in the expression: {self.text}")
        self.pos += 1
        return token

    def parse(self) -> Value:
        value = self.sum()
        if self.peek() is not None:
            raise invalid(f"Unexpected '{self.peek()}' in the expression: {self.text}")
        return value

    def sum(self) -> Value:
        value = self.product()
        while self.peek() in ("+", "-"):
            op = self.take()
            value = _combine(value, self.product(), op)
        return value

    def product(self) -> Value:
        value = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()
            value = _combine(value, self.unary(), op)
        return value

    def unary(self) -> Value:
        if self.peek() == "-":
            self.take()
            return _combine(-1.0, self.unary(), "*")
        return self.atom()

    def atom(self) -> Value:
        token = self.take()
        if token == "(":  # noqa: S105 (a token, not a password)
            value = self.sum()
            self.take(")")
            return value
        if token[0].isdigit():
            return float(token)
        if self.peek() == "(":
            return self.call(token.upper())
        if token in self.variables:
            return dict(self.variables[token])
        raise invalid(f"Unknown metric Id '{token}' in the expression: {self.text}")

    def call(self, name: str) -> Value:
        self.take("(")
        if name == "ABS":
            value = self.sum()
            self.take(")")
            if isinstance(value, float):
                return abs(value)
            return {t: abs(v) for t, v in value.items()}
        if name not in AGGREGATES:
            raise invalid(f"Unsupported function {name} in the expression: {self.text}")
        self.take("[")
        items = [self.sum()]
        while self.peek() == ",":
            self.take()
            items.append(self.sum())
        self.take("]")
        self.take(")")
        series = [i for i in items if isinstance(i, dict)]
        stamps = sorted(set().union(*(s.keys() for s in series))) if series else []
        out: Series = {}
        for t in stamps:
            present = [s[t] for s in series if t in s]
            out[t] = AGGREGATES[name](present)
        return out


def evaluate(expression: str, variables: dict[str, Series]) -> Value:
    """The expression's value: a series by timestamp, or a number."""
    return _Parser(expression, variables).parse()


def referenced_ids(expression: str) -> set[str]:
    """The names an expression uses (function names included)."""
    return {name for _, name, _ in TOKEN.findall(expression) if name}
