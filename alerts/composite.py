"""Composite alarms: CloudWatch's AlarmRule language, parsed and compiled to PromQL.

Grammar (recursive descent; keywords are upper case, as CloudWatch writes them)::

    rule    := or
    or      := and ("OR" and)*
    and     := not ("AND" not)*
    not     := "NOT" not | primary
    primary := "(" rule ")" | "TRUE" | "FALSE" | STATE "(" name ")"
    STATE   := "ALARM" | "OK" | "INSUFFICIENT_DATA"
    name    := a quoted string ("..." with \\" escapes) or a bare alarm name / alarm ARN

A referenced alarm's state is the worst of its series (``max(alarm:state)``: ALARM if any
series is in ALARM), INSUFFICIENT_DATA when it has none yet. The compiled rule is a 0/1
vector without labels; the composite's ``alarm:state`` is 2 (ALARM) or 0 (OK).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alerts.datapoints import promql_string

STATES = {"ALARM": 2, "OK": 0, "INSUFFICIENT_DATA": 1}
ALARM_ARN = re.compile(r"^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:(.+)$")
TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\()|(?P<rparen>\))
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE,
)


class RuleSyntaxError(ValueError):
    """An AlarmRule that does not parse; the message says where."""


class CycleError(ValueError):
    """Composite alarms that refer to each other; `name` is where the cycle closes."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class StateOf:
    state: str
    alarm: str


@dataclass(frozen=True)
class Constant:
    value: bool


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BinaryOp:
    op: str  # AND | OR
    left: Node
    right: Node


Node = StateOf | Constant | Not | BinaryOp


def tokenize(rule: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    position = 0
    while position < len(rule):
        if rule[position:].strip() == "":
            break
        match = TOKEN.match(rule, position)
        if match is None or match.lastgroup is None:
            raise RuleSyntaxError(f"unexpected character at {position + 1}")
        tokens.append((match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, rule: str) -> None:
        self.tokens = tokenize(rule)
        self.index = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, kind: str, what: str) -> tuple[str, str, int]:
        token = self.peek()
        if token is None or token[0] != kind:
            where = f"at {token[2] + 1}" if token else "at the end"
            raise RuleSyntaxError(f"expected {what} {where}")
        self.index += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1] == word:
            self.index += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.or_()
        token = self.peek()
        if token is not None:
            raise RuleSyntaxError(f"unexpected {token[1]!r} at {token[2] + 1}")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.keyword("OR"):
            node = BinaryOp("OR", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.keyword("AND"):
            node = BinaryOp("AND", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.keyword("NOT"):
            return Not(self.not_())
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        if token is None:
            raise RuleSyntaxError("expected ALARM(...), OK(...), INSUFFICIENT_DATA(...) at the end")
        if token[0] == "lparen":
            self.index += 1
            node = self.or_()
            self.take("rparen", "')'")
            return node
        if token[0] == "word" and token[1] in ("TRUE", "FALSE"):
            self.index += 1
            return Constant(token[1] == "TRUE")
        if token[0] == "word" and token[1] in STATES:
            self.index += 1
            self.take("lparen", f"'(' after {token[1]}")
            name_token = self.peek()
            if name_token is None or name_token[0] not in ("string", "word"):
                raise RuleSyntaxError(f"expected an alarm name after {token[1]}(")
            self.index += 1
            self.take("rparen", "')'")
            return StateOf(token[1], alarm_name(name_token))
        raise RuleSyntaxError(
            f"expected ALARM(...), OK(...), INSUFFICIENT_DATA(...), NOT or '(' at {token[2] + 1}"
        )


def alarm_name(token: tuple[str, str, int]) -> str:
    text = token[1]
    if token[0] == "string":
        text = re.sub(r"\\(.)", r"\1", text[1:-1])
    arn = ALARM_ARN.match(text)
    return arn.group(1) if arn else text


def parse_rule(rule: str) -> Node:
    return _Parser(rule).parse()


def references(node: Node) -> set[str]:
    if isinstance(node, StateOf):
        return {node.alarm}
    if isinstance(node, Not):
        return references(node.operand)
    if isinstance(node, BinaryOp):
        return references(node.left) | references(node.right)
    return set()


def to_promql(node: Node) -> str:
    """A label-less 0/1 vector: 1 while the rule holds."""
    if isinstance(node, Constant):
        return f"vector({int(node.value)})"
    if isinstance(node, StateOf):
        state = f"max(alarm:state{{alarm_name={promql_string(node.alarm)}}})"
        return f"(({state} or vector(1)) == bool {STATES[node.state]})"
    if isinstance(node, Not):
        return f"(1 - {to_promql(node.operand)})"
    left, right = to_promql(node.left), to_promql(node.right)
    if node.op == "AND":
        return f"({left} * {right})"
    return f"clamp_max({left} + {right}, 1)"


def evaluation_order(rules: dict[str, Node]) -> list[str]:
    """Composites ordered so each comes after the composites it reads; ValueError on a cycle."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in visiting:
            cycle = " -> ".join((*path, name))
            raise CycleError(name, f"composite alarms refer to each other: {cycle}")
        visiting.add(name)
        for ref in sorted(references(rules[name])):
            if ref in rules:
                visit(ref, (*path, name))
        visiting.discard(name)
        order.append(name)

    for name in rules:
        visit(name, ())
    return order
