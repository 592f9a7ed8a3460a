"""A test double of a dedicated SQL pool that runs the lab's SQL scripts as written.

It interprets the small part of T-SQL the lab's scripts use, and refuses anything
else (a statement it does not know is an error, never skipped):

- batches split at `GO`; variables live for one batch (or one procedure call);
- IF / WHILE / BEGIN...END, DECLARE (with an initial value), SET, THROW, PRINT
  (dedicated pools run WHILE loops and `DECLARE @v = (SELECT ...)` in them in place
  of cursors: "Use T-SQL loops for dedicated SQL pools",
  https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-develop-loops);
- CREATE TABLE (with the WITH clause's HEAP or index), DROP TABLE, OBJECT_ID;
- COPY INTO from CSV files held in `lake` (URL -> bytes), see `copy_into`;
- INSERT ... VALUES, SELECT from one table (WHERE, aggregates MAX, MIN,
  COUNT(*), DATALENGTH), scalar subqueries;
- CREATE PROCEDURE / DROP PROCEDURE / EXEC;
- SELECT ... FROM PREDICT(MODEL = ..., DATA = ... AS d, RUNTIME = ONNX) WITH (...),
  scored by tests/notebooks/predict_double.predict with PREDICT's rules.

Error numbers are SQL Server's where a test relies on one (512, 137, 111 and the
script's own THROW numbers); 0 claims no number.

Values follow T-SQL where the scripts depend on it: NULL propagates through `+`
and comparisons (a NULL condition is false), `+` joins varbinary values, a
scalar subquery of several rows fails (error 512), an undeclared variable fails
(error 137), a varchar value longer than its table column fails (error 8152).

What the pool enforces on loads, each with its source:
- a CSV row (with its row terminator) of 1,000,000 bytes or more fails the COPY:
  "Polybase loads rows that are smaller than 1 MB" (dedicated SQL pool capacity
  limits, https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-service-capacity-limits),
  and COPY INTO reports "It exceeds the maximum allowed row size of 1000000 bytes
  for Polybase" (https://learn.microsoft.com/answers/questions/1168529);
- columns of a max type (varchar(max), nvarchar(max), varbinary(max)) load only
  into HEAP tables (the capacity limits page, "Loads"; large row support was
  "limited to Heap and Clustered Index Tables": stricter here, HEAP only); a
  table created without an index option is a clustered columnstore table
  (CREATE TABLE, Azure Synapse Analytics);
- a varbinary column takes the field as a hexadecimal string (the PREDICT page:
  "The model is stored ... as a hexadecimal string", loaded "using the COPY
  command or Polybase", https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-predict);
  here without `0x` (what notebook 03 writes; whether COPY accepts a prefix is
  not documented) and of even length, else the row is rejected;
- ROWTERMINATOR defaults to \\r\\n, and '\\n' means \\r\\n too: "COPY treats '\\n'
  as '\\r\\n' internally ... To specify only the \\n character, use hexadecimal
  notation (0x0A)" (COPY INTO (Transact-SQL),
  https://learn.microsoft.com/sql/t-sql/statements/copy-into-transact-sql);
- MAXERRORS defaults to 0: one rejected row fails the load (same page).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.notebooks.predict_double import SqlTable, predict

MAX_LOAD_ROW_BYTES = 1_000_000
MAX_LOB_BYTES = 2**31 - 1
INT_RANGE = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
MAX_LOOP = 100_000


class SqlPoolError(Exception):
    """What the pool would report: an error number and its message."""

    def __init__(self, number: int, message: str):
        super().__init__(f"Msg {number}: {message}" if number else message)
        self.number = number
        self.message = message


class CopyError(SqlPoolError):
    """A COPY INTO the pool would fail (no error number claimed: 0)."""

    def __init__(self, message: str):
        super().__init__(0, message)


@dataclass
class Table:
    name: str
    columns: dict[str, str]  # lower-case column -> type (lower case, e.g. varchar(200))
    index: str  # HEAP, CLUSTERED INDEX or CLUSTERED COLUMNSTORE INDEX
    not_null: set[str] = field(default_factory=set)
    rows: list[tuple] = field(default_factory=list)

    def position(self, column: str) -> int:
        try:
            return list(self.columns).index(column.lower())
        except ValueError:
            raise SqlPoolError(207, f"Invalid column name '{column}'.") from None


@dataclass
class ResultSet:
    columns: list[str]
    rows: list[tuple]


# ---------------------------------------------------------------------------
# Tokens and parsing
# ---------------------------------------------------------------------------
TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>--[^\n]*)
  | (?P<block>/\*.*?\*/)
  | (?P<str>N?'(?:[^']|'')*')
  | (?P<hex>0[xX][0-9A-Fa-f]*)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<var>@\w+)
  | (?P<name>\[[^\]]+\]|[A-Za-z_#][\w$#]*)
  | (?P<op><=|>=|<>|!=|[-+*/%=<>(),.;])
    """,
    re.X | re.S,
)
GO_RE = re.compile(r"^\s*GO\s*$", re.I | re.M)


@dataclass
class Token:
    kind: str
    value: str

    @property
    def upper(self) -> str:
        return self.value.upper() if self.kind == "name" else ""


def tokenize(sql: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(sql):
        match = TOKEN_RE.match(sql, position)
        if not match:
            raise SqlPoolError(102, f"Incorrect syntax near '{sql[position : position + 20]}'.")
        position = match.end()
        kind = match.lastgroup or ""
        if kind not in ("ws", "comment", "block"):
            value = match.group()
            if kind == "name" and value.startswith("["):
                value = value[1:-1]
            tokens.append(Token(kind, value))
    return tokens


class Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.at = 0

    # -- helpers
    def peek(self, offset: int = 0) -> Token | None:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise SqlPoolError(102, "Incorrect syntax near the end of the batch.")
        self.at += 1
        return token

    def is_word(self, *words: str, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token.upper in words

    def is_op(self, op: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "op" and token.value == op

    def word(self, *words: str) -> str:
        token = self.next()
        if token.upper not in words:
            raise SqlPoolError(102, f"Incorrect syntax near '{token.value}' (expected {words}).")
        return token.upper

    def op(self, op: str) -> None:
        token = self.next()
        if token.kind != "op" or token.value != op:
            raise SqlPoolError(102, f"Incorrect syntax near '{token.value}' (expected '{op}').")

    def accept_op(self, op: str) -> bool:
        if self.is_op(op):
            self.at += 1
            return True
        return False

    def name(self) -> str:
        token = self.next()
        if token.kind != "name":
            raise SqlPoolError(102, f"Incorrect syntax near '{token.value}' (expected a name).")
        parts = [token.value]
        while self.is_op(".") and self.peek(1) and self.peek(1).kind == "name":  # type: ignore[union-attr]
            self.at += 1
            parts.append(self.next().value)
        return ".".join(parts)

    def sql_type(self) -> str:
        kind = self.name().lower()
        if self.accept_op("("):
            size = self.next().value.lower()
            if self.accept_op(","):
                size += "," + self.next().value
            self.op(")")
            kind += f"({size})"
        return kind

    # -- statements
    def statements(self, until_end: bool = False) -> list[tuple]:
        found = []
        while self.peek() is not None:
            if self.accept_op(";"):
                continue
            if until_end and self.is_word("END"):
                break
            found.append(self.statement())
        return found

    def statement(self) -> tuple:
        token = self.peek()
        assert token is not None
        word = token.upper
        if word == "BEGIN":
            self.next()
            body = self.statements(until_end=True)
            self.word("END")
            return ("block", body)
        if word == "IF":
            self.next()
            condition = self.expr()
            then = self.statement()
            self.accept_op(";")
            other = None
            if self.is_word("ELSE"):
                self.next()
                other = self.statement()
            return ("if", condition, then, other)
        if word == "WHILE":
            self.next()
            return ("while", self.expr(), self.statement())
        if word == "DECLARE":
            self.next()
            if self.is_word("CURSOR", offset=1):
                raise SqlPoolError(
                    0, "Cursors are not supported in a dedicated SQL pool."
                )  # https://learn.microsoft.com/azure/synapse-analytics/sql-data-warehouse/sql-data-warehouse-develop-loops
            declared = []
            while True:
                variable = self.next()
                if variable.kind != "var":
                    raise SqlPoolError(102, f"Incorrect syntax near '{variable.value}'.")
                kind = self.sql_type()
                value = self.expr() if self.accept_op("=") else None
                declared.append((variable.value.lower(), kind, value))
                if not self.accept_op(","):
                    return ("declare", declared)
        if word == "SET":
            self.next()
            variable = self.next()
            if variable.kind != "var":
                raise SqlPoolError(102, f"SET {variable.value}: only variables are set here.")
            self.op("=")
            return ("set", variable.value.lower(), self.expr())
        if word == "THROW":
            self.next()
            number = self.expr()
            self.op(",")
            message = self.expr()
            self.op(",")
            return ("throw", number, message, self.expr())
        if word == "PRINT":
            self.next()
            return ("print", self.expr())
        if word == "DROP":
            self.next()
            what = self.word("TABLE", "PROCEDURE", "PROC")
            return ("drop", "U" if what == "TABLE" else "P", self.name())
        if word == "CREATE":
            self.next()
            what = self.word("TABLE", "PROCEDURE", "PROC")
            return self.create_table() if what == "TABLE" else self.create_procedure()
        if word == "COPY":
            self.next()
            self.word("INTO")
            return self.copy_into()
        if word == "INSERT":
            self.next()
            self.word("INTO")
            table = self.name()
            self.op("(")
            columns = [self.name()]
            while self.accept_op(","):
                columns.append(self.name())
            self.op(")")
            self.word("VALUES")
            self.op("(")
            values = [self.expr()]
            while self.accept_op(","):
                values.append(self.expr())
            self.op(")")
            if self.is_op(","):
                raise SqlPoolError(
                    0, "INSERT with several VALUES rows is not supported in a dedicated SQL pool."
                )
            return ("insert", table, columns, values)
        if word in ("EXEC", "EXECUTE"):
            self.next()
            return ("exec", self.name())
        if word == "SELECT":
            return ("select", self.select())
        raise SqlPoolError(
            102, f"Incorrect syntax near '{token.value}' (not a statement this double runs)."
        )

    def create_table(self) -> tuple:
        name = self.name()
        self.op("(")
        columns: dict[str, str] = {}
        not_null: set[str] = set()
        while True:
            column = self.name().lower()
            columns[column] = self.sql_type()
            if self.is_word("NOT"):
                self.next()
                self.word("NULL")
                not_null.add(column)
            elif self.is_word("NULL"):
                self.next()
            if not self.accept_op(","):
                break
        self.op(")")
        index = "CLUSTERED COLUMNSTORE INDEX"  # the default without an index option
        if self.is_word("WITH"):
            self.next()
            self.op("(")
            depth, words = 1, []
            while depth:
                token = self.next()
                depth += token.value == "(" and token.kind == "op"
                depth -= token.value == ")" and token.kind == "op"
                words.append(token.value.upper())
            text = " ".join(words)
            if re.search(r"(^|[ ,(])HEAP\b", text):
                index = "HEAP"
            elif "CLUSTERED INDEX" in text:
                index = "CLUSTERED INDEX"
        return ("create_table", name, columns, not_null, index)

    def create_procedure(self) -> tuple:
        name = self.name()
        self.word("AS")
        return ("create_procedure", name, self.statements())

    def copy_into(self) -> tuple:
        table = self.name()
        column_list: list[tuple[str, int | None]] = []
        if self.accept_op("("):
            while True:
                column = self.name()
                if self.is_word("DEFAULT"):
                    raise SqlPoolError(102, "COPY column defaults are not used by the lab")
                number = None
                if self.peek() and self.peek().kind == "num":  # type: ignore[union-attr]
                    number = int(self.next().value)
                column_list.append((column, number))
                if not self.accept_op(","):
                    break
            self.op(")")
        self.word("FROM")
        urls = [self.literal_string()]
        while self.accept_op(","):
            urls.append(self.literal_string())
        options: dict[str, Any] = {}
        if self.is_word("WITH"):
            self.next()
            self.op("(")
            while True:
                key = self.name().upper()
                self.op("=")
                if self.accept_op("("):
                    inner = {}
                    while True:
                        inner_key = self.name().upper()
                        self.op("=")
                        inner[inner_key] = self.literal_string()
                        if not self.accept_op(","):
                            break
                    self.op(")")
                    options[key] = inner
                else:
                    token = self.next()
                    options[key] = _string_value(token) if token.kind == "str" else token.value
                if not self.accept_op(","):
                    break
            self.op(")")
        return ("copy", table, column_list, urls, options)

    def literal_string(self) -> str:
        token = self.next()
        if token.kind != "str":
            raise SqlPoolError(102, f"Incorrect syntax near '{token.value}' (expected a string).")
        return _string_value(token)

    def select(self) -> dict:
        self.word("SELECT")
        items = []
        while True:
            if self.is_op("*"):
                self.next()
                items.append((("star", None), None))
            elif (
                self.peek()
                and self.peek().kind == "name"  # type: ignore[union-attr]
                and self.peek(1)
                and self.peek(1).value == "."  # type: ignore[union-attr]
                and self.peek(2)
                and self.peek(2).value == "*"  # type: ignore[union-attr]
            ):
                qualifier = self.next().value.lower()
                self.next()
                self.next()
                items.append((("star", qualifier), None))
            else:
                expression = self.expr()
                alias = None
                if self.is_word("AS"):
                    self.next()
                    alias = self.name()
                items.append((expression, alias))
            if not self.accept_op(","):
                break
        source = None
        where = None
        if self.is_word("FROM"):
            self.next()
            if self.is_word("PREDICT"):
                source = self.predict_source()
            elif self.is_word("OPENROWSET"):
                raise SqlPoolError(
                    0, "OPENROWSET is not available in a dedicated SQL pool."
                )  # serverless SQL pools only
            else:
                table = self.name()
                alias = None
                if self.is_word("AS"):
                    self.next()
                    alias = self.name().lower()
                source = ("table", table, alias)
            if self.is_word("WHERE"):
                self.next()
                where = self.expr()
        return {"items": items, "source": source, "where": where}

    def predict_source(self) -> tuple:
        self.word("PREDICT")
        self.op("(")
        self.word("MODEL")
        self.op("=")
        model = self.expr()
        self.op(",")
        self.word("DATA")
        self.op("=")
        data = self.name()
        self.word("AS")
        data_alias = self.name().lower()
        self.op(",")
        self.word("RUNTIME")
        self.op("=")
        self.word("ONNX")
        self.op(")")
        self.word("WITH")
        self.op("(")
        with_columns = []
        while True:
            with_columns.append((self.name(), self.sql_type()))
            if not self.accept_op(","):
                break
        self.op(")")
        self.word("AS")
        alias = self.name().lower()
        return ("predict", model, data, data_alias, with_columns, alias)

    # -- expressions
    def expr(self) -> tuple:
        left = self.conjunction()
        while self.is_word("OR"):
            self.next()
            left = ("or", left, self.conjunction())
        return left

    def conjunction(self) -> tuple:
        left = self.negation()
        while self.is_word("AND"):
            self.next()
            left = ("and", left, self.negation())
        return left

    def negation(self) -> tuple:
        if self.is_word("NOT"):
            self.next()
            return ("not", self.negation())
        return self.comparison()

    def comparison(self) -> tuple:
        left = self.additive()
        if self.is_word("IS"):
            self.next()
            negated = self.is_word("NOT")
            if negated:
                self.next()
            self.word("NULL")
            return ("isnull", left, negated)
        token = self.peek()
        if token and token.kind == "op" and token.value in ("=", "<>", "!=", "<", "<=", ">", ">="):
            self.next()
            return ("compare", token.value, left, self.additive())
        return left

    def additive(self) -> tuple:
        left = self.primary()
        while self.is_op("+") or self.is_op("-"):
            op = self.next().value
            left = ("arith", op, left, self.primary())
        return left

    def primary(self) -> tuple:
        token = self.next()
        if token.kind == "num":
            return ("lit", float(token.value) if "." in token.value else int(token.value))
        if token.kind == "str":
            return ("lit", _string_value(token))
        if token.kind == "hex":
            return ("lit", bytes.fromhex(token.value[2:]))
        if token.kind == "var":
            return ("var", token.value.lower())
        if token.kind == "op" and token.value == "-":
            return ("arith", "-", ("lit", 0), self.primary())
        if token.kind == "op" and token.value == "(":
            if self.is_word("SELECT"):
                select = self.select()
                self.op(")")
                return ("subquery", select)
            inner = self.expr()
            self.op(")")
            return inner
        if token.kind == "name":
            if token.upper == "NULL":
                return ("lit", None)
            if self.is_op("("):
                self.next()
                function = token.upper
                args: list[tuple] = []
                if self.is_op("*"):
                    self.next()
                    args.append(("star", None))
                elif self.is_word("DISTINCT"):
                    self.next()
                    function += " DISTINCT"
                    args.append(self.expr())
                elif not self.is_op(")"):
                    args.append(self.expr())
                    while self.accept_op(","):
                        args.append(self.expr())
                self.op(")")
                return ("call", function, args)
            self.at -= 1
            parts = self.name().split(".")
            return ("column", parts[-1].lower(), parts[0].lower() if len(parts) > 1 else None)
        raise SqlPoolError(102, f"Incorrect syntax near '{token.value}'.")


def _string_value(token: Token) -> str:
    text = token.value[1:] if token.value.startswith("N") else token.value
    return text[1:-1].replace("''", "'")


AGGREGATES = {"MAX", "MIN", "COUNT", "COUNT DISTINCT"}


# ---------------------------------------------------------------------------
# The pool
# ---------------------------------------------------------------------------
class SqlPool:
    """Tables, procedures and what the scripts printed or selected."""

    def __init__(self, lake: Mapping[str, bytes] | Callable[[str], bytes] | None = None):
        self.lake = lake or {}
        self.tables: dict[str, Table] = {}
        self.procedures: dict[str, list[tuple]] = {}
        self.results: list[ResultSet] = []
        self.messages: list[str] = []
        self.copies: list[tuple[str, int]] = []  # (table, rows loaded)

    # -- the outside
    def run_script(self, sql: str) -> list[ResultSet]:
        """Run each batch in order, as Studio does; the first error stops the script."""
        start = len(self.results)
        for batch in GO_RE.split(sql):
            statements = Parser(tokenize(batch)).statements()
            for index, statement in enumerate(statements):
                if statement[0] == "create_procedure" and (index or len(statements) > 1):
                    raise SqlPoolError(
                        111,
                        "'CREATE/ALTER PROCEDURE' must be the first statement in a query batch.",
                    )
            self.execute(statements, {})
        return self.results[start:]

    def add_table(self, name: str, columns: Mapping[str, str], rows, index: str = "HEAP") -> Table:
        """A table as another loader (the Spark connector) leaves it."""
        table = Table(name, {c.lower(): t.lower() for c, t in columns.items()}, index)
        table.rows = [tuple(row) for row in rows]
        self.tables[name.lower()] = table
        return table

    def table(self, name: str) -> Table:
        try:
            return self.tables[name.lower()]
        except KeyError:
            raise SqlPoolError(208, f"Invalid object name '{name}'.") from None

    # -- statements
    def execute(self, statements: list[tuple], scope: dict[str, list]) -> None:
        for statement in statements:
            self.statement(statement, scope)

    def statement(self, statement: tuple, scope: dict[str, list]) -> None:
        kind = statement[0]
        if kind == "block":
            self.execute(statement[1], scope)
        elif kind == "if":
            _, condition, then, other = statement
            if self.eval(condition, scope) is True:
                self.statement(then, scope)
            elif other is not None:
                self.statement(other, scope)
        elif kind == "while":
            _, condition, body = statement
            for _ in range(MAX_LOOP):
                if self.eval(condition, scope) is not True:
                    return
                self.statement(body, scope)
            raise AssertionError("the WHILE loop did not end")
        elif kind == "declare":
            for variable, sql_type, value in statement[1]:
                if variable in scope:
                    raise SqlPoolError(
                        134, f"The variable name '{variable}' has already been declared."
                    )
                scope[variable] = [sql_type, None]
                if value is not None:
                    scope[variable][1] = coerce_variable(self.eval(value, scope), sql_type)
        elif kind == "set":
            _, variable, value = statement
            if variable not in scope:
                raise SqlPoolError(137, f'Must declare the scalar variable "{variable}".')
            scope[variable][1] = coerce_variable(self.eval(value, scope), scope[variable][0])
        elif kind == "throw":
            _, number, message, _state = statement
            number = self.eval(number, scope)
            if not isinstance(number, int) or number < 50000:
                raise SqlPoolError(35100, "THROW error numbers start at 50000.")
            raise SqlPoolError(number, str(self.eval(message, scope)))
        elif kind == "print":
            self.messages.append(str(self.eval(statement[1], scope)))
        elif kind == "drop":
            _, object_type, name = statement
            if object_type == "U":
                if name.lower() not in self.tables:
                    raise SqlPoolError(3701, f"Cannot drop the table '{name}'.")
                del self.tables[name.lower()]
            else:
                if name.lower() not in self.procedures:
                    raise SqlPoolError(3701, f"Cannot drop the procedure '{name}'.")
                del self.procedures[name.lower()]
        elif kind == "create_table":
            _, name, columns, not_null, index = statement
            if name.lower() in self.tables:
                raise SqlPoolError(2714, f"There is already an object named '{name}'.")
            self.tables[name.lower()] = Table(name, dict(columns), index, set(not_null))
        elif kind == "create_procedure":
            _, name, body = statement
            if name.lower() in self.procedures:
                raise SqlPoolError(2714, f"There is already an object named '{name}'.")
            self.procedures[name.lower()] = body
        elif kind == "exec":
            name = statement[1].lower()
            if name not in self.procedures:
                raise SqlPoolError(2812, f"Could not find stored procedure '{statement[1]}'.")
            self.execute(self.procedures[name], {})
        elif kind == "copy":
            _, table, column_list, urls, options = statement
            self.copy_into(table, column_list, urls, options)
        elif kind == "insert":
            _, name, columns, values = statement
            table = self.table(name)
            row: list[Any] = [None] * len(table.columns)
            for column, value in zip(columns, values, strict=True):
                position = table.position(column)
                row[position] = coerce_column(
                    self.eval(value, scope), table.columns[column.lower()], column
                )
            self._check_not_null(table, row)
            table.rows.append(tuple(row))
        elif kind == "select":
            self.results.append(self.select(statement[1], scope))
        else:  # pragma: no cover - the parser makes only the kinds above
            raise AssertionError(kind)

    @staticmethod
    def _check_not_null(table: Table, row: list) -> None:
        for column in table.not_null:
            if row[table.position(column)] is None:
                raise SqlPoolError(
                    515,
                    f"Cannot insert the value NULL into column '{column}', table '{table.name}'.",
                )

    # -- COPY INTO
    def copy_into(self, name: str, column_list, urls: list[str], options: dict) -> int:
        table = self.table(name)
        unknown = set(options) - {
            "FILE_TYPE",
            "CREDENTIAL",
            "ROWTERMINATOR",
            "FIELDTERMINATOR",
            "FIELDQUOTE",
            "FIRSTROW",
            "MAXERRORS",
            "ENCODING",
        }
        if unknown:
            raise SqlPoolError(102, f"COPY options this double does not know: {sorted(unknown)}")
        if str(options.get("FILE_TYPE", "CSV")).upper() != "CSV":
            raise SqlPoolError(102, "the double loads CSV files only")
        if int(options.get("MAXERRORS", 0)) != 0:
            raise SqlPoolError(102, "the lab's loads reject nothing: MAXERRORS stays 0")
        lob_columns = [c for c, t in table.columns.items() if t.endswith("(max)")]
        if lob_columns and table.index != "HEAP":
            raise CopyError(
                f"{table.name} is a {table.index} table: columns of a max type "
                f"({', '.join(lob_columns)}) load into HEAP tables only."
            )
        terminator = row_terminator(options.get("ROWTERMINATOR"))
        field_terminator = options.get("FIELDTERMINATOR", ",")
        quote = options.get("FIELDQUOTE", '"')
        first_row = int(options.get("FIRSTROW", 1))
        if column_list:
            mapping = [
                (c.lower(), n if n is not None else i + 1) for i, (c, n) in enumerate(column_list)
            ]
        else:
            mapping = [(c, i + 1) for i, c in enumerate(table.columns)]
        for column, _ in mapping:
            table.position(column)

        loaded: list[tuple] = []
        for url in urls:
            data = self.lake(url) if callable(self.lake) else self.lake.get(url)
            if data is None:
                raise CopyError(f"Cannot find the file '{url}'.")
            pieces = data.split(terminator) if data else []
            ends_with_terminator = data.endswith(terminator)
            if pieces and ends_with_terminator:
                pieces.pop()
            for ordinal, piece in enumerate(pieces, start=1):
                size = len(piece) + (
                    len(terminator) if ordinal < len(pieces) or ends_with_terminator else 0
                )
                if size >= MAX_LOAD_ROW_BYTES:
                    raise CopyError(
                        "HdfsBridge::recordReaderFillBuffer - Unexpected error encountered filling "
                        f"record reader buffer: HadoopExecutionException: The size of the schema/row at "
                        f"ordinal {ordinal} is {size} bytes. It exceeds the maximum allowed row size "
                        f"of {MAX_LOAD_ROW_BYTES} bytes for Polybase."
                    )
                if ordinal < first_row:
                    continue
                fields = split_csv_row(piece.decode("utf-8"), field_terminator, quote)
                row: list[Any] = [None] * len(table.columns)
                for column, number in mapping:
                    if number > len(fields):
                        raise CopyError(
                            f"Row {ordinal} of '{url}' has {len(fields)} fields; column "
                            f"'{column}' reads field {number}."
                        )
                    text = fields[number - 1]
                    row[table.position(column)] = (
                        None
                        if text == ""
                        else load_field(text, table.columns[column], column, ordinal)
                    )
                self._check_not_null(table, row)
                loaded.append(tuple(row))
        table.rows.extend(loaded)
        self.copies.append((table.name, len(loaded)))
        return len(loaded)

    # -- SELECT
    def select(self, select: dict, scope: dict[str, list]) -> ResultSet:
        source = select["source"]
        if source is None:
            values = tuple(self.eval(e, scope) for e, _ in select["items"])
            return ResultSet([a or "" for _, a in select["items"]], [values])
        if source[0] == "predict":
            return self.select_predict(select, source, scope)
        _, name, alias = source
        table = self.table(name)
        columns = list(table.columns)
        rows = [
            row
            for row in table.rows
            if select["where"] is None
            or self.eval(select["where"], scope, dict(zip(columns, row, strict=True)), alias)
            is True
        ]
        items = select["items"]
        if any(e[0] == "call" and e[1] in AGGREGATES for e, _ in items):
            values = []
            for expression, _ in items:
                if expression[0] != "call" or expression[1] not in AGGREGATES:
                    raise SqlPoolError(
                        8120, "A column is in the select list without an aggregate or GROUP BY."
                    )
                values.append(self.aggregate(expression, rows, columns, table, scope, alias))
            return ResultSet([a or "" for _, a in items], [tuple(values)])
        out_columns: list[str] = []
        for expression, name_as in items:
            if expression[0] == "star":
                out_columns.extend(columns)
            else:
                out_columns.append(name_as or (expression[1] if expression[0] == "column" else ""))
        out_rows = []
        for row in rows:
            context = dict(zip(columns, row, strict=True))
            values = []
            for expression, _ in items:
                if expression[0] == "star":
                    values.extend(row)
                else:
                    values.append(self.eval(expression, scope, context, alias))
            out_rows.append(tuple(values))
        return ResultSet(out_columns, out_rows)

    def aggregate(self, expression, rows, columns, table: Table, scope, alias):
        function, args = expression[1], expression[2]
        if function == "COUNT" and args == [("star", None)]:
            return len(rows)
        (argument,) = args
        if argument[0] == "column" and table.columns.get(argument[1], "").endswith("(max)"):
            raise SqlPoolError(
                8117, f"Operand data type {table.columns[argument[1]]} is invalid for {function}."
            )
        values = [
            self.eval(argument, scope, dict(zip(columns, row, strict=True)), alias) for row in rows
        ]
        values = [v for v in values if v is not None]
        if function == "COUNT":
            return len(values)
        if function == "COUNT DISTINCT":
            return len(set(values))
        if not values:
            return None
        return max(values) if function == "MAX" else min(values)

    def select_predict(self, select: dict, source: tuple, scope) -> ResultSet:
        _, model_expression, data_name, data_alias, with_columns, alias = source
        model = self.eval(model_expression, scope)
        data_table = self.table(data_name)
        data = SqlTable(data_table.name, dict(data_table.columns), data_table.rows)
        scored = predict(model, data, with_columns)
        data_columns = list(data_table.columns)
        out_columns: list[str] = []
        picks: list[int] = []
        for expression, name_as in select["items"]:
            if expression[0] == "star" and expression[1] in (None, data_alias):
                out_columns.extend(data_columns)
                picks.extend(range(len(data_columns)))
            elif expression[0] == "column" and expression[2] == alias:
                names = [n.lower() for n, _ in with_columns]
                if expression[1] not in names:
                    raise SqlPoolError(207, f"Invalid column name '{expression[1]}'.")
                out_columns.append(name_as or expression[1])
                picks.append(len(data_columns) + names.index(expression[1]))
            elif expression[0] == "column" and expression[2] == data_alias:
                out_columns.append(name_as or expression[1])
                picks.append(data_table.position(expression[1]))
            else:
                raise SqlPoolError(102, f"the double does not select {expression} from PREDICT")
        return ResultSet(out_columns, [tuple(row[i] for i in picks) for row in scored])

    # -- expressions
    def eval(self, expression: tuple, scope, row: dict | None = None, alias: str | None = None):
        kind = expression[0]
        if kind == "lit":
            return expression[1]
        if kind == "var":
            if expression[1] not in scope:
                raise SqlPoolError(137, f'Must declare the scalar variable "{expression[1]}".')
            return scope[expression[1]][1]
        if kind == "column":
            _, name, qualifier = expression
            if row is None or name not in row or (qualifier and alias and qualifier != alias):
                raise SqlPoolError(207, f"Invalid column name '{name}'.")
            return row[name]
        if kind == "subquery":
            result = self.select(expression[1], scope)
            if len(result.rows) > 1:
                raise SqlPoolError(
                    512,
                    "Subquery returned more than 1 value. This is not permitted when the "
                    "subquery is used as an expression.",
                )
            return result.rows[0][0] if result.rows else None
        if kind == "isnull":
            value = self.eval(expression[1], scope, row, alias)
            return (value is not None) if expression[2] else (value is None)
        if kind == "not":
            value = self.eval(expression[1], scope, row, alias)
            return None if value is None else not value
        if kind in ("and", "or"):
            left = self.eval(expression[1], scope, row, alias)
            right = self.eval(expression[2], scope, row, alias)
            if kind == "and":
                if left is False or right is False:
                    return False
                return None if left is None or right is None else True
            if left is True or right is True:
                return True
            return None if left is None or right is None else False
        if kind == "compare":
            _, op, left, right = expression
            a = self.eval(left, scope, row, alias)
            b = self.eval(right, scope, row, alias)
            if a is None or b is None:
                return None
            if isinstance(a, str) and isinstance(b, str):  # the lab's CI collation
                a, b = a.lower(), b.lower()
            return {
                "=": a == b,
                "<>": a != b,
                "!=": a != b,
                "<": a < b,
                "<=": a <= b,
                ">": a > b,
                ">=": a >= b,
            }[op]
        if kind == "arith":
            _, op, left, right = expression
            a = self.eval(left, scope, row, alias)
            b = self.eval(right, scope, row, alias)
            if a is None or b is None:
                return None
            if isinstance(a, bytes) and isinstance(b, bytes) and op == "+":
                return a + b
            if isinstance(a, str) and isinstance(b, str) and op == "+":
                return a + b
            if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                return a + b if op == "+" else a - b
            raise SqlPoolError(
                402,
                f"The data types {type(a).__name__} and {type(b).__name__} are incompatible in the {op} operator.",
            )
        if kind == "call":
            return self.call(expression[1], expression[2], scope, row, alias)
        raise AssertionError(kind)  # pragma: no cover

    def call(self, function: str, args, scope, row, alias):
        if function in AGGREGATES:
            raise SqlPoolError(147, f"{function} is an aggregate: only in a select list here.")
        values = [self.eval(a, scope, row, alias) for a in args]
        if function == "OBJECT_ID":
            name, object_type = values[0], (values[1] if len(values) > 1 else None)
            name = name.lower()
            if object_type in (None, "U") and name in self.tables:
                return 1
            if object_type in (None, "P") and name in self.procedures:
                return 2
            return None
        if function == "CONCAT":
            if len(values) < 2:
                raise SqlPoolError(189, "The concat function requires 2 to 254 arguments.")
            return "".join("" if v is None else _as_text(v) for v in values)
        if function == "DATALENGTH":
            (value,) = values
            if value is None:
                return None
            return len(value) if isinstance(value, bytes) else len(_as_text(value).encode("utf-8"))
        raise SqlPoolError(195, f"'{function}' is not a function this double knows.")


def _as_text(value) -> str:
    if isinstance(value, bytes):
        raise SqlPoolError(402, "varbinary is not implicitly converted to text here")
    if isinstance(value, float):
        return repr(value)
    return str(value)


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------
def _base_and_size(sql_type: str) -> tuple[str, int | None]:
    match = re.fullmatch(r"(\w+)(?:\((max|\d+)(?:,\d+)?\))?", sql_type.lower())
    if not match:
        raise SqlPoolError(
            2715, f"Column, parameter, or variable: cannot find data type {sql_type}."
        )
    base, size = match.group(1), match.group(2)
    if size == "max":
        return base, MAX_LOB_BYTES
    if size is None and base in ("varchar", "nvarchar", "char", "varbinary", "binary"):
        return base, 1  # T-SQL: a type without length declared in DECLARE is one long
    return base, int(size) if size else None


def coerce_variable(value, sql_type: str):
    """A value assigned to a variable: converted; strings and binaries cut to the declared size (T-SQL)."""
    if value is None:
        return None
    base, size = _base_and_size(sql_type)
    converted = _convert(value, base, sql_type)
    if isinstance(converted, (str, bytes)) and size is not None and len(converted) > size:
        if size == MAX_LOB_BYTES:
            raise SqlPoolError(
                7119, f"Attempting to grow a LOB beyond the maximum of {MAX_LOB_BYTES} bytes."
            )
        converted = converted[:size]
    return converted


def coerce_column(value, sql_type: str, column: str):
    """A value stored into a table column: too long fails (error 8152)."""
    if value is None:
        return None
    base, size = _base_and_size(sql_type)
    converted = _convert(value, base, sql_type)
    if isinstance(converted, (str, bytes)) and size is not None and len(converted) > size:
        raise SqlPoolError(8152, f"String or binary data would be truncated in column '{column}'.")
    return converted


def _convert(value, base: str, sql_type: str):
    if base in ("int", "bigint"):
        if isinstance(value, bytes) or isinstance(value, float) and not value.is_integer():
            raise SqlPoolError(245, f"Conversion failed converting {value!r} to {base}.")
        try:
            number = int(value)
        except ValueError:
            raise SqlPoolError(245, f"Conversion failed converting '{value}' to {base}.") from None
        low, high = INT_RANGE[base]
        if not low <= number <= high:
            raise SqlPoolError(8115, f"Arithmetic overflow error converting {value} to {base}.")
        return number
    if base in ("real", "float"):
        import numpy as np

        number = float(value)
        return float(np.float32(number)) if base == "real" else number
    if base in ("varchar", "nvarchar", "char", "nchar"):
        if isinstance(value, bytes):
            raise SqlPoolError(402, f"varbinary cannot be assigned to {sql_type} here")
        return _as_text(value)
    if base in ("varbinary", "binary"):
        if not isinstance(value, bytes):
            raise SqlPoolError(
                257,
                f"Implicit conversion from {type(value).__name__} to {sql_type} is not allowed.",
            )
        return value
    raise SqlPoolError(2715, f"the double does not know the type {sql_type}")


def load_field(text: str, sql_type: str, column: str, ordinal: int):
    """A CSV field as COPY loads it into a column of sql_type; a field that does not fit rejects the row."""
    base, size = _base_and_size(sql_type)
    try:
        if base in ("varbinary", "binary"):
            if not re.fullmatch(r"(?:[0-9A-Fa-f]{2})*", text):
                raise ValueError(
                    "not a hexadecimal string of even length without 0x"
                    f" (starts {text[:12]!r}, ends {text[-12:]!r})"
                )
            value = bytes.fromhex(text)
        elif base in ("int", "bigint"):
            if not re.fullmatch(r"-?\d+", text):
                raise ValueError(f"{text[:20]!r} is not an integer")
            value = _convert(int(text), base, sql_type)
        else:
            value = _convert(text, base, sql_type)
        if isinstance(value, (str, bytes)) and size is not None and len(value) > size:
            raise ValueError(f"{len(value)} long for {sql_type}")
    except (ValueError, SqlPoolError) as exc:
        raise CopyError(
            f"Bulk load data conversion error for row {ordinal}, column '{column}' ({sql_type}): {exc}"
        ) from None
    return value


def row_terminator(option: str | None) -> bytes:
    """The bytes that end a row: \\r\\n by default and for '\\n'; hexadecimal notation is taken as is."""
    if option is None:
        return b"\r\n"
    if option.lower().startswith("0x"):
        return bytes.fromhex(option[2:])
    text = option.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t")
    if text == "\n":
        return b"\r\n"
    return text.encode("utf-8")


def split_csv_row(text: str, terminator: str = ",", quote: str = '"') -> list[str]:
    """The fields of one CSV row (RFC 4180: quoted fields, doubled quotes inside)."""
    if quote not in text:
        return text.split(terminator)
    fields, current, quoted, at = [], [], False, 0
    while at < len(text):
        char = text[at]
        if quoted:
            if char == quote and text[at + 1 : at + 2] == quote:
                current.append(quote)
                at += 1
            elif char == quote:
                quoted = False
            else:
                current.append(char)
        elif char == quote and not current:
            quoted = True
        elif text.startswith(terminator, at):
            fields.append("".join(current))
            current = []
            at += len(terminator) - 1
        else:
            current.append(char)
        at += 1
    fields.append("".join(current))
    return fields
