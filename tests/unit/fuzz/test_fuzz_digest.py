"""SQL digesting fuzzed: any text, huge statements, invalid UTF-8 decoded as the collector
decodes log lines, comments, dollar quoting, nested parentheses, unterminated quotes.

Properties: `normalize` never raises; its output carries nothing of the input's string and
number constants; statements that differ only in their literals get one digest."""

from __future__ import annotations

import time

from hypothesis import example, given
from hypothesis import strategies as st

from collector.digest import MAX_TEXT, digest, normalize
from tests.unit.fuzz import fuzz

SECRET = "sekrit"  # planted in every string literal; no identifier or keyword holds it

IDENTIFIERS = st.sampled_from(
    ["t", "a", "b", "emp", "salary", '"Weird Col"', "public.emp", "e.dept_id", "x_y"]
)
KEYWORDS = st.sampled_from(
    ["select", "from", "where", "and", "or", "not", "in", "values", "insert into", "update",
     "set", "as", "limit", "order by", "group by", "case when", "then", "else", "end", "is null",
     "between", "like", "returning", "with", "join", "on", "union all", "::text", "::int",
     "interval", "date", "e", "x", "n", "u", "&", "b"]
)  # fmt: skip
OPERATORS = st.sampled_from(["=", "<", ">=", "<>", "+", "-", "*", "/", "||", ",", "."])
NUMBERS = st.one_of(
    st.integers(min_value=0, max_value=10**30).map(str),
    st.integers(min_value=-(10**12), max_value=-1).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: repr(abs(f))),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(lambda d: str(abs(d))),
    st.integers(min_value=0, max_value=10**6).map(lambda n: f"{n}e-3"),
)
BODY = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20).map(
    lambda s: f"{s}{SECRET}{s[::-1]}"
)


def _single(body: str) -> str:
    return "'" + body.replace("'", "''") + "'"


def _dollar(tag: str, body: str) -> str:
    quote = f"${tag}$"
    return quote + body.replace(quote, "") + quote


STRINGS = st.one_of(
    BODY.map(_single),
    BODY.map(lambda b: "E" + _single(b.replace("\\", ""))),
    st.tuples(st.sampled_from(["", "q", "tag_1", "x"]), BODY).map(lambda p: _dollar(*p)),
    BODY.map(lambda b: "U&" + _single(b.replace("\\", ""))),
    st.sampled_from(["B'0101'", "X'ff'", "n'x'"]),
)
LITERALS = st.one_of(NUMBERS, STRINGS)
COMMENTS = st.one_of(
    BODY.map(lambda b: "/* /* " + b.replace("*/", "").replace("/*", "") + " */ */"),
    BODY.map(lambda b: "-- " + b.replace("\n", " ").replace("\r", " ") + "\n"),
    BODY.map(lambda b: "/* " + b.replace("*/", "") + " */"),
)


def _fragments(literal: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """A statement-like list of fragments: `None` where a literal goes."""
    leaf = st.one_of(IDENTIFIERS, KEYWORDS, OPERATORS, literal, COMMENTS)
    nested = st.recursive(
        st.lists(leaf, max_size=6),
        lambda inner: st.lists(
            st.one_of(leaf.map(lambda x: [x]), inner.map(lambda xs: ["(", *xs, ")"])),
            max_size=5,
        ).map(lambda xss: [x for xs in xss for x in xs]),
        max_leaves=30,
    )
    return nested


SLOT = "\x00slot\x00"
TEMPLATES = _fragments(st.just(SLOT))
STATEMENTS = _fragments(LITERALS).map(" ".join)


def _fill(template: list[str], literals: list[str]) -> str:
    values = iter(literals)
    return " ".join(next(values) if part == SLOT else part for part in template)


def _assert_clean(out: str) -> None:
    assert SECRET not in out, out
    assert not any(c.isdigit() for c in out), out  # identifiers here have no digits


@fuzz(400)
@given(st.text(max_size=300))
@example("select 'a' || 'b")
@example("/* unterminated comment")
@example("$$")
@example("select $1, $2 from t where a in ($3, $4)")
def test_any_text_normalizes_without_raising(text: str) -> None:
    out = normalize(text)
    assert isinstance(out, str)
    assert len(out) <= MAX_TEXT
    assert digest(text).text == out


@fuzz(200)
@given(st.binary(max_size=400))
@example(b"select '\xff\xfe sekrit' from t")
@example(b"select $\xc3$ x $\xc3$")
def test_invalid_utf8_decoded_as_the_collector_does(raw: bytes) -> None:
    normalize(raw.decode("utf-8", errors="replace"))


@fuzz(300)
@given(STATEMENTS)
@example("select 'sekrit'")
@example("1e+16")  # bug: sqlparse read `1e` as a name, and `1e` reached the digest
@example("select 1.5e+10::float, 1_000")
@example("select 'a\\', 'sekrit'")  # bug: a backslash escaped the quote in a standard string
def test_no_literal_survives(statement: str) -> None:
    _assert_clean(normalize(statement))


@fuzz(300)
@given(STATEMENTS, st.integers(min_value=1, max_value=len(SECRET) + 40))
@example("/* sekrit */", 1)  # bug: a comment cut open was read as SQL
@example("select /* x /* y */ sekrit */ 1", 1)  # bug: comments nest in PostgreSQL
def test_no_literal_survives_a_cut(statement: str, keep: int) -> None:
    """pg_stat_activity cuts long statements (track_activity_query_size), maybe mid-literal."""
    _assert_clean(normalize(statement[: max(1, len(statement) - keep)]))


@fuzz(300)
@given(TEMPLATES, st.data())
def test_statements_differing_only_in_literals_share_a_digest(
    template: list[str], data: st.DataObject
) -> None:
    slots = template.count(SLOT)
    first = data.draw(st.lists(LITERALS, min_size=slots, max_size=slots))
    second = data.draw(st.lists(LITERALS, min_size=slots, max_size=slots))
    one, other = _fill(template, first), _fill(template, second)
    if max(len(one), len(other)) > MAX_TEXT:
        return  # cut at different places: not the same statement any more
    assert digest(one) == digest(other), (one, other)


def test_found_by_fuzzing_prefixed_strings_and_exponents_are_one_literal() -> None:
    """Regressions: E'x' digested as `E?`, 1e+16 as `?+?`, so one statement was two digests."""
    assert digest("select 0").id == digest("select E'sekrit'").id == digest("select 1e+16").id
    assert normalize("select U&'d\\0061t', B'0101', X'ff', N'x'") == "select ?, ?, ?, ?"


@fuzz(10)
@given(
    st.sampled_from(["(", "'", "$$", "/*", "-- ", "select a, "]),
    st.integers(min_value=10_000, max_value=200_000),
)
def test_huge_statements_are_bounded(unit: str, repeat: int) -> None:
    text = "select " + unit * (repeat // len(unit)) + " sekrit 4711"
    started = time.monotonic()
    out = normalize(text)
    assert time.monotonic() - started < 10.0
    _assert_clean(out)
