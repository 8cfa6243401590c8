r"""The ``--where`` parser: text to a tree of :mod:`~smt_query.where.nodes`.

Standard library, the nodes and their values only. Grammar (``|``
alternatives, ``*`` repetition, ``?`` optional; keywords are whole words,
spaces between tokens are free)::

    expr       := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" or ")" | comparison
    comparison := key "exists" | key "missing"
                | key op value                  # a.b >= 1e-3, label ~ 'fig'
                | value rop key                 # 1 < lr, 'x' in tags (contains)
    op         := "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in"
                | "~" | "matches"
    rop        := "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in"
    key        := segment ("." segment)*        # a bare record field name: the field
                                                # metric.NAME: a metric (smt_query.metrics)
    segment    := NAME | "`" (CHAR | "``")+ "`" # backticks quote dots, keywords, fields
    value      := STRING | NUMBER | "true" | "false" | "null" | "True" | "False"
                | "None" | "[" (value ("," value)* ","?)? "]"
    NAME       := a letter or _, then letters, digits, _ and - (later segments
                  may start with a digit)
    STRING     := '...' or "..." with \\ \' \" \n \r \t \0 \uXXXX \UXXXXXXXX
    NUMBER     := -?(digits(.digits?)? | .digits)([eE][+-]?digits)?

``not`` binds tighter than ``and``, ``and`` tighter than ``or``. Parsing
is iterative (groups on an explicit stack; only list literals recurse, at
most :data:`~smt_query.where.values.MAX_LIST_DEPTH` deep), and a tree
deeper than :data:`~smt_query.where.nodes.MAX_DEPTH` levels of and/or/not is
an error. Every error is a :class:`~smt_query.where.nodes.WhereSyntaxError`
whose message shows the expression with a caret under the column at fault.
"""
import re

from ..errors import QueryError
from .metrics import MetricKey
from .nodes import MAX_DEPTH, And, Compare, Exists, Missing, Not, Or, WhereSyntaxError
from .values import (CONSTANTS, FIELDS, FIRST_SEGMENT, KEYWORDS, MAX_LIST_DEPTH, SEGMENT,
                     Field, Key, backticked)

_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[^\W\d]\w*")
_SYMBOL_OPS = ("==", "!=", "<=", ">=", "<", ">", "~")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "0": "\0"}


def parse(text):
    """Parse a ``--where`` expression into an :class:`Expr`.

    Raises :class:`WhereSyntaxError` naming the position of the first error.
    """
    if not isinstance(text, str):
        raise QueryError(f"a --where expression is a string, not {text!r}")
    return _Parser(text).parse()


class _Parser:
    """Precedence parsing: or < and < not < comparison, without recursion
    (lists recurse, at most :data:`MAX_LIST_DEPTH` deep)."""

    def __init__(self, text):
        self.text, self.pos = text, 0

    def error(self, message, pos=None):
        raise WhereSyntaxError(self.text, self.pos if pos is None else pos, message)

    def skip(self):
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek_word(self):
        self.skip()
        m = _WORD.match(self.text, self.pos)
        return m.group() if m else None

    def word(self, *words):
        """Consume one of ``words`` if it comes next (as a whole word)."""
        w = self.peek_word()
        if w in words:
            self.pos += len(w)
            return w
        return None

    def symbol(self, *symbols):
        self.skip()
        for s in symbols:
            if self.text.startswith(s, self.pos):
                self.pos += len(s)
                return s
        return None

    def describe_next(self):
        self.skip()
        if self.pos >= len(self.text):
            return "the end"
        m = _WORD.match(self.text, self.pos) or _NUMBER.match(self.text, self.pos)
        return repr(m.group() if m else self.text[self.pos])

    def parse(self):
        self.skip()
        if self.pos == len(self.text):
            self.error("empty expression")
        expr = self.parse_or()
        self.skip()
        if self.pos < len(self.text):
            if self.text[self.pos] == ")":
                self.error("unbalanced ')'")
            self.error(f"unexpected {self.describe_next()}; expected 'and', 'or' or the end")
        return expr

    def parse_or(self):
        """The whole expression: or < and < not < comparison.

        Groups in parentheses are kept on an explicit stack, not by
        recursion, so any number of them parses; nested and/or of the same
        kind are flattened. Each operand is ``(expr, depth, position)``; a
        tree deeper than :data:`MAX_DEPTH` is an error at the operand
        that makes it so.
        """
        groups = []              # enclosing groups: (ors, ands, nots, position of '(')
        ors, ands, nots = [], [], []   # nots: positions of the pending 'not's
        while True:
            self.skip()
            while self.word("not"):
                nots.append(self.pos - 3)
                self.skip()
            if self.symbol("("):
                groups.append((ors, ands, nots, self.pos - 1))
                ors, ands, nots = [], [], []
                continue
            operand = (self.parse_comparison(), 0, self.pos)
            while True:            # close the groups this operand ends
                ands.append(self.negated(operand, nots))
                if self.word("and"):
                    nots = []
                    break
                ors.append(self.junction(And, ands))
                ands = []
                if self.word("or"):
                    nots = []
                    break
                operand = self.junction(Or, ors)
                if not groups:
                    return operand[0]
                ors, ands, nots, start = groups.pop()
                if not self.symbol(")"):
                    self.error(f"expected ')' to close the '(' at position {start + 1}, "
                               f"found {self.describe_next()}")
                operand = operand[0], operand[1], start

    def negated(self, operand, nots):
        """``operand`` under the 'not's written before it (innermost last)."""
        expr, depth, pos = operand
        for not_pos in reversed(nots):
            expr, depth, pos = Not(expr), depth + 1, not_pos
            self.check_depth(depth, pos)
        return expr, depth, pos

    def junction(self, cls, operands):
        """``cls`` (And or Or) of ``operands``, flattening those of the same kind."""
        if len(operands) == 1:
            return operands[0]
        children, depth, pos = [], 0, operands[0][2]
        for expr, d, p in operands:
            if type(expr) is cls:
                children.extend(expr.children)
            else:
                children.append(expr)
                d += 1
            if d > depth:
                depth, pos = d, p
        self.check_depth(depth, pos)
        return cls(children), depth, pos

    def check_depth(self, depth, pos):
        if depth > MAX_DEPTH:
            self.error(f"nested too deeply: at most {MAX_DEPTH} levels of 'and', 'or' and "
                       "'not' inside one another", pos)

    def parse_comparison(self):
        self.skip()
        if self.pos >= len(self.text):
            self.error("expected a key, a value or '(' but the expression ends")
        if self.at_value():
            return self.parse_value_first()
        return self.parse_key_first()

    def at_value(self):
        c = self.text[self.pos]
        return (c in "'\"[-.0123456789") or self.peek_word() in CONSTANTS

    # key op value
    def parse_key_first(self):
        start = self.pos
        key = self.parse_key()
        if self.word("exists"):
            return Exists(key)
        if self.word("missing"):
            return Missing(key)
        op = self.parse_operator(key)
        self.skip()
        value_pos = self.pos
        try:
            value = self.parse_value(f"expected a value after '{op}'")
        except WhereSyntaxError:
            if getattr(key, "kind", None) == "date" and self.text[value_pos:value_pos + 1].isalnum():
                word = re.match(r"(.+?)\s*(?:\)|\band\b|\bor\b|$)", self.text[value_pos:])
                self.error(f"a date goes in quotes: {key} {op} '{word.group(1)}'", value_pos)
            raise
        return self.build(key, op, value, start, value_pos)

    def parse_operator(self, key):
        self.skip()
        op_pos = self.pos
        if self.word("not"):
            if not self.word("in"):
                self.error("expected 'in' after 'not'")
            return "not in"
        w = self.word("in", "matches")
        if w:
            return w
        if self.text.startswith("=", self.pos) and not self.text.startswith("==", self.pos):
            self.error("'=' is not an operator: write '=='")
        s = self.symbol(*_SYMBOL_OPS)
        if s:
            return s
        self.error(f"expected an operator (== != < <= > >= in, not in, ~, matches, exists, "
                   f"missing) after '{key}', found {self.describe_next()}", op_pos)

    # value op key
    def parse_value_first(self):
        value_pos = self.pos
        value = self.parse_value("expected a value")
        self.skip()
        op_pos = self.pos
        if self.word("not"):
            if not self.word("in"):
                self.error("expected 'in' after 'not'")
            op = "not contains"
        elif self.word("in"):
            op = "contains"
        else:
            op = self.symbol(*_SYMBOL_OPS[:-1])
            if op is None:
                if self.text.startswith("~", self.pos) or self.peek_word() == "matches":
                    self.error("put the key before '~' or 'matches'")
                self.error("expected an operator (== != < <= > >= in, not in) after the "
                           f"value, found {self.describe_next()}", op_pos)
            op = _FLIP[op]
        self.skip()
        key_pos = self.pos
        key = self.parse_key()
        return self.build(key, op, value, key_pos, value_pos)

    def build(self, key, op, value, key_pos, value_pos):
        try:
            return Compare(key, op, value)
        except QueryError as err:
            message = str(err).splitlines()[0]
            pos = key_pos if "does not apply" in message else value_pos
            raise WhereSyntaxError(self.text, pos, message) from None

    def parse_key(self):
        self.skip()
        parts, quoted = [], []
        while True:
            if self.text.startswith("`", self.pos):
                part, end = backticked(self.text, self.pos)
                if part is None:
                    self.error("unclosed backtick")
                if not part:
                    self.error("empty key segment ``")
                quoted.append(True)
            else:
                pattern = FIRST_SEGMENT if not parts else SEGMENT
                m = pattern.match(self.text, self.pos)
                if not m:
                    if parts:
                        self.error("expected a key segment after '.'")
                    self.error(f"expected a key, a value or '(', found {self.describe_next()}")
                part, end = m.group(), m.end()
                if part in KEYWORDS and not parts:
                    self.error(f"'{part}' is a keyword: quote a key named so with backticks, "
                               f"`{part}`")
                quoted.append(False)
            parts.append(part)
            self.pos = end
            if not self.text.startswith(".", self.pos):
                break
            self.pos += 1
        if len(parts) == 1 and not quoted[0] and parts[0] in FIELDS:
            return Field(parts[0])
        if len(parts) == 2 and parts[0] == "metric" and not quoted[0]:
            return MetricKey(parts[1])     # `metric`.x is the parameter
        return Key(parts)

    def parse_value(self, expected, depth=0):
        self.skip()
        start = self.pos
        if self.pos >= len(self.text):
            self.error(expected + " but the expression ends")
        c = self.text[self.pos]
        if c in "'\"":
            return self.parse_string()
        if c == "[":
            if depth == MAX_LIST_DEPTH:
                self.error(f"lists nested too deeply: at most {MAX_LIST_DEPTH} levels")
            self.pos += 1
            items = []
            while True:
                self.skip()
                if self.symbol("]"):
                    return items
                items.append(self.parse_value("expected a value or ']' in the list", depth + 1))
                if self.symbol(","):
                    continue
                if self.symbol("]"):
                    return items
                self.error(f"expected ',' or ']' in the list opened at position {start + 1}, "
                           f"found {self.describe_next()}")
        m = _NUMBER.match(self.text, self.pos)
        if m:
            end = m.end()
            if end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "_."):
                self.error(f"bad number {self.text[self.pos:end + 1]!r}")
            self.pos = end
            literal = m.group()
            return int(literal) if re.fullmatch(r"-?\d+", literal) else float(literal)
        w = self.peek_word()
        if w in CONSTANTS:
            self.pos += len(w)
            return CONSTANTS[w]
        self.error(f"{expected}, found {self.describe_next()}"
                   + (" (quote strings: 'text')" if w else ""))

    def parse_string(self):
        quote, start = self.text[self.pos], self.pos
        i, out = self.pos + 1, []
        while i < len(self.text):
            c = self.text[i]
            if c == quote:
                self.pos = i + 1
                return "".join(out)
            if c == "\\":
                nxt = self.text[i + 1:i + 2]
                if nxt in _ESCAPES:
                    out.append(_ESCAPES[nxt])
                    i += 2
                    continue
                width = {"u": 4, "U": 8}.get(nxt)
                digits = self.text[i + 2:i + 2 + width] if width else ""
                if width and re.fullmatch(r"[0-9a-fA-F]+", digits) and len(digits) == width:
                    code = int(digits, 16)
                    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                        self.error(f"\\{nxt}{digits} is not a character", i)
                    out.append(chr(code))
                    i += 2 + width
                    continue
                self.error(f"unknown escape '\\{nxt}' (use \\\\ \\' \\\" \\n \\r \\t "
                           "\\uXXXX \\UXXXXXXXX)", i)
            out.append(c)
            i += 1
        self.error("unterminated string", start)
