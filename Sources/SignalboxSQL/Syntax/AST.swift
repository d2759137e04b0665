import SignalboxJSON

/// An expression in rule SQL, with the byte range it was written at.
package struct Expr: Sendable, Hashable {
    /// Unary operators.
    package enum UnaryOperator: String, Sendable, Hashable {
        case not = "NOT"
        case negate = "-"
        case plus = "+"
    }

    /// Binary operators, loosest-binding first in ``BinaryOperator/precedence``.
    package enum BinaryOperator: String, Sendable, Hashable, CaseIterable {
        case or = "OR"
        case and = "AND"
        case equal = "="
        case notEqual = "<>"
        case less = "<"
        case lessEqual = "<="
        case greater = ">"
        case greaterEqual = ">="
        case add = "+"
        case subtract = "-"
        case multiply = "*"
        case divide = "/"
        case modulo = "%"

        /// Binding strength: higher binds tighter.
        package var precedence: Int {
            switch self {
            case .or: 1
            case .and: 2
            case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: 4
            case .add, .subtract: 5
            case .multiply, .divide, .modulo: 6
            }
        }
    }

    /// The target type of `cast(x AS Type)`.
    package enum CastType: String, Sendable, Hashable, CaseIterable {
        case int = "Int"
        case decimal = "Decimal"
        case bool = "Boolean"
        case string = "String"
    }

    /// One `WHEN … THEN …` of a CASE.
    package struct WhenClause: Sendable, Hashable {
        package var condition: Expr
        package var result: Expr
    }

    /// One `key: value` of an object literal.
    package struct ObjectMember: Sendable, Hashable {
        package var key: String
        package var value: Expr
    }

    package indirect enum Kind: Sendable, Hashable {
        /// A constant: number, string, boolean or null.
        case literal(Value)
        /// `[a, b]`
        case array([Expr])
        /// `{'k': v}`
        case object([ObjectMember])
        /// An attribute of the current row (the payload at top level).
        case attribute(String)
        /// `@name`
        case variable(String)
        /// `*` used as a value: the whole payload (or row).
        case wildcard
        /// `expr.name`
        case member(Expr, String)
        /// `expr[index]`
        case index(Expr, Expr)
        case unary(UnaryOperator, Expr)
        case binary(BinaryOperator, Expr, Expr)
        /// `expr [NOT] IN array`
        case inList(Expr, Expr, negated: Bool)
        /// `name(args)`; `nameRange` covers the name only.
        case call(name: String, nameRange: SourceRange, arguments: [Expr])
        /// `cast(expr AS type)`
        case cast(Expr, CastType)
        /// `CASE [subject] WHEN … THEN … [ELSE …] END`
        case caseWhen(subject: Expr?, whens: [WhenClause], otherwise: Expr?)
        /// `(SELECT … FROM expr [AS alias] [WHERE …])`: a nested object query over an array.
        case subquery(Query)
    }

    package var kind: Kind
    package var range: SourceRange

    package init(_ kind: Kind, _ range: SourceRange) {
        self.kind = kind
        self.range = range
    }
}

/// A SELECT statement: the rule itself, or a nested object query.
package struct Query: Sendable, Hashable {
    /// One item of the SELECT list.
    package enum Item: Sendable, Hashable {
        /// `*`: every attribute of the row (the whole payload at top level).
        case wildcard(SourceRange)
        /// An expression with an optional `AS` alias; a dotted alias (`AS a.b`) is a path that
        /// nests the value in objects.
        case expression(Expr, alias: [String]?, aliasRange: SourceRange?)
    }

    /// What the SELECT produces.
    package enum Projection: Sendable, Hashable {
        /// `SELECT a, b AS c, *`: an object.
        case items([Item])
        /// `SELECT VALUE expr`: the value itself.
        case value(Expr)
    }

    /// The source of rows.
    package enum Source: Sendable, Hashable {
        /// `FROM 'topic/filter'` (top level only).
        case topic(String, SourceRange)
        /// `FROM expr` (nested queries only): iterate the elements of an array.
        case expression(Expr)
    }

    /// One `SET @name = expr`.
    package struct Assignment: Sendable, Hashable {
        package var name: String
        package var nameRange: SourceRange
        package var value: Expr
    }

    package var assignments: [Assignment]
    package var projection: Projection
    package var source: Source
    package var condition: Expr?
    package var range: SourceRange
    /// Where `SELECT` keyword stands.
    package var selectRange: SourceRange
    /// Where the statement's comments are (`-- …`, `/* … */`, a Signalbox extension).
    package var comments: [SourceRange] = []

    package init(
        assignments: [Assignment], projection: Projection, source: Source, condition: Expr?, range: SourceRange,
        selectRange: SourceRange
    ) {
        self.assignments = assignments
        self.projection = projection
        self.source = source
        self.condition = condition
        self.range = range
        self.selectRange = selectRange
    }
}
