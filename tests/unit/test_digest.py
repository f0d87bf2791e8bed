import pytest

from collector.digest import digest, normalize


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select * from emp where lname = 'Sanchez'", "select * from emp where lname = ?"),
        ("SELECT * FROM emp WHERE lname='Wu';", "SELECT * FROM emp WHERE lname=?"),
        ("update t set a = 1.5, b = -3 where id = 42", "update t set a = ?, b = ? where id = ?"),
        ("select * from t where id in (1, 2, 3)", "select * from t where id in (?)"),
        ("insert into t values (1, 'a'), (2, 'b'), (3, 'c')", "insert into t values (?, ?)"),
        ("select * from t where id IN ($1,$2)", "select * from t where id IN (?)"),
        ("select $1::int, $2", "select ?::int, ?"),
        ("select $$secret$$ as x", "select ? as x"),
        ("select 1 -- a comment with 'text'\n from t", "select ? from t"),
        ("select  a,\n\t b   from   t", "select a, b from t"),
        ("select pg_sleep(5)", "select pg_sleep(?)"),
        ("", ""),
    ],
)
def test_literals_become_question_marks(sql: str, expected: str) -> None:
    assert normalize(sql) == expected


def test_identifiers_and_keywords_survive() -> None:
    text = normalize('select "Weird Col", e.salary from "public".emp e where e.dept_id = 7')
    assert text == 'select "Weird Col", e.salary from "public".emp e where e.dept_id = ?'


def test_no_literal_leaks() -> None:
    secret = "4111-1111-1111-1111"
    assert secret not in normalize(f"insert into cards(number) values ('{secret}')")


def test_digest_id_prefers_the_server_query_id() -> None:
    assert digest("select 1", query_id=-123456).id == "-123456"
    synthetic = digest("select 1 from t where a = 5")
    assert synthetic.id.startswith("pi-")
    assert synthetic.id == digest("select 1 from t where a = 99").id
    assert synthetic.id != digest("select 2 from u where b = 5").id


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # pg_stat_activity cuts long statements (track_activity_query_size), maybe in a literal.
        ("select * from t where a = 'secret-tail", "select * from t where a = ?"),
        ("select 'a' || 'secret", "select ? || ?"),
        ("select $tag$ secret", "select ?"),
        ("select $$ secret", "select ?"),
    ],
)
def test_a_text_cut_inside_a_literal_leaks_nothing(sql: str, expected: str) -> None:
    assert normalize(sql) == expected
    assert "secret" not in normalize(sql)
